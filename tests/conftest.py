"""Fixtures: `app`, `client`, `db`, `auth`, `mailbox`, `live_server`, `page` (Chromium).

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set. With CI=true a
PostgreSQL or browser test that cannot run fails instead of being skipped.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from xometry_site import create_app
from xometry_site.extensions import db as _db

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


def cannot_run(reason: str) -> None:
    """Skip on a developer machine, fail in CI: a test that cannot run has not passed."""
    if IN_CI:
        pytest.fail(f"cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def redis_app_config(url: str) -> Iterator[dict]:
    """An `app_config` fixture's body for tests on a real Redis: REDIS_URL on a database emptied
    before and after (Redis down skips on a laptop and fails in CI)."""
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except Exception as exc:
        cannot_run(f"Redis is unreachable: {exc}")
    yield {"REDIS_URL": url}
    client.flushdb()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _logging_propagates():
    """Apps built with a production config make our loggers stop propagating (one JSON line per
    event); put that back after each test so pytest's caplog sees the next test's lines."""
    import logging

    yield
    for name in ("xometry_site", "xometry_site.access"):
        logging.getLogger(name).propagate = True


# --- database -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """One database for the session: PostgreSQL from TEST_DATABASE_URL, else a SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # each xdist worker gets its own database
        base, _, name = url.rpartition("/")
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        dbname = f"{name}_{worker}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        admin.dispose()
        url = f"{base}/{dbname}"
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if IN_CI:
            pytest.exit(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}", returncode=3)
        raise
    return url


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages: list[email.message.EmailMessage] = []

        async def handle_DATA(self, server, session, envelope):
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(msg)
            return "250 OK"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture(scope="session")
def _schema(database_url):
    """Create every table once per session (migrations are tested separately)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_config(tmp_path: Path, database_url: str, smtp_port: int) -> dict:
    return {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture
def app_config() -> dict:
    """Override in a module or test to change settings before the app is built."""
    return {}


@pytest.fixture
def app(tmp_path, database_url, smtp_server, _schema, app_config):
    controller, _handler = smtp_server
    config = test_config(tmp_path, database_url, controller.port)
    config.update(app_config)
    application = create_app(config)
    application.test_client_class = BrowserClient
    as_in_production(application)
    with application.app_context():
        yield application
        _db.session.remove()
        _truncate()
        _db.engine.dispose()  # each test's app has its own pool: close it, not leave it to GC


class BrowserClient(FlaskClient):
    """Flask's test client, sending what every current browser sends with a request made from
    one of our own pages (`Sec-Fetch-Site: same-origin`); a test of a cross-site request says
    otherwise in its own headers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_SEC_FETCH_SITE", "same-origin")


def as_in_production(application) -> None:
    """Requests made while a test holds an app context share its `g` and database session, which
    in production are new for every request: each request starts with an empty `g`, and ends with
    the session back in transaction mode (a page marked @reads_only runs without one)."""
    from xometry_site.read_only import writable

    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
    application.teardown_request(lambda _error: writable())


def _fresh_g() -> None:
    """Requests made while the test holds an app context share its `g` (Flask-Babel's locale and
    Flask-Login's user live there): start each request with an empty one, as in production."""
    from flask import g

    for name in list(g):
        g.pop(name, None)


def _truncate() -> None:
    """Empty every table after a test, children first."""
    with _db.engine.begin() as conn:
        for table in reversed(_db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def mailbox(smtp_server):
    """Messages the SMTP server received during this test (delivery is inline in tests)."""
    _controller, handler = smtp_server
    handler.messages.clear()
    return handler.messages


# --- users and signing in ------------------------------------------------------------------


@dataclass
class UserFactory:
    """Builds accounts directly in the database, with the consents registration would record."""

    app: object
    count: int = 0
    made: list = field(default_factory=list)

    def __call__(self, **overrides):
        from xometry_site.models import User
        from xometry_site.models.base import utcnow
        from xometry_site.services.privacy import consents

        self.count += 1
        values = {
            "email": f"user{self.count}@example.com",
            "name": f"测试用户{self.count}",
            "phone": f"+86138000000{self.count:02d}",
            "customer_type": "company",
            "email_verified_at": utcnow(),
        }
        password = overrides.pop("password", PASSWORD)
        values.update(overrides)
        user = User(**values)
        if password:
            user.set_password(password)
        _db.session.add(user)
        _db.session.flush()
        for kind in ("policy", "adult"):
            consents.record(user, kind, ip="127.0.0.1", source="test")
        _db.session.commit()
        self.made.append(user)
        return user


@pytest.fixture
def make_user(app):
    return UserFactory(app)


@pytest.fixture
def user(make_user):
    return make_user()


class AuthActions:
    """Sign in and out through the real forms, as the tutorial's AuthActions does."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str = "user1@example.com", password: str = PASSWORD, **extra):
        data = {"email": email, "password": password, **extra}
        return self._client.post("/login", data=data)

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


# --- servers and the browser ---------------------------------------------------------------


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_app_config() -> dict:
    return {}


@pytest.fixture
def live_server(app, live_app_config) -> Iterator[LiveServer]:
    """The app served over real HTTP in a thread, with CSRF and limits as in production."""
    app.config.update({"WTF_CSRF_ENABLED": True, **live_app_config})
    server = LiveServer(app).start()
    app.config["SERVER_NAME_FOR_MAIL"] = server.url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        cannot_run(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        cannot_run("playwright is not installed")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                # WebGL (the 3D part viewer) on the CPU: Chromium no longer falls back to its
                # software renderer by itself, it must be asked to
                "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
    except Exception as exc:
        pw.stop()
        cannot_run(f"Chromium did not start: {exc}")
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def phone_page(browser, live_server):
    """A phone-sized page (375 px, WeChat-like) in Chinese, pointed at the live server."""
    context = browser.new_context(
        viewport={"width": 375, "height": 812},
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
        base_url=live_server.url,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until `predicate()` is truthy (for work done by another thread or process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def sign_in(client, user, *, fresh: bool = True, second_factor: bool = True) -> None:
    """Put `user` in the client's session as the login form would (for tests of other features).

    `fresh` also marks a recent password proof, so re-authentication is not asked for. A staff
    account also gets what the staff second factor gives (an authenticator enrolled with
    STAFF_TOTP_SECRET and this session's proof), unless `second_factor=False`: the tests of the
    second factor itself sign in without it.
    """
    import time as _time

    from xometry_site.security import REAUTH_KEY, STAFF_PROOF_KEY

    if user.is_staff and second_factor:
        enrol_staff(user)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        if fresh:
            session[REAUTH_KEY] = int(_time.time())
        if user.is_staff and second_factor:
            session[STAFF_PROOF_KEY] = f"{user.id}:{user.session_token}"


STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the tests' authenticator app


def enrol_staff(user, secret: str = STAFF_TOTP_SECRET) -> None:
    """A staff account with a confirmed authenticator, as enrolment leaves it (no-op if it has one)."""
    from xometry_site.models import StaffSecondFactor
    from xometry_site.models.base import utcnow

    if _db.session.scalar(_db.select(StaffSecondFactor).filter_by(user_id=user.id)) is None:
        _db.session.add(StaffSecondFactor(user_id=user.id, secret=secret, confirmed_at=utcnow()))
        _db.session.commit()


def totp_code(secret: str = STAFF_TOTP_SECRET, steps: int = 0) -> str:
    """The code an authenticator app shows now (or `steps` × 30 s later) for `secret`."""
    import pyotp

    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(_now()) + steps)


def fresh_totp_code(factor) -> str:
    """A code the site has not seen yet: a code works once, so a second sign-in within the same
    30 seconds uses the next step's (the site accepts one step of clock drift)."""
    import pyotp

    _db.session.refresh(factor)
    totp = pyotp.TOTP(factor.secret)
    step = totp.timecode(_now())
    if factor.last_step is not None and factor.last_step >= step:
        step = factor.last_step + 1
    return totp.generate_otp(step)


def _now():
    from xometry_site.models.base import utcnow

    return utcnow()


@pytest.fixture
def login_as(client):
    """`login_as(user)` signs the test client in without going through the form."""
    return lambda user, fresh=True: sign_in(client, user, fresh=fresh)


@pytest.fixture
def customer(make_user, login_as):
    """A signed-in, verified customer who reads Chinese."""
    user = make_user(preferred_language="zh_CN")
    login_as(user)
    return user


def browser_sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form in Chromium, answering the cookie banner if it is shown.

    A staff account then gives the second factor as a person would: on the enrolment page it
    types the key shown into "its app" (pyotp) and enters the code; later, the code of the
    authenticator it enrolled."""
    page.goto("/login")
    banner = page.locator("#cookie-banner")
    if banner.count():
        banner.get_by_role("button", name="仅必要 Cookie").click()
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator(
        "button[type=submit], input[type=submit]"
    ).first.click()
    page.wait_for_load_state()
    if "/login/second-factor/enrol" in page.url:
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.fill("input[name=code]", totp_code(secret))
        page.locator("form").filter(has=page.locator("input[name=code]")).locator(
            "button[type=submit]"
        ).click()
        page.locator(".recovery-codes").wait_for()
        page.locator("#continue-to-staff").click()
        page.wait_for_load_state()
    elif "/login/second-factor" in page.url:
        from xometry_site.models import StaffSecondFactor, User

        user = _db.session.scalar(_db.select(User).filter_by(email=email))
        factor = _db.session.scalar(_db.select(StaffSecondFactor).filter_by(user_id=user.id))
        page.fill("input[name=code]", fresh_totp_code(factor))
        page.locator("form").filter(has=page.locator("input[name=code]")).locator(
            "button[type=submit]"
        ).click()
        page.wait_for_load_state()


def fits_the_phone(page) -> bool:
    """Nothing on the page is wider than a 375 px phone screen (the locator waits for the page's
    <html>, so a document still being replaced is not read as null)."""
    return page.locator("html").evaluate("el => el.scrollWidth") <= 375
