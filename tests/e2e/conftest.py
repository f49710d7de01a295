"""Browser tests: the real app served by werkzeug in a thread on a free 127.0.0.1 port, driven by
Debian's Chromium through Playwright (its own browser download cannot work here).

The app shares a FrozenClock with the test, so a test moves time between named instants instead of
sleeping. The database is a SQLite file in tmp_path (several threads use it), or PostgreSQL when
TEST_DATABASE_URL is set. Every visited key page is saved under tests/e2e/screenshots/ (git-ignored)
so a person can look at the rendering (Chinese glyphs, desktop and phone layouts)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import DB_URL, is_postgres, reset_schema
from tests.timeline import T0
from trading.config import TestConfig, normalise_database_url
from trading.core.clock import FrozenClock
from trading.extensions import db
from trading.factory import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: the password every demo user has (README: demo log-ins)
DEMO_PASSWORD = "Demo2026pass"


@dataclass
class LiveServer:
    app: object
    url: str
    clock: FrozenClock
    demo: object = None
    thread: threading.Thread | None = field(default=None, repr=False)

    def totp(self, secret: str) -> str:
        """The code an authenticator app would show at the server's (frozen) time."""
        return pyotp.TOTP(secret).at(self.clock.now())


class QuietHandler(WSGIRequestHandler):
    """No access log: a failing test prints the browser's problems, not every static file."""

    def log_request(self, *args, **kwargs):
        pass


def _config(tmp_path: Path) -> dict:
    cfg = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    if is_postgres():
        cfg["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(DB_URL)
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    else:
        cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'e2e.db'}"
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return cfg


@pytest.fixture
def e2e_clock():
    return FrozenClock(T0)


@pytest.fixture
def live_server(e2e_clock, tmp_path):
    """The real app on a free port; the schema built by create_all; nothing else in it."""
    app = create_app(_config(tmp_path), clock=e2e_clock)
    app.instance_path = str(tmp_path)
    with app.app_context():
        reset_schema()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    live = LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}", clock=e2e_clock, thread=thread)
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def demo_server(live_server):
    """The live server filled with the demo county (the same data `make run` shows)."""
    from trading.core.web import cli_context
    from trading.demo import build_demo

    with live_server.app.app_context():
        live_server.demo = build_demo(cli_context())
        db.session.commit()
        db.session.remove()
    return live_server


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProblems:
    """Console errors and failed requests seen while a test ran: a CSP violation (an inline script
    or style slipped into a template), a JavaScript error, a missing static file, a server error.
    A 4xx answer to a page or form is often the point of a test, so the console's generic
    "Failed to load resource" line is left to the response listener, which knows the address."""

    def __init__(self):
        self.items: list[str] = []

    def _console(self, message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.items.append(f"console.{message.type}: {message.text}")

    def watch(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.items.append(f"pageerror: {e}"))
        page.on("response", lambda r: self.items.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 500 or (r.status == 404 and "/static/" in r.url) else None)


def _new_page(browser, server: LiveServer, viewport: dict, request, problems: PageProblems):
    context = browser.new_context(base_url=server.url, viewport=viewport, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems.watch(page)
    request.addfinalizer(context.close)
    return page


@pytest.fixture
def problems():
    p = PageProblems()
    yield p
    assert not p.items, "browser reported problems:\n" + "\n".join(p.items)


@pytest.fixture
def page(browser, demo_server, request, problems):
    """A desktop page on the demo county's live server."""
    return _new_page(browser, demo_server, DESKTOP, request, problems)


@pytest.fixture
def phone_page(browser, demo_server, request, problems):
    """A 390×844 phone viewport on the same server."""
    ctx_page = _new_page(browser, demo_server, PHONE, request, problems)
    return ctx_page


def shot(page, name: str) -> Path:
    """Save a full-page screenshot of a key page for a person to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, server: LiveServer, username: str, *, password: str = DEMO_PASSWORD,
          totp_secret: str | None = None) -> None:
    """Log in through the real form; roles with two-factor then enter the TOTP code. The clock moves
    on 31 seconds first, so a code is never refused as a replay of the step the demo confirmed."""
    page.goto("/auth/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name=re.compile("登录")).click()
    page.wait_for_load_state()
    if totp_secret:
        server.clock.advance(seconds=31)
        page.get_by_label(re.compile("验证码|动态码|TOTP")).fill(server.totp(totp_secret))
        page.get_by_role("button", name=re.compile("验证|确认|登录")).click()
        page.wait_for_load_state()
    page.get_by_test_id("whoami").wait_for(state="attached")  # hidden behind the menu on a phone


def logout(page) -> None:
    button = page.get_by_role("button", name="退出")
    if not button.is_visible():
        page.get_by_role("button", name="展开菜单").click()
    button.click()
    page.wait_for_load_state()
    page.get_by_test_id("whoami").wait_for(state="detached")
