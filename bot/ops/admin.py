"""The read-only admin page at /admin: messages and fallback rate per day, top intents, top
groups of misses, helpfulness per intent and stale content, for the maintainers.

Access takes ADMIN_TOKEN, as `Authorization: Bearer <token>` or through the login form, which
sets a cookie signed with a key derived from the token (HMAC-SHA256), HttpOnly, SameSite=Strict,
for 12 hours; changing the token ends every session. Without a token the pages answer 404.
Charts are inline SVG drawn here (no JavaScript, nothing fetched from elsewhere, so the page
works offline); every bar carries its figure in a <title> and in data attributes. All text is
escaped: misses are what people typed, redacted but still untrusted."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.content.check import stale_facts, stale_intents
from bot.content.load import Content, Fact, Intent
from bot.ops.misses import MissGroup, MissGrouper, mark_covered
from bot.ops.stats import Figures, Stats, compute, window
from bot.state.sqlite_store import DAY, Store
from bot.understanding.matcher import Matcher

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
                 desk: Callable[[int], dict] | None = None) -> list[Route]:
    """The admin routes. `content` may be a function returning the content in use, so that
    the page follows a reload; `reload`, when given, is what `POST /admin/reload` runs (the
    content reloader: its result has `ok`, `problems` and `intents`)."""
    current = content if callable(content) else (lambda: content)
    if token and len(token) < MIN_TOKEN:
        log.error("admin: off, ADMIN_TOKEN is shorter than %d characters", MIN_TOKEN)
        token = ""
    access = Access(token) if token else None
    matchers = _Matchers()

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

        def build() -> Overview:
            groups = matchers.groups(used, misses)
            today = dt.datetime.now(dt.UTC).date()
            return Overview(compute(counts, votes, since, until), groups, stale_facts(used, today),
                            stale_intents(used, today), days, alert_counts, desk_figures)

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
        return HTMLResponse(render_page(await overview(request)), headers=HEADERS)

    async def data(request: Request) -> Response:
        refused = refuse(request)
        if refused:
            return refused
        return JSONResponse((await overview(request)).as_dict(), headers=HEADERS)

    async def login(request: Request) -> Response:
        if access is None:
            return PlainTextResponse("Not Found", status_code=404)
        if request.method == "GET":
            return HTMLResponse(render_login(), headers=HEADERS)
        now, address = time.time(), _address(request)
        body = await _read_form(request)
        right = body is not None and access.is_token(body.get("token", ""))
        if not right and access.throttled(address, now):
            return HTMLResponse(render_login("Too many attempts; wait a minute."), 429, headers=HEADERS)
        if not right:
            access.failed(address, now)
            return HTMLResponse(render_login("That token is not right."), 401, headers=HEADERS)
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

    return [
        Route("/admin", page, methods=["GET"]),
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


# --- HTML and SVG ---
STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
svg{width:100%;height:auto;background:#fafafa;border:1px solid #eee}
.bar{fill:#3b6ea5}.bar.fallback,.bar.miss{fill:#c0504d}.bar.covered{fill:#9bbb59}
text{font-size:11px;fill:#333}text.value{font-size:10px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left;
vertical-align:top}.num{text-align:right}.muted{color:#777}
form.login{max-width:22em;margin:4em auto}input{width:100%;padding:.4em;margin:.4em 0}
"""


# Bidirectional controls (embeddings, overrides, isolates, marks) in what people typed would
# reorder the page around them (U+202E turns "gpj.exe" around); shown as their code instead.
_BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def _e(value: object) -> str:
    """The one escaping function: HTML-escaped, bidi controls made visible."""
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", escape(str(value), quote=True))


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _document(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def render_login(message: str = "") -> str:
    note = f'<p role="alert">{_e(message)}</p>' if message else ""
    return _document("Mehfooz admin: log in", (
        '<form class="login" method="post" action="/admin/login"><h1>Mehfooz admin</h1>'
        f'{note}<label for="token">Admin token</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>'
        '<button id="login" type="submit">Log in</button></form>'))


@dataclass(frozen=True)
class Bar:
    label: str  # the axis label
    value: float  # what the bar's length shows
    title: str  # the figure in words, shown on hover and readable by tests
    css: str = ""  # an extra class: fallback, miss, covered


def column_chart(chart_id: str, bars: list[Bar], top: float, caption: str, percent: bool = False) -> str:
    """Vertical bars, one per period, with the value above each when they fit."""
    width, height, left, bottom = 720, 220, 56, 30
    slot = (width - left - 10) / max(len(bars), 1)
    plot = height - bottom - 20
    parts = [f'<svg id="{_e(chart_id)}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{_e(caption)}"><title>{_e(caption)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
             'stroke="#999"/>',
             f'<text x="{left - 4}" y="24" text-anchor="end">{_e(_axis(top, percent))}</text>']
    for index, bar in enumerate(bars):
        x = left + index * slot
        h = plot * bar.value / top if top else 0
        y = height - bottom - h
        parts.append(
            f'<g class="bar {_e(bar.css)}" data-label="{_e(bar.label)}" data-value="{_e(_num(bar.value))}">'
            f'<title>{_e(bar.title)}</title>'
            f'<rect x="{x + slot * 0.1:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}"/></g>')
        shown = _axis(bar.value, percent)
        if bar.value and len(shown) * 6 < slot:  # the figure above the bar, when it fits
            parts.append(f'<text class="value" x="{x + slot / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">'
                         f"{_e(shown)}</text>")
        if index in _ticks(len(bars)):
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - 10}" text-anchor="middle">'
                         f"{_e(bar.label[5:] if len(bar.label) == 10 else bar.label)}</text>")  # MM-DD
    return "".join(parts) + "</svg>"


def bar_chart(chart_id: str, bars: list[Bar], top: float, caption: str, percent: bool = False) -> str:
    """Horizontal bars, one per intent or group, labelled on the left."""
    row, left, width = 22, 260, 720
    height = row * max(len(bars), 1) + 10
    parts = [f'<svg id="{_e(chart_id)}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{_e(caption)}"><title>{_e(caption)}</title>']
    if not bars:
        parts.append('<text x="10" y="20">nothing yet</text>')
    for index, bar in enumerate(bars):
        y = 5 + index * row
        w = (width - left - 70) * bar.value / top if top else 0
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{_e(_short(bar.label))}</text>'
            f'<g class="bar {_e(bar.css)}" data-label="{_e(bar.label)}" data-value="{_e(_num(bar.value))}">'
            f'<title>{_e(bar.title)}</title>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}"/></g>'
            f'<text class="value" x="{left + w + 4:.1f}" y="{y + 15}">{_e(_axis(bar.value, percent))}</text>')
    return "".join(parts) + "</svg>"


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


def _charts(o: Overview) -> str:
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
    return "".join([
        "<h2>Messages per day</h2>",
        column_chart("messages-chart", messages, max((b.value for b in messages), default=0) or 1,
                     "Messages per day"),
        "<h2>Not understood (fallback rate) per day</h2>",
        column_chart("fallback-chart", rates, 1.0, "Fallback rate per day", percent=True),
        "<h2>Top intents</h2>",
        bar_chart("intents-chart", top_intents, max((b.value for b in top_intents), default=0) or 1,
                  "Messages per intent"),
        "<h2>Helpfulness per intent (least helpful first)</h2>",
        bar_chart("helpful-chart", helpful, 1.0, "Share of 👍 per intent", percent=True),
    ])


def _misses_section(o: Overview) -> str:
    open_groups = [g for g in o.misses if not g.covered]
    covered = len(o.misses) - len(open_groups)
    shown = open_groups[:TOP]
    bars = [Bar(g.representative, g.count, f"{g.count} × {g.representative}", "miss") for g in shown]
    rows = "".join(
        f'<tr><td class="num">{g.count}</td><td dir="auto">{_e(g.representative)}</td>'
        f'<td dir="auto">{"<br>".join(_e(x) for x in g.examples) or "-"}</td>'
        f'<td>{_e(", ".join(f"{lang} {n}" for lang, n in g.langs.items()))}</td></tr>'
        for g in shown)
    note = (f'<p class="muted">{covered} group(s) that the current content now answers are not shown '
            f"(<code>python -m bot intents misses --all</code>).</p>" if covered else "")
    return ("<h2>Top groups of messages not understood</h2>"
            + bar_chart("misses-chart", bars, max((b.value for b in bars), default=0) or 1, "Top miss groups")
            + note + '<table id="misses"><tr><th class="num">count</th><th>message (redacted)</th>'
            f"<th>also</th><th>languages</th></tr>{rows}</table>")


def _stale_section(o: Overview) -> str:
    facts = "".join(
        f"<tr><td>{_e(f.key)}</td><td>{_e(f.value)}</td><td>{_e(f.checked)}</td><td>{_link(f.source)}</td></tr>"
        for f in o.stale_facts) or '<tr><td colspan="4" class="muted">none</td></tr>'
    intents = "".join(f"<li>{_e(i.id)}: last reviewed {_e(i.reviewed or 'never')}</li>"
                      for i in o.stale_intents)
    return ("<h2>Facts to re-check (checked over 180 days ago)</h2>"
            '<table id="stale-facts"><tr><th>fact</th><th>value</th><th>checked</th><th>source</th></tr>'
            f"{facts}</table><h2>Intents to review (over a year)</h2>"
            f'<ul id="stale-intents">{intents or "<li class=muted>none</li>"}</ul>')


def _link(url: str) -> str:
    if url.startswith(("https://", "http://")):
        return f'<a href="{_e(url)}" rel="noreferrer noopener">{_e(_short(url, 60))}</a>'
    return _e(url)


def _summary(o: Overview) -> str:
    total: Figures = o.stats.total
    return (f'<p id="summary">{_e(o.stats.since)} to {_e(o.stats.until)} (UTC): '
            f'<b id="total-messages">{total.messages}</b> messages, '
            f'<b id="total-fallback">{_pct(total.fallback_rate)}</b> not understood, '
            f'<b id="total-helpful">{_pct(total.helpful)}</b> helpful ({total.up} 👍, {total.down} 👎). '
            f'Last <a href="/admin?days=7">7</a>, <a href="/admin?days=30">30</a>, '
            f'<a href="/admin?days=90">90</a> days.</p>')


def render_page(o: Overview) -> str:
    return _document("Mehfooz admin", (
        f'<h1>Mehfooz admin</h1><form method="post" action="/admin/logout"><button>Log out</button></form>'
        f"{_summary(o)}{_charts(o)}{_misses_section(o)}{_stale_section(o)}{_alerts_section(o)}"
        f"{_desk_section(o)}"))


def _alerts_section(o: Overview) -> str:
    if o.alerts is None:
        return ""
    cells = "".join(f'<tr><td>{_e(name)}</td><td class="num" id="alerts-{_e(name)}">{_e(n)}</td></tr>'
                    for name, n in o.alerts.items())
    return f'<h2>Breach alerts</h2><table id="alerts">{cells}</table>'



def _desk_section(o: Overview) -> str:
    """The desk: each open case (how long the person has waited for staff), and how soon
    staff first answered the cases of the period."""
    if o.desk is None:
        return ""
    rows = "".join(
        f'<tr><td class="num">{_e(c["case"])}</td><td>{_e(c["lang"])}</td>'
        f'<td>{_e(dt.datetime.fromtimestamp(c["opened"], dt.UTC).strftime("%Y-%m-%d %H:%M"))}</td>'
        f'<td class="num">{_e(c["from_person"])} / {_e(c["from_staff"])}</td>'
        f'<td class="num">{_e("-" if c["waiting_minutes"] is None else c["waiting_minutes"])}</td></tr>'
        for c in o.desk["open"]) or '<tr><td colspan="5" class="muted">none</td></tr>'
    first = o.desk["first_response"]
    minutes = {k: "-" if first[k] is None else f"{first[k] / 60:.1f} min"
               for k in ("median_seconds", "p90_seconds")}
    return ('<h2>Desk: open cases</h2><table id="desk-open"><tr><th class="num">case</th><th>language</th>'
            '<th>opened (UTC)</th><th class="num">messages in / out</th><th class="num">waiting (min)</th>'
            f'</tr>{rows}</table><p id="desk-response">First staff reply, cases opened in the period: median '
            f'<b id="desk-median">{minutes["median_seconds"]}</b>, 90th percentile '
            f'<b id="desk-p90">{minutes["p90_seconds"]}</b> ({_e(first["answered"])} answered, '
            f'{_e(first["unanswered"])} not yet).</p>')
