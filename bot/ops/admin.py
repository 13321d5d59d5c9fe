"""The admin page at /admin: messages and fallback rate per day, top intents, top groups of
misses, helpfulness per intent and stale content, for the maintainers; the tipline's groups of
forwarded scams, with a form for staff's verdict.

Access takes ADMIN_TOKEN, as `Authorization: Bearer <token>` or through the login form, which
sets a cookie signed with a key derived from the token (HMAC-SHA256), HttpOnly, SameSite=Strict,
for 12 hours; changing the token ends every session. Without a token the pages answer 404. The
one form that changes anything (a verdict) is refused unless it carries a token tied to the
session cookie and comes from this origin; with a bearer token it needs neither.

The pages are Jinja2 templates (bot/templates/admin/), autoescaped: misses and scams are what
people typed, masked but still untrusted. Charts are inline SVG drawn from figures computed
here (no JavaScript, nothing fetched from elsewhere, so the page works offline); every bar
carries its figure in a <title> and in data attributes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.content.check import stale_facts, stale_intents
from bot.content.load import Content, Fact, Intent
from bot.ops.misses import MissGroup, MissGrouper, mark_covered
from bot.ops.stats import Figures, Stats, compute, window
from bot.state.sqlite_store import DAY, Store
from bot.state.tipline import VERDICTS
from bot.templating import environment
from bot.understanding.matcher import Matcher

if TYPE_CHECKING:
    from bot.dialogue.tipline import Tipline

log = logging.getLogger(__name__)
COOKIE = "mehfooz_admin"
SESSION = 12 * 3600  # seconds a login lasts
DEFAULT_DAYS, MAX_DAYS = 30, 365
MAX_FORM = 4096
FAILURES_PER_MINUTE = 10  # failed tries (form or bearer) from one address before it is refused a while
MIN_TOKEN = 32  # characters: a shorter ADMIN_TOKEN leaves the admin pages off
MAX_ADDRESSES = 10_000  # addresses whose failures are remembered (the oldest are forgotten)
TOP = 12  # bars in the intent, helpfulness and miss charts
MAX_COVERED = 50_000  # groups whose match is remembered before the memory starts over
SCAMS_SHOWN = 25  # groups of forwarded scams listed
MAX_NOTE = 500  # characters of staff's note on a verdict
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


# --- access ---
class Access:
    """Who may see the page: the bearer token, or a signed session cookie."""

    def __init__(self, token: str):
        self.token = token
        self._key = hmac.new(token.encode(), b"mehfooz admin session", hashlib.sha256).digest()
        self._failures: dict[str, deque[float]] = {}  # per client address

    def is_token(self, given: str) -> bool:
        return same_token(given, self.token)

    def session(self, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION)
        return f"{expires}.{self._sign(expires)}"

    def _sign(self, expires: int) -> str:
        return hmac.new(self._key, f"admin:{expires}".encode(), hashlib.sha256).hexdigest()

    def valid_session(self, cookie: str, now: float | None = None) -> bool:
        expires, _, signature = cookie.partition(".")
        if not (expires.isdigit() and len(expires) <= 12):  # a time stamp, not a huge number
            return False
        now = now or time.time()
        fresh = now < int(expires) <= now + SESSION
        return hmac.compare_digest(signature.encode(), self._sign(int(expires)).encode()) and fresh

    def csrf(self, cookie: str) -> str:
        """The token a form of this session must carry: tied to the session cookie, which a page
        of another site can neither read nor send (HttpOnly, SameSite=Strict)."""
        return hmac.new(self._key, f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()

    def allowed(self, request: Request) -> bool:
        given = _bearer(request)
        return self.is_token(given) if given else self.valid_session(request.cookies.get(COOKIE, ""))

    def throttled(self, address: str, now: float) -> bool:
        """Too many failed tries from this address in the last minute (guessing): refuse its
        wrong tries for now. Per address, and the right token always passes, so that someone
        guessing cannot lock the rightful admin out."""
        failures = self._failures.get(address)
        while failures and failures[0] < now - 60:
            failures.popleft()
        return bool(failures) and len(failures) >= FAILURES_PER_MINUTE

    def failed(self, address: str, now: float) -> None:
        if address not in self._failures and len(self._failures) >= MAX_ADDRESSES:
            del self._failures[next(iter(self._failures))]
        self._failures.setdefault(address, deque()).append(now)


def same_token(given: str, token: str) -> bool:
    """Constant time whatever the lengths: compares the digests."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(token.encode()).digest())


# --- the data behind the page ---
@dataclass
class Overview:
    stats: Stats
    misses: list[MissGroup]
    stale_facts: list[Fact]
    stale_intents: list[Intent]
    days: int
    alerts: dict[str, int] | None = None  # breach alerts: subscribers, queued, sent, failed
    desk: dict | None = None  # the desk: open cases and first response times (Desk.overview)
    scams: dict | None = None  # the tipline: "counts", and "groups" forwarded in the period

    def as_dict(self) -> dict:
        return {
            "days": self.days, "stats": self.stats.as_dict(),
            "misses": [g.as_dict() for g in self.misses],
            "stale_facts": [{"key": f.key, "value": f.value, "checked": f.checked.isoformat(),
                             "source": f.source} for f in self.stale_facts],
            "stale_intents": [{"id": i.id, "reviewed": i.reviewed.isoformat() if i.reviewed else None}
                              for i in self.stale_intents],
            "alerts": self.alerts,
            "desk": self.desk,
            "scams": None if self.scams is None else {
                "counts": self.scams["counts"], "groups": [g.as_dict() for g in self.scams["groups"]]},
        }


class _Matchers:
    """One Matcher per content object, with the misses' grouping and what the matcher makes
    of each group kept beside it: a view groups and matches only the misses new since the
    last. Content swapped in by a reload gets new ones."""

    def __init__(self) -> None:
        self._content: Content | None = None
        self._matcher: Matcher | None = None
        self.grouper: MissGrouper | None = None
        self.covered: dict[str, tuple[str | None, tuple[str, ...]]] = {}
        self.lock = threading.Lock()  # views build in threads: one at a time uses the caches

    def of(self, content: Content) -> Matcher:
        if self._content is not content or self._matcher is None:
            self._matcher, self._content = Matcher(content), content
            self.grouper = MissGrouper(self._matcher.normaliser.normalise)
            self.covered = {}
        return self._matcher

    def groups(self, content: Content, misses: list[tuple[int, str, str]]) -> list[MissGroup]:
        with self.lock:
            matcher = self.of(content)
            assert self.grouper is not None
            if len(self.covered) > MAX_COVERED:
                self.covered = {}
            return mark_covered(self.grouper.group(misses), matcher, self.covered)


def _days(request: Request) -> int:
    given = request.query_params.get("days", "")[:6]
    # ASCII digits only: "²" and "٣" are digits to isdigit() but not to int().
    return min(max(int(given), 1), MAX_DAYS) if given.isascii() and given.isdigit() else DEFAULT_DAYS


# --- routes ---
def admin_routes(store: Store, content: Content | Callable[[], Content], token: str,
                 reload: Callable[[], Awaitable[Any]] | None = None,
                 alerts: Callable[[], dict[str, int]] | None = None,
                 desk: Callable[[int], dict] | None = None, tipline: Tipline | None = None) -> list[Route]:
    """The admin routes. `content` may be a function returning the content in use, so that
    the page follows a reload; `reload`, when given, is what `POST /admin/reload` runs (the
    content reloader: its result has `ok`, `problems` and `intents`); `tipline`: the groups of
    forwarded scams and staff's verdicts."""
    current = content if callable(content) else (lambda: content)
    if token and len(token) < MIN_TOKEN:
        log.error("admin: off, ADMIN_TOKEN is shorter than %d characters", MIN_TOKEN)
        token = ""
    access = Access(token) if token else None
    matchers = _Matchers()
    templates = Jinja2Templates(env=environment())

    async def overview(request: Request) -> Overview:
        days = _days(request)
        since, until = window(days)
        # The reads are quick and run where the bot's own writes run; the grouping and
        # matching do not touch the store and go to a thread.
        counts, votes = store.daily_counts(since.isoformat()), store.daily_feedback(since.isoformat())
        misses = store.recent_misses(time.time() - days * DAY)
        used = current()
        alert_counts = alerts() if alerts else None
        desk_figures = desk(days) if desk else None
        scams = ({"counts": tipline.store.counts(), "groups": tipline.trending(days, SCAMS_SHOWN)}
                 if tipline else None)

        def build() -> Overview:
            groups = matchers.groups(used, misses)
            today = dt.datetime.now(dt.UTC).date()
            return Overview(compute(counts, votes, since, until), groups, stale_facts(used, today),
                            stale_intents(used, today), days, alert_counts, desk_figures, scams)

        return await run_in_threadpool(build)

    def refuse(request: Request) -> Response | None:
        if access is None:
            return PlainTextResponse("Not Found", status_code=404)
        if access.allowed(request):  # the right token is never locked out, whoever guessed
            return None
        address, now = _address(request), time.time()
        if access.throttled(address, now):
            return PlainTextResponse("too many tries; wait a minute", status_code=429, headers=HEADERS)
        if request.headers.get("authorization"):
            access.failed(address, now)
            return PlainTextResponse("bad token", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse("/admin/login", status_code=303, headers=HEADERS)

    async def page(request: Request) -> Response:
        refused = refuse(request)
        if refused:
            return refused
        assert access is not None
        cookie = request.cookies.get(COOKIE, "")
        csrf = access.csrf(cookie) if cookie and access.valid_session(cookie) else ""
        context = page_context(await overview(request), csrf)
        return templates.TemplateResponse(request, "admin/page.html", context, headers=HEADERS)

    def login_page(request: Request, message: str = "", status: int = 200) -> Response:
        context = {"title": "Mehfooz admin: log in", "lang": "en", "message": message}
        return templates.TemplateResponse(request, "admin/login.html", context, status, headers=HEADERS)

    async def data(request: Request) -> Response:
        refused = refuse(request)
        if refused:
            return refused
        return JSONResponse((await overview(request)).as_dict(), headers=HEADERS)

    async def login(request: Request) -> Response:
        if access is None:
            return PlainTextResponse("Not Found", status_code=404)
        if request.method == "GET":
            return login_page(request)
        now, address = time.time(), _address(request)
        body = await _read_form(request)
        right = body is not None and access.is_token(body.get("token", ""))
        if not right and access.throttled(address, now):
            return login_page(request, "Too many attempts; wait a minute.", 429)
        if not right:
            access.failed(address, now)
            return login_page(request, "That token is not right.", 401)
        response = RedirectResponse("/admin", status_code=303, headers=HEADERS)
        response.set_cookie(COOKIE, access.session(now), max_age=SESSION, path="/admin", httponly=True,
                            samesite="strict", secure=_https(request))
        return response

    async def logout(request: Request) -> Response:
        if access is None:
            return PlainTextResponse("Not Found", status_code=404)
        response = RedirectResponse("/admin/login", status_code=303, headers=HEADERS)
        response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict",
                               secure=_https(request))
        return response

    async def reload_content(request: Request) -> Response:
        """Reload `intents/` now, with the same checks; 409 and the problems if it is broken."""
        if reload is None or access is None:
            return PlainTextResponse("Not Found", status_code=404)
        address, now = _address(request), time.time()
        right = access.is_token(_bearer(request))  # a token, not the cookie: no cross-site posts
        if not right and access.throttled(address, now):
            return PlainTextResponse("too many tries; wait a minute", status_code=429, headers=HEADERS)
        if not right:
            access.failed(address, now)
            return PlainTextResponse("bad token", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        result = await reload()
        body = {"ok": result.ok, "problems": result.problems, "intents": result.intents}
        return JSONResponse(body, status_code=200 if result.ok else 409, headers=HEADERS)

    async def confirm_scam(request: Request) -> Response:
        """Staff's verdict on a group of forwarded scams: a bearer token, or the session cookie
        with its form token from this origin. Those who asked are told by the alert sender."""
        if access is None or tipline is None:
            return PlainTextResponse("Not Found", status_code=404)
        address, now = _address(request), time.time()
        if access.throttled(address, now):
            return PlainTextResponse("too many tries; wait a minute", status_code=429, headers=HEADERS)
        bearer = _bearer(request)
        body = await _read_form(request)
        cookie = request.cookies.get(COOKIE, "")
        if bearer:
            allowed = access.is_token(bearer)
        else:
            allowed = (body is not None and access.valid_session(cookie) and _same_origin(request)
                       and hmac.compare_digest(body.get("csrf", "").encode(), access.csrf(cookie).encode()))
        if not allowed:
            access.failed(address, now)
            return PlainTextResponse("refused", status_code=403, headers=HEADERS)
        given = body or {}
        group, verdict = given.get("id", ""), given.get("verdict", "")
        if not (group.isascii() and group.isdigit() and len(group) < 12) or verdict not in VERDICTS:
            return PlainTextResponse("give id and verdict (scam or not_scam)", 400, headers=HEADERS)
        note = given.get("note", "")[:MAX_NOTE]
        queued = await run_in_threadpool(tipline.decide, int(group), verdict, note)
        if queued is None:
            return PlainTextResponse(f"no group {group}", status_code=404, headers=HEADERS)
        log.info("admin: staff's verdict on scam group %s: %s", group, verdict)
        if bearer:
            done = {"id": int(group), "verdict": verdict, "followups_queued": queued}
            return JSONResponse(done, headers=HEADERS)
        days = given.get("days", "")
        back = f"/admin?days={days}#scam-{group}" if days.isascii() and days.isdigit() and len(days) < 4 \
            else "/admin"
        return RedirectResponse(back, status_code=303, headers=HEADERS)

    return [
        Route("/admin", page, methods=["GET"]),
        Route("/admin/scams/confirm", confirm_scam, methods=["POST"]),
        Route("/admin/data.json", data, methods=["GET"]),
        Route("/admin/reload", reload_content, methods=["POST"]),
        Route("/admin/login", login, methods=["GET", "POST"]),
        Route("/admin/logout", logout, methods=["POST"]),
    ]


def _address(request: Request) -> str:
    """Who is trying, for the throttle: the client's address. Behind a proxy named in
    `serve --forwarded-allow-ips` (FORWARDED_ALLOW_IPS), uvicorn puts the address the proxy
    forwarded here; from anyone else, X-Forwarded-For is ignored."""
    return request.client.host if request.client else ""


def _bearer(request: Request) -> str:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def _same_origin(request: Request) -> bool:
    """A browser's post from this site: its Origin (when sent: "null" under the page's
    no-referrer policy) names this host, and its Sec-Fetch-Site (when sent) says same-origin."""
    origin = request.headers.get("origin", "null")
    if origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


async def _read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded login form, or None when it is too large or not text."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None


# --- the pages: templates (bot/templates/admin/), charts as inline SVG drawn from figures here ---
def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


@dataclass(frozen=True)
class Bar:
    label: str  # the axis label
    value: float  # what the bar's length shows
    title: str  # the figure in words, shown on hover and readable by tests
    css: str = ""  # an extra class: fallback, miss, covered


@dataclass(frozen=True)
class Mark:
    """One bar as drawn: where, how large, and the texts beside it."""

    bar: Bar
    value: str  # data-value
    x: str
    y: str
    width: str
    height: str
    shown: str | None = None  # the figure written beside (or above) the bar, when it fits
    shown_x: str = ""
    shown_y: str = ""
    tick: str | None = None  # the label under a column (about seven of them) or left of a bar
    tick_x: str = ""
    tick_y: str = ""


@dataclass(frozen=True)
class Chart:
    id: str
    kind: str  # "column": one bar per period; "bar": one per intent or group
    caption: str
    width: int
    height: int
    marks: list[Mark]
    axis: str = ""  # the top of the scale (columns)
    left: int = 0
    base: int = 0  # where the columns stand


def _f(value: float) -> str:
    return f"{value:.1f}"


def column_chart(chart_id: str, bars: list[Bar], top: float, caption: str, percent: bool = False) -> Chart:
    """Vertical bars, one per period, with the value above each when they fit."""
    width, height, left, bottom = 720, 220, 56, 30
    slot = (width - left - 10) / max(len(bars), 1)
    plot = height - bottom - 20
    ticks = _ticks(len(bars))
    marks = []
    for index, bar in enumerate(bars):
        x = left + index * slot
        h = plot * bar.value / top if top else 0
        y = height - bottom - h
        shown = _axis(bar.value, percent)
        fits = bool(bar.value) and len(shown) * 6 < slot  # the figure above the bar, when it fits
        tick = (bar.label[5:] if len(bar.label) == 10 else bar.label) if index in ticks else None  # MM-DD
        marks.append(Mark(bar, _num(bar.value), _f(x + slot * 0.1), _f(y), _f(slot * 0.8), _f(h),
                          shown if fits else None, _f(x + slot / 2), _f(y - 3), tick, _f(x + slot / 2),
                          str(height - 10)))
    return Chart(chart_id, "column", caption, width, height, marks, _axis(top, percent), left,
                 height - bottom)


def bar_chart(chart_id: str, bars: list[Bar], top: float, caption: str, percent: bool = False) -> Chart:
    """Horizontal bars, one per intent or group, labelled on the left."""
    row, left, width = 22, 260, 720
    marks = []
    for index, bar in enumerate(bars):
        y = 5 + index * row
        w = (width - left - 70) * bar.value / top if top else 0
        marks.append(Mark(bar, _num(bar.value), str(left), str(y + 3), _f(w), str(row - 6),
                          _axis(bar.value, percent), _f(left + w + 4), str(y + 15), _short(bar.label),
                          str(left - 6), str(y + 15)))
    return Chart(chart_id, "bar", caption, width, row * max(len(bars), 1) + 10, marks, left=left)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}"


def _axis(value: float, percent: bool) -> str:
    return _pct(value) if percent else _num(value)


def _short(text: str, size: int = 38) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _ticks(n: int) -> set[int]:
    """Which bars get a date under them: about seven, the last (today) included."""
    step = max(1, round(n / 7))
    return set(range(n - 1, -1, -step))  # counted back from the last, so that none overlap


def charts(o: Overview) -> list[tuple[str, Chart]]:
    """The page's charts, each under its heading."""
    periods = o.stats.periods
    messages = [Bar(p, f.messages, f"{p}: {f.messages} messages") for p, f in periods]
    rates = [Bar(p, f.fallback_rate or 0.0, f"{p}: {_pct(f.fallback_rate)} not understood "
                 f"({f.fallback} of {f.messages})", "fallback") for p, f in periods]
    intents = [(i, f) for i, f in o.stats.intents if f.messages][:TOP]
    top_intents = [Bar(i, f.messages, f"{i}: {f.messages} messages", "fallback" if i == "fallback" else "")
                   for i, f in intents]
    rated = sorted(((i, f) for i, f in o.stats.intents if f.up + f.down),
                   key=lambda item: (item[1].helpful, -(item[1].up + item[1].down), item[0]))[:TOP]
    helpful = [Bar(i, f.helpful or 0.0, f"{i}: {_pct(f.helpful)} helpful ({f.up} 👍, {f.down} 👎)")
               for i, f in rated]
    return [
        ("Messages per day", column_chart("messages-chart", messages, _top(messages), "Messages per day")),
        ("Not understood (fallback rate) per day",
         column_chart("fallback-chart", rates, 1.0, "Fallback rate per day", percent=True)),
        ("Top intents", bar_chart("intents-chart", top_intents, _top(top_intents), "Messages per intent")),
        ("Helpfulness per intent (least helpful first)",
         bar_chart("helpful-chart", helpful, 1.0, "Share of 👍 per intent", percent=True)),
    ]


def _top(bars: list[Bar]) -> float:
    return max((b.value for b in bars), default=0) or 1


def _when(moment: float | None) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def page_context(o: Overview, csrf: str = "") -> dict[str, Any]:
    """What the admin page's template shows."""
    open_groups = [g for g in o.misses if not g.covered]
    shown = open_groups[:TOP]
    bars = [Bar(g.representative, g.count, f"{g.count} × {g.representative}", "miss") for g in shown]
    misses = bar_chart("misses-chart", bars, _top(bars), "Top miss groups")
    total: Figures = o.stats.total
    first = o.desk["first_response"] if o.desk else None
    return {
        "title": "Mehfooz admin", "lang": "en", "o": o, "total": total, "pct": _pct, "charts": charts(o),
        "misses_chart": misses, "misses": shown,
        "covered": len(o.misses) - len(open_groups), "when": _when, "csrf": csrf,
        "desk_minutes": {k: "-" if first[k] is None else f"{first[k] / 60:.1f} min"
                         for k in ("median_seconds", "p90_seconds")} if first else {},
    }
