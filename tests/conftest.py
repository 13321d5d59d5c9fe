from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.content.load import Content, load_content
from bot.dialogue.core import Bot
from bot.state.sqlite_store import Store
from bot.understanding.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# The intent ids of ../shared/intent-catalog.md: a contract.
CATALOG = [
    "greeting", "menu", "stop_marketing_calls", "complain_pta", "report_fraud", "check_breach",
    "leak_news", "after_leak", "password_help", "two_factor", "operator_helpline",
    "data_sharing_rights", "privacy_law", "scam_check", "phishing_tips", "vpn_wifi", "sim_check",
    "account_hacked", "records_sold", "bot_privacy", "human_help", "thanks", "goodbye", "language",
    "shared_code", "harm_request",  # added to the catalog since
]


LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "", None}


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> None:
    """Tests talk only to local stand-ins: a name that is not loopback does not resolve, so a
    client left pointing at a real service (XposedOrNot answers with no key) fails at once
    instead of reaching the internet. Child processes get XON_API_URL from `service_env`."""
    real = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"tests do not reach the internet ({name})")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = loopback_only
    yield
    socket.getaddrinfo = real


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content()


@pytest.fixture(scope="session")
def matcher(content: Content) -> Matcher:
    return Matcher(content)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "bot.db")
    yield store
    store.close()


@pytest.fixture
def bot(content: Content, store: Store) -> Bot:
    return Bot(content, store, b"test-secret")
