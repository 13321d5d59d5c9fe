"""The tipline on /admin: the groups of forwarded scams (masked, escaped), the counts, and the
form for staff's verdict, guarded by the session cookie, a token tied to it and the origin (or a
bearer token); in a real headless Chromium, staff confirm a group and the people who asked are
queued to be told."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette

from bot.dialogue.tipline import Tipline
from bot.ops.admin import COOKIE, admin_routes
from bot.state.sqlite_store import Store
from bot.state.tipline import tipline_store
from bot.testing.http import serve_asgi
from tests.test_admin import TOKEN, XSS, browser  # noqa: F401 - a fixture

BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def tipline(store: Store) -> Tipline:
    tipline = Tipline(tipline_store(store), b"secret", Fernet.generate_key().decode())
    now = time.time()
    wave = tipline.store.create("p1", "URGENT: Your JazzCash account will be blocked. Verify at <link> or call "
                                "<phone>.", "k1", "likely_scam", "t1", [], now)
    for tag in ("t2", "t3"):
        tipline.store.join(wave, tag, "p1", "likely_scam", [], now)
    tipline.ask(wave, "t1", "telegram", "777", "en")
    tipline.store.create("p2", f"Prize! {XSS}", "k2", "suspicious", "t4", [], now)
    return tipline


@pytest.fixture
def url(store, content, tipline) -> Iterator[str]:
    app = Starlette(routes=admin_routes(store, content, TOKEN, tipline=tipline))
    with serve_asgi(app) as found:
        yield found


def login(client: httpx.Client) -> str:
    """Log in with the form; the page's form token."""
    assert client.post("/admin/login", data={"token": TOKEN}).status_code == 303
    page = client.get("/admin").text
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)


def test_the_page_lists_the_groups_masked_and_escaped_with_the_counts(url):
    page = httpx.get(f"{url}/admin", headers=BEARER).text
    assert '<b id="scam-groups">2</b>' in page and '<b id="scam-confirmed">0</b>' in page
    assert '<b id="scam-followups-sent">0</b>' in page
    rows = re.findall(r'<tr id="scam-(\d+)"><td class="num">\d+</td><td class="num">(\d+)</td>', page)
    assert rows == [("1", "3"), ("2", "1")]  # most people first
    assert "1 waiting to be told" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    data = httpx.get(f"{url}/admin/data.json", headers=BEARER).json()["scams"]
    assert data["counts"] == {"groups": 2, "confirmed": 0, "followups_sent": 0}
    assert [(g["id"], g["people"], g["waiting"]) for g in data["groups"]] == [(1, 3, 1), (2, 1, 0)]


def test_a_verdict_needs_the_session_its_form_token_and_this_origin(url, tipline):
    with httpx.Client(base_url=url) as client:
        csrf = login(client)
        form = {"id": "1", "verdict": "scam", "note": "JazzCash wave", "csrf": csrf, "days": "7"}
        assert client.post("/admin/scams/confirm", data={**form, "csrf": "0" * 64}).status_code == 403
        assert client.post("/admin/scams/confirm", data={k: v for k, v in form.items() if k != "csrf"}
                           ).status_code == 403
        other_site = client.post("/admin/scams/confirm", data=form, headers={"Origin": "https://evil.example"})
        assert other_site.status_code == 403
        cross = client.post("/admin/scams/confirm", data=form, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
        assert tipline.store.get(1).staff is None  # nothing refused changed anything
        done = client.post("/admin/scams/confirm", data=form, headers={"Origin": url})
        assert done.status_code == 303 and done.headers["location"] == "/admin?days=7#scam-1"
    group = tipline.store.get(1)
    assert (group.staff, group.note, group.waiting) == ("scam", "JazzCash wave", 0)
    assert tipline.store.next_due() is not None  # the one who asked is queued to be told
    # without a session, the form token of an old one is worth nothing
    assert httpx.post(f"{url}/admin/scams/confirm", data={**form, "id": "2"}).status_code == 403


def test_a_verdict_with_the_bearer_token_and_bad_forms(url, tipline):
    post = lambda data: httpx.post(f"{url}/admin/scams/confirm", data=data, headers=BEARER)  # noqa: E731
    assert post({"id": "2", "verdict": "not_scam"}).json() == {"id": 2, "verdict": "not_scam",
                                                               "followups_queued": 0}
    assert tipline.store.get(2).staff == "not_scam"
    for bad in ({"id": "1", "verdict": "maybe"}, {"id": "x", "verdict": "scam"}, {"id": "²", "verdict": "scam"},
                {"verdict": "scam"}, {"id": "9" * 40, "verdict": "scam"}):
        assert post(bad).status_code == 400, bad
    assert post({"id": "99", "verdict": "scam"}).status_code == 404
    big = httpx.post(f"{url}/admin/scams/confirm", content=b"id=1&verdict=scam&note=" + b"x" * 10_000,
                     headers={**BEARER, "Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 403 or big.status_code == 400
    wrong = httpx.post(f"{url}/admin/scams/confirm", data={"id": "1", "verdict": "scam"},
                       headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 403 and tipline.store.get(1).staff is None


def test_without_a_tipline_or_a_token_the_form_does_not_exist(store, content):
    with serve_asgi(Starlette(routes=admin_routes(store, content, TOKEN))) as url:
        assert httpx.post(f"{url}/admin/scams/confirm", data={"id": "1"}, headers=BEARER).status_code == 404
        assert 'id="scams"' not in httpx.get(f"{url}/admin", headers=BEARER).text
    with serve_asgi(Starlette(routes=admin_routes(store, content, ""))) as url:
        assert httpx.post(f"{url}/admin/scams/confirm", data={"id": "1"}).status_code == 404


def test_staff_confirm_in_a_browser(browser, url, tipline):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(f"{url}/admin")
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "token")))
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "scam-list")))
    assert any(c["name"] == COOKIE for c in browser.get_cookies())
    row = browser.find_element(By.ID, "scam-1")
    assert "URGENT: Your JazzCash account will be blocked" in row.text and "<link>" in row.text
    assert XSS in browser.find_element(By.ID, "scam-2").text  # shown as text, never run
    assert browser.find_elements(By.CSS_SELECTOR, "#scam-list script, #scam-list img") == []
    Select(row.find_element(By.NAME, "verdict")).select_by_value("scam")
    row.find_element(By.NAME, "note").send_keys("JazzCash wave, checked with the bank")
    row.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(browser, 20).until(lambda b: "scam-1" in b.current_url)
    assert browser.find_element(By.ID, "scam-confirmed").text == "1"
    staff = browser.find_element(By.ID, "scam-1").find_elements(By.TAG_NAME, "td")[5].text
    assert staff.startswith("scam") and "JazzCash wave, checked with the bank" in staff
    assert tipline.store.get(1).staff == "scam"
