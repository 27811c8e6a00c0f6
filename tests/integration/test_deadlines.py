"""Every call that leaves the process has a deadline: each dependency here accepts connections
and never answers (a black hole), and the call gives up within its setting; a dependency that
is down makes pages answer 503 with Retry-After in the visitor's language, one log line each.

The same against the production stack under gunicorn, with dependencies paused mid-run while
public pages and /healthz keep answering: test_hung_dependencies.py.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest
from production_support import PG_ADMIN_URL, BlackHole, require_postgres_and_redis
from sqlalchemy import text

from xometry_site import create_app

SLACK = 0.5  # seconds a loaded test machine may add to a deadline


@pytest.fixture
def hole():
    with BlackHole() as black_hole:
        yield black_hole


def _app(tmp_path, **config):
    return create_app({"INSTANCE_PATH": str(tmp_path / "instance"), **config})


def _timed(func, *args, **kwargs):
    started = time.monotonic()
    try:
        return func(*args, **kwargs), time.monotonic() - started
    except Exception as error:
        return error, time.monotonic() - started


# --- PostgreSQL ----------------------------------------------------------------------------------


def _hung_database_app(tmp_path, port: int):
    from xometry_site.extensions import db

    app = _app(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}},
        HEALTH_CHECK_TIMEOUT=0.3,
        RETRY_AFTER_SECONDS=45,
    )

    @app.get("/needs-the-database")
    def needs_the_database():
        return str(db.session.execute(text("SELECT 1")).scalar())

    return app


def test_a_database_that_never_answers_gives_503_after_the_connect_timeout(tmp_path, hole, caplog):
    app = _hung_database_app(tmp_path, hole.port)
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="xometry_site")
    answers = []
    for lang in ("zh-CN", "en", "en"):
        answer, took = _timed(client.get, "/needs-the-database", headers={"Accept-Language": lang})
        answers.append(answer)
        assert took < 2 + SLACK, took  # DB_CONNECT_TIMEOUT (libpq's least: 2 s)
    assert [a.status_code for a in answers] == [503, 503, 503]
    assert all(a.headers["Retry-After"] == "45" for a in answers)
    assert all("no-store" in a.headers["Cache-Control"] for a in answers)
    assert "服务暂时不可用" in answers[0].get_data(as_text=True)
    assert '<html lang="zh-CN">' in answers[0].get_data(as_text=True)
    assert "Temporarily unavailable" in answers[1].get_data(as_text=True)
    # one line per failed request; the same error's traceback at most once
    lines = [r for r in caplog.records if r.getMessage().startswith("error.unavailable")]
    assert len(lines) == 3
    assert sum(1 for r in caplog.records if r.exc_info) <= 1


def test_healthz_answers_within_its_budget_while_the_database_hangs(tmp_path, hole):
    app = _hung_database_app(tmp_path, hole.port)
    client = app.test_client()
    for _ in range(3):  # the first check, and the next ones while it still hangs
        answer, took = _timed(client.get, "/healthz")
        assert took < 0.3 + SLACK, took
        assert answer.status_code == 503
        assert answer.get_json()["status"] == "error"
        assert answer.get_json()["database"] == "timeout"
        assert "no-store" in answer.headers["Cache-Control"]


def test_statement_timeout_is_short_for_web_requests_and_longer_for_jobs(tmp_path):
    require_postgres_and_redis()
    from xometry_site.extensions import db

    url = "postgresql+psycopg://" + PG_ADMIN_URL.split("://", 1)[1]
    options = {"pool_pre_ping": True, "connect_args": {"options": "-c statement_timeout=5000"}}

    def app_for(name: str):
        app = _app(
            tmp_path / name,
            SQLALCHEMY_DATABASE_URI=url,
            SQLALCHEMY_ENGINE_OPTIONS=options,
            DB_REQUEST_STATEMENT_TIMEOUT_MS=300,
        )

        @app.get("/slow")
        def slow():
            db.session.execute(text("SELECT pg_sleep(2)"))
            return "finished"

        return app

    web = app_for("web")
    answer, took = _timed(web.test_client().get, "/slow")
    assert answer.status_code == 503 and took < 0.3 + 1 + SLACK, took
    with web.app_context():
        db.engine.dispose()

    job = app_for("job")  # a job or a command: no request, the connection's 5 s
    with job.app_context():
        assert db.session.execute(text("SELECT pg_sleep(0.6), 1")).one()[1] == 1
        db.session.remove()
        db.engine.dispose()


# --- Redis for jobs ------------------------------------------------------------------------------

ran: list[str] = []


def _job(word: str) -> None:
    ran.append(word)


def test_a_hung_job_queue_runs_the_job_inline_after_its_timeout(tmp_path, hole, caplog):
    from xometry_site.services.jobs import enqueue

    app = _app(tmp_path, REDIS_URL=f"redis://127.0.0.1:{hole.port}/0", JOBS_REDIS_TIMEOUT=0.3)
    ran.clear()
    with app.test_request_context("/"):
        result, took = _timed(enqueue, _job, "inline")
    assert result is None and ran == ["inline"]
    assert took < 0.3 + SLACK, took
    assert any(r.getMessage().startswith("job.enqueue_failed") for r in caplog.records)


# --- SMTP, SMS, S3, WeChat -----------------------------------------------------------------------


def test_smtp_that_never_answers_fails_after_smtp_timeout(tmp_path, hole):
    from xometry_site.services.mail import deliver

    app = _app(tmp_path, MAIL_BACKEND="smtp", SMTP_PORT=hole.port, SMTP_TIMEOUT=0.5)
    with app.app_context():
        error, took = _timed(deliver, b"From: a@example.com\r\nTo: b@example.com\r\n\r\nhi\r\n")
    assert isinstance(error, OSError | TimeoutError), error
    assert took < 0.5 + SLACK, took


class HungSmsProvider:
    """A provider whose HTTP call went to a host that accepts and never answers."""

    port = 0

    def __init__(self, config) -> None:
        self.config = config

    def send(self, phone: str, text: str) -> None:
        with socket.create_connection(("127.0.0.1", self.port)) as conn:  # no timeout of its own
            conn.sendall(b"POST /sms HTTP/1.1\r\n\r\n")
            conn.recv(1)


def test_sms_provider_that_never_answers_fails_after_sms_timeout(tmp_path, hole):
    from xometry_site.deadlines import DeadlineExceeded
    from xometry_site.services.sms import transmit

    HungSmsProvider.port = hole.port
    app = _app(tmp_path, SMS_BACKEND=f"{__name__}:HungSmsProvider", SMS_TIMEOUT=0.5)
    with app.app_context():  # as the outbox's deliverer calls it, in a request or a job
        error, took = _timed(transmit, "+8613800000000", "[Xometry Asia] 123456")
    assert isinstance(error, DeadlineExceeded)
    assert took < 0.5 + SLACK, took


def test_s3_that_never_answers_fails_within_its_deadlines(tmp_path, hole):
    from xometry_site.services.storage import get_storage

    app = _app(
        tmp_path,
        STORAGE_BACKEND="s3",
        S3_BUCKET="hung",
        S3_ENDPOINT_URL=f"http://127.0.0.1:{hole.port}",
        S3_REGION="us-east-1",
        S3_ACCESS_KEY_ID="id",
        S3_SECRET_ACCESS_KEY="secret",
        S3_CONNECT_TIMEOUT=0.3,
        S3_READ_TIMEOUT=0.3,
        S3_MAX_ATTEMPTS=1,
        HEALTH_CHECK_TIMEOUT=0.3,
    )
    storage = get_storage(app)
    # botocore loads its endpoint rules on a client's first call (0.5 s or more on a busy
    # machine): the first call warms it up; the second shows the deadline alone
    _timed(storage.exists, "b" * 32)
    error, took = _timed(storage.exists, "a" * 32)
    assert isinstance(error, Exception), error
    assert took < 0.3 + SLACK, took
    # /healthz says so within its budget, and still answers 200: the site works without storage
    answer, took = _timed(app.test_client().get, "/healthz")
    assert took < 0.3 + SLACK, took
    assert answer.status_code == 200
    assert answer.get_json()["storage"] in ("timeout", "unreachable")


def test_wechat_that_never_answers_is_unreachable_after_wechat_timeout(hole):
    from xometry_site.services.accounts.wechat import WeChatError, exchange_code

    settings = {
        "WECHAT_APP_ID": "wx-hung",
        "WECHAT_APP_SECRET": "secret",
        "WECHAT_API_BASE_URL": f"http://127.0.0.1:{hole.port}",
        "WECHAT_OPEN_BASE_URL": f"http://127.0.0.1:{hole.port}",
        "WECHAT_TIMEOUT": 0.5,
    }
    error, took = _timed(exchange_code, settings, "some-code")
    assert isinstance(error, WeChatError) and error.kind == "unreachable"
    assert took < 0.5 + SLACK, took


def test_wechat_pay_that_never_answers_is_unreachable_after_wechatpay_timeout(hole):
    from production_support import wechatpay_production_settings

    from xometry_site.services.payments.wechatpay_api import WeChatPayApi, WeChatPayError
    from xometry_site.services.payments.wechatpay_settings import read_settings

    settings = {
        **wechatpay_production_settings(),
        "WECHATPAY_API_BASE_URL": f"http://127.0.0.1:{hole.port}",
        "WECHATPAY_TIMEOUT": 0.5,
        "SERVER_NAME_FOR_MAIL": "https://www.xometry.asia",
    }
    api = WeChatPayApi(read_settings(settings))
    for call in (
        lambda: api.native_prepay("XA-2026-000001-0a1b2c3d", "Xometry Asia 订单", 100),
        lambda: api.query("XA-2026-000001-0a1b2c3d"),
        lambda: api.refund("XA-2026-000001-0a1b2c3d", "XA-2026-000001-0a1b2c3d-R", 100, 100),
    ):
        error, took = _timed(call)
        assert isinstance(error, WeChatPayError) and error.kind == "unreachable"
        assert took < 0.5 + SLACK, took
