"""The read-only admin page: access by bearer token or a signed cookie from the login form,
escaping of what people typed, and, in a real headless Chromium, charts that show the counts
the test put in the store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from bot.content.load import Content, Intent
from bot.ops.admin import COOKIE, SESSION, Access, admin_routes
from bot.state.sqlite_store import DAY, Store, _day
from bot.testing.http import serve_asgi

TOKEN = "admin-token-for-tests-0123456789"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
NOW = time.time()
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def fill(store: Store) -> dict[str, int]:
    """Counts, feedback and misses on known days; returns the messages per day."""
    per_day = {}
    for days_ago, messages, fallback in ((0, 7, 2), (1, 12, 3), (3, 4, 0)):
        now = NOW - days_ago * DAY
        for _ in range(messages - fallback):
            store.count("stop_marketing_calls", "roman_ur", now=now)
        for _ in range(fallback):
            store.count("fallback", "en", now=now)
        per_day[_day(now)] = messages
    for helpful in (True, True, True, False):
        store.add_feedback("stop_marketing_calls", "roman_ur", helpful, now=NOW)
    store.add_feedback("check_breach", "ur", False, now=NOW - DAY)
    for text in ("how do i renew my passport", "how can i renew my passport", "How do I renew my passport?"):
        store.add_miss(text, "en", now=NOW - DAY)
    store.add_miss(XSS, "en", now=NOW)
    return per_day


@pytest.fixture
def filled(store: Store) -> dict[str, int]:
    return fill(store)


@pytest.fixture
def admin_url(store: Store, content: Content, filled) -> Iterator[str]:
    app = Starlette(routes=admin_routes(store, content, TOKEN))
    with serve_asgi(app) as url:
        yield url


def test_sessions_are_signed_expire_and_die_with_the_token():
    access = Access(TOKEN)
    cookie = access.session(now=NOW)
    assert access.valid_session(cookie, now=NOW + 60)
    assert not access.valid_session(cookie, now=NOW + SESSION + 1)  # expired
    expires, _, signature = cookie.partition(".")
    assert not access.valid_session(f"{int(expires) + 3600}.{signature}", now=NOW)  # extended by hand
    assert not access.valid_session(f"{expires}.{'0' * len(signature)}", now=NOW)
    assert not Access("another-token").valid_session(cookie, now=NOW)
    assert not access.valid_session("", now=NOW) and not access.valid_session("x.y", now=NOW)
    assert not access.valid_session("9" * 5000 + ".x", now=NOW)
    assert access.is_token(TOKEN) and not access.is_token(TOKEN[:-1]) and not access.is_token("")


def test_without_a_token_the_admin_pages_do_not_exist(store, content):
    app = Starlette(routes=admin_routes(store, content, ""))
    with serve_asgi(app) as url:
        assert httpx.get(f"{url}/admin").status_code == 404
        assert httpx.get(f"{url}/admin/login").status_code == 404
        assert httpx.post(f"{url}/admin/login", data={"token": ""}).status_code == 404
        assert httpx.get(f"{url}/admin", headers={"Authorization": "Bearer x"}).status_code == 404


def test_bearer_token_and_refusals(admin_url):
    assert httpx.get(f"{admin_url}/admin").headers["location"] == "/admin/login"
    wrong = httpx.get(f"{admin_url}/admin", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    forged = httpx.get(f"{admin_url}/admin", cookies={COOKIE: f"{int(NOW) + 3600}.abc"})
    assert forged.status_code == 303
    page = httpx.get(f"{admin_url}/admin", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script" not in page.text and "<img" not in page.text  # the miss is shown escaped
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text  # (autoescaped by the template)


def test_login_form_sets_a_strict_http_only_cookie(admin_url):
    with httpx.Client(base_url=admin_url) as client:
        assert client.post("/admin/login", data={"token": "wrong"}).status_code == 401
        assert client.get("/admin").status_code == 303
        response = client.post("/admin/login", data={"token": TOKEN})
        assert response.status_code == 303 and response.headers["location"] == "/admin"
        cookie = response.headers["set-cookie"]
        assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/admin" in cookie and f"Max-Age={SESSION}" in cookie
        assert TOKEN not in cookie
        assert client.get("/admin").status_code == 200
        data = client.get("/admin/data.json").json()
        assert data["stats"]["total"]["messages"] == 23 and data["stats"]["total"]["fallback"] == 5
        assert client.post("/admin/logout").status_code == 303
        assert client.get("/admin").status_code == 303


def _from(address: str) -> httpx.Client:
    """A client whose requests come from another loopback address (a different person)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address))


def test_guessing_the_token_is_throttled_per_address_without_locking_the_admin_out(admin_url):
    with _from("127.0.0.2") as guesser:
        statuses = [guesser.post(f"{admin_url}/admin/login", data={"token": f"guess{n}"}).status_code
                    for n in range(12)]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
        # the right token is always accepted, even from that address (issue 26: behind a proxy,
        # guessers and the admin share one)
        assert guesser.post(f"{admin_url}/admin/login", data={"token": TOKEN}).status_code == 303
    with _from("127.0.0.3") as guesser:  # bearer guesses count too
        bearer = [guesser.get(f"{admin_url}/admin/data.json", headers={"Authorization": f"Bearer g{n}"})
                  for n in range(11)]
        assert [r.status_code for r in bearer] == [401] * 10 + [429]
    # the admin, from elsewhere, is not locked out
    assert httpx.post(f"{admin_url}/admin/login", data={"token": TOKEN}).status_code == 303
    assert httpx.get(f"{admin_url}/admin", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_page_follows_the_content_it_is_given(store, content, filled):
    """With a function for the content (a hot reload swaps it), the miss report follows."""
    current = {"content": content}
    app = Starlette(routes=admin_routes(store, lambda: current["content"], TOKEN))
    with serve_asgi(app) as url:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        before = httpx.get(f"{url}/admin/data.json", headers=bearer).json()
        passport = next(g for g in before["misses"] if g["count"] == 3)
        assert "passport" in passport["representative"] and not passport["covered"]
        assert "dncr.number" not in {f["key"] for f in before["stale_facts"]}
        # a reload swaps in content with a passport intent and a fact not checked for years
        intent = Intent("passport_renewal", {
            "en": ["how do i renew my passport", "renew passport online", "passport renewal"],
            "roman_ur": ["passport renew kaise karun"], "ur": ["پاسپورٹ کی تجدید"]})
        old_fact = replace(content.facts["dncr.number"], checked=dt.date(2020, 1, 1))
        current["content"] = replace(content, intents={**content.intents, intent.id: intent},
                                     facts={**content.facts, "dncr.number": old_fact})
        after = httpx.get(f"{url}/admin/data.json", headers=bearer).json()
        passport = next(g for g in after["misses"] if g["count"] == 3)
        assert passport["covered"] and passport["answered_by"] == "passport_renewal"
        assert {"key": "dncr.number", "value": "3627", "checked": "2020-01-01",
                "source": old_fact.source} in after["stale_facts"]
        page = httpx.get(f"{url}/admin", headers=bearer).text
        assert "1 group(s) that the current content now answers are not shown" in page


# --- the page in a real browser ---
@pytest.fixture
def browser():
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1100,2400"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def bars(driver, chart: str) -> dict[str, tuple[str, str]]:
    """label -> (data-value, title text) of the bars of one chart."""
    from selenium.webdriver.common.by import By

    found = {}
    for bar in driver.find_elements(By.CSS_SELECTOR, f"svg#{chart} g.bar"):
        title = bar.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        found[bar.get_attribute("data-label")] = (bar.get_attribute("data-value"), title)
    return found


def test_a_browser_logs_in_and_the_charts_show_the_counts(browser, admin_url, filled):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{admin_url}/admin")
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "token")))
    assert browser.current_url.endswith("/admin/login")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "messages-chart")))
    assert browser.current_url == f"{admin_url}/admin"
    # the session cookie is out of reach of scripts
    assert browser.execute_script("return document.cookie") == ""
    session = next(c for c in browser.get_cookies() if c["name"] == COOKIE)
    assert session["httpOnly"] and session["sameSite"] == "Strict"

    assert browser.find_element(By.ID, "total-messages").text == "23"
    messages = bars(browser, "messages-chart")
    assert len(messages) == 30  # every day of the window, empty ones too
    for day, n in filled.items():
        assert messages[day] == (str(n), f"{day}: {n} messages")
    today, yesterday = _day(NOW), _day(NOW - DAY)
    fallback = bars(browser, "fallback-chart")
    assert fallback[yesterday][1] == f"{yesterday}: 25.0% not understood (3 of 12)"
    assert fallback[today][1] == f"{today}: 28.6% not understood (2 of 7)"
    intents = bars(browser, "intents-chart")
    assert intents["stop_marketing_calls"] == ("18", "stop_marketing_calls: 18 messages")
    assert intents["fallback"] == ("5", "fallback: 5 messages")
    helpful = bars(browser, "helpful-chart")
    assert helpful["stop_marketing_calls"][1] == "stop_marketing_calls: 75.0% helpful (3 👍, 1 👎)"
    assert helpful["check_breach"][1] == "check_breach: 0.0% helpful (0 👍, 1 👎)"
    misses = bars(browser, "misses-chart")
    passport = next(v for label, v in misses.items() if "passport" in label)
    assert passport[0] == "3"
    # what a person typed is shown as text, never run
    assert misses[XSS][0] == "1"
    assert XSS in browser.find_element(By.ID, "misses").text
    assert browser.find_elements(By.CSS_SELECTOR, "#misses img, #misses script") == []
