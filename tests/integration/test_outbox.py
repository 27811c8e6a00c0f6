"""The outbox: mail and text messages survive a lost queue and a dead SMTP server, leave exactly
once, and what keeps failing reaches a person (staff alerts on /admin/ and by mail, once).

Real components: a throw-away redis-server of our own (restarted without persistence), aiosmtpd
servers that are down, refuse, then accept, and several deliverers at once.
"""

from __future__ import annotations

import email
import email.policy
import subprocess
import threading
from datetime import timedelta

import pytest
from conftest import cannot_run, free_port, wait_for

from xometry_site.models import OutboxMessage, StaffAlert
from xometry_site.models.base import utcnow
from xometry_site.services import outbox
from xometry_site.services.alerts import raise_alert
from xometry_site.services.mail import send_mail

REDIS_SERVER = "/usr/bin/redis-server"
NO_PERSISTENCE = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")


class RedisServer:
    """A redis-server on a free port with no persistence: a restart loses every queued job."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), *NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        from redis import Redis

        client = Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


class Smtp:
    """An aiosmtpd server we can refuse with (4xx on DATA), start and stop."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[email.message.EmailMessage] = []
        self.greeted_as: list[str] = []  # the name each client gave in EHLO
        self.refuse = False
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        self.greeted_as.append(session.host_name)
        if self.refuse:
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(msg)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.received if m["To"] == address]


@pytest.fixture
def smtp():
    server = Smtp()  # down until a test starts it
    yield server
    server.stop()


@pytest.fixture
def app_config(smtp):
    return {"SMTP_PORT": smtp.port, "STAFF_NOTIFY_EMAIL": "ops@example.com"}


def queue_mail(app, db, *addresses: str) -> None:
    """One event (here: nothing but the messages) committed with its mail."""
    with app.test_request_context():
        for address in addresses:
            send_mail(address, "password_changed", "en", user=None, reason="reset")
        db.session.commit()


def rows(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))


def later(minutes: float):
    return utcnow() + timedelta(minutes=minutes)


# --- Redis loses the queue ---------------------------------------------------------------------


@pytest.fixture
def redis_server():
    import shutil

    if not shutil.which(REDIS_SERVER):
        cannot_run("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_mail_queued_in_a_redis_that_restarts_empty_is_delivered_once_by_retry(
    app, db, runner, smtp, redis_server
):
    from redis import Redis
    from rq import Queue

    smtp.start()
    app.config["REDIS_URL"] = redis_server.url
    queue_mail(app, db, "a@example.com", "b@example.com", "c@example.com")
    assert Queue("mail", connection=Redis.from_url(redis_server.url)).count == 3
    assert smtp.received == []  # only queued: no worker has run
    app.extensions.pop("rq_queues", None)

    redis_server.stop()  # no persistence: the three jobs are gone
    redis_server.start()
    assert Queue("mail", connection=Redis.from_url(redis_server.url)).count == 0
    assert [r.status for r in rows(db)] == ["pending"] * 3

    result = runner.invoke(args=["outbox", "retry"])
    assert result.exit_code == 0, result.output
    assert "sent=3" in result.output
    assert sorted(m["To"] for m in smtp.received) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert runner.invoke(args=["outbox", "retry"]).output.strip() == "nothing due"
    assert len(smtp.received) == 3
    assert all(r.status == "sent" and r.content is None and not r.recipient for r in rows(db))


def test_a_job_that_survived_and_a_retry_deliver_once_between_them(
    app, db, runner, smtp, redis_server
):
    """The job still in Redis and `flask outbox retry` both want the message: one sends it."""
    smtp.start()
    app.config["REDIS_URL"] = redis_server.url
    queue_mail(app, db, "a@example.com")
    assert runner.invoke(args=["outbox", "retry"]).exit_code == 0
    result = runner.invoke(args=["worker", "--burst", "--queue", "mail"])
    assert result.exit_code == 0, result.output
    assert len(smtp.to("a@example.com")) == 1
    assert rows(db)[0].status == "sent"


def test_the_scheduler_delivers_what_is_due(app, db, smtp):
    from xometry_site.services.periodic import SCHEDULE, tick

    queue_mail(app, db, "a@example.com")  # SMTP down: the inline attempt fails
    assert rows(db)[0].attempts == 1
    smtp.start()
    jobs = tuple(job for job in SCHEDULE if job.name == "outbox-retry")
    last_run: dict = {}
    assert tick(None, jobs, last_run=last_run) == ["outbox-retry"]
    assert smtp.received == []  # ran, but the message waits out its backoff
    db.session.execute(
        db.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert tick(None, jobs, last_run=last_run, now=utcnow() + timedelta(seconds=61)) == [
        "outbox-retry"
    ]
    assert len(smtp.to("a@example.com")) == 1
    assert rows(db)[0].status == "sent"


# --- SMTP down, refusing, then back ------------------------------------------------------------


def test_smtp_down_then_back_delivers_once_and_never_marks_sent_before_acceptance(app, db, smtp):
    queue_mail(app, db, "a@example.com")  # nothing listens on the port
    [row] = rows(db)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert row.last_error == "ConnectionRefusedError"
    assert row.next_attempt_at > utcnow() + timedelta(seconds=50)  # backoff, not a hot loop
    assert outbox.deliver_due() == {}  # not due yet

    smtp.start()
    smtp.refuse = True  # the server answers, but does not accept the message
    second = later(2)  # the clock the deliverer is given, kept: the refusal itself takes time
    assert outbox.deliver_due(now=second) == {"retry": 1}
    [row] = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 2, "SMTPDataError 451")
    assert row.next_attempt_at == second + timedelta(seconds=120)  # doubled
    assert smtp.received == []

    smtp.refuse = False
    assert outbox.deliver_due(now=later(10)) == {"sent": 1}
    assert outbox.deliver_due(now=later(60)) == {}
    assert len(smtp.to("a@example.com")) == 1
    [row] = rows(db)
    assert (row.status, row.attempts) == ("sent", 3)
    assert row.sent_at is not None and row.content is None
    # the Message-ID is the row's key, the same on every attempt
    assert smtp.received[0]["Message-ID"] == f"<{row.key}@xometry.asia>"


def test_the_site_greets_the_mail_server_by_its_own_name(app, db, smtp):
    """Receiving servers check the EHLO name: SITE_URL's host, or SMTP_HELO_NAME when set, not
    whatever this machine's resolver calls it."""
    smtp.start()
    app.config["SERVER_NAME_FOR_MAIL"] = "https://www.xometry.test"
    queue_mail(app, db, "a@example.com")
    app.config["SMTP_HELO_NAME"] = "mail.xometry.test"
    queue_mail(app, db, "b@example.com")
    assert [m["To"] for m in smtp.received] == ["a@example.com", "b@example.com"]
    assert smtp.greeted_as == ["www.xometry.test", "mail.xometry.test"]


def test_the_outbox_keeps_the_rendered_mail_and_composes_it_when_it_leaves(app, db, smtp):
    """The event's transaction holds only what the templates made; the MIME message is built by
    the deliverer. A row written before (a finished message, base64) still leaves as it was."""
    import base64
    import json

    queue_mail(app, db, "new@example.com")  # nothing listens yet: the row waits
    [row] = rows(db)
    kept = json.loads(row.content)
    assert kept["to"] == "new@example.com" and kept["language"] == "en"
    assert kept["subject"] and "</html>" in kept["html"] and kept["text"]
    assert "Content-Type" not in row.content  # no MIME message in the transaction

    with app.test_request_context():
        from xometry_site.services.mail import build_message

        finished = build_message("old@example.com", "password_changed", "zh_CN", user=None)
        outbox.add(
            outbox.MAIL, "old@example.com", base64.b64encode(finished.as_bytes()).decode(), "x"
        )
        db.session.commit()
    smtp.start()
    assert outbox.deliver_due(now=later(5)) == {"sent": 2}
    [new_mail], [old_mail] = smtp.to("new@example.com"), smtp.to("old@example.com")
    assert new_mail["Subject"] == kept["subject"] and new_mail["Content-Language"] == "en"
    assert new_mail["Message-ID"] == f"<{row.key}@xometry.asia>"
    assert [part.get_content_type() for part in new_mail.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    sent_text = new_mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert sent_text.strip() == kept["text"].strip()
    assert (
        old_mail["Content-Language"] == "zh-CN" and old_mail["Message-ID"] == finished["Message-ID"]
    )


def test_a_deliverer_that_died_mid_send_is_taken_over_after_the_claim_timeout(app, db, smtp):
    smtp.start()
    app.config["REDIS_URL"] = None
    with app.test_request_context():
        send_mail("a@example.com", "password_changed", "en", user=None, reason="reset")
        db.session.flush()
        # a deliverer claimed it and died (killed worker): the row says "sending"
        message = db.session.scalar(db.select(OutboxMessage))
        message.status, message.claimed_at, message.attempts = "sending", utcnow(), 1
        db.session.commit()
    assert outbox.deliver_due() == {}  # a live claim is left alone
    assert outbox.deliver_due(now=later(11)) == {"sent": 1}
    assert len(smtp.received) == 1


def test_two_deliverers_racing_send_each_message_once(app, db, smtp):
    queue_mail(app, db, *(f"r{i}@example.com" for i in range(6)))  # SMTP down: all pending
    smtp.start()
    barrier = threading.Barrier(3)
    outcomes = []

    def deliverer() -> None:
        with app.app_context():
            barrier.wait()
            outcomes.append(outbox.deliver_due(now=later(5)))

    threads = [threading.Thread(target=deliverer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(o.get("sent", 0) for o in outcomes) == 6
    assert sorted(m["To"] for m in smtp.received) == sorted(f"r{i}@example.com" for i in range(6))
    assert [r.status for r in rows(db)] == ["sent"] * 6


class FlakyProvider:
    """An SMS provider plugged in by dotted path that is down until a test says otherwise."""

    down = True
    sent: list[tuple[str, str]] = []

    def __init__(self, config) -> None:
        pass

    def send(self, phone: str, text: str) -> None:
        if FlakyProvider.down:
            raise ConnectionError("provider down")
        FlakyProvider.sent.append((phone, text))


@pytest.fixture
def flaky_sms(app):
    FlakyProvider.down, FlakyProvider.sent = True, []
    app.config["SMS_BACKEND"] = f"{__name__}:FlakyProvider"
    return FlakyProvider


def test_a_text_is_retried_until_the_provider_is_back_and_stored_encrypted(app, db, flaky_sms):
    from sqlalchemy import text

    from xometry_site.services import sms

    with app.test_request_context(), pytest.raises(sms.SmsError):
        sms.send_code("+8613812345678", "424242", "en", minutes=10)  # the visitor is told
    [row] = rows(db)
    assert (row.channel, row.status, row.attempts) == ("sms", "pending", 1)
    raw = db.session.execute(text("SELECT content FROM outbox_messages")).scalar()
    assert "424242" not in raw and "424242" in row.content  # encrypted at rest
    flaky_sms.down = False
    assert outbox.deliver_due(now=later(2)) == {"sent": 1}
    assert outbox.deliver_due(now=later(9)) == {}
    [(phone, message)] = flaky_sms.sent
    assert phone == "+8613812345678" and "424242" in message


def test_a_text_that_could_not_leave_before_its_code_expired_is_dropped(app, db, flaky_sms):
    from xometry_site.services import sms

    with app.test_request_context(), pytest.raises(sms.SmsError):
        sms.send_code("+8613812345678", "424242", "en", minutes=10)
    flaky_sms.down = False
    assert outbox.deliver_due(now=later(11)) == {"expired": 1}
    assert flaky_sms.sent == []
    assert rows(db)[0].status == "failed" and rows(db)[0].content is None


# --- alerts ---------------------------------------------------------------------------------------


def test_a_message_that_keeps_failing_alerts_staff_once_and_shows_on_admin(
    app, db, smtp, make_user, login_as, client
):
    smtp.start()
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    queue_mail(app, db, "bounce1@example.com", "bounce2@example.com")  # 550 for both
    assert outbox.deliver_due(now=later(5)) == {"failed": 2}
    assert sorted((r.purpose, r.status, r.recipient) for r in rows(db)) == [
        ("password_changed", "failed", ""),  # given up: no address, no content kept
        ("password_changed", "failed", ""),
        ("staff_alert", "sent", ""),
    ]
    [alert] = db.session.scalars(db.select(StaffAlert)).all()
    assert (alert.kind, alert.subject, alert.count) == (
        "outbox_failed",
        "mail:password_changed",
        2,
    )
    [mail] = smtp.to("ops@example.com")  # two failures, one mail
    assert "mail:password_changed" in mail.get_body(("plain",)).get_content()
    assert all(r.last_error == "SMTPRecipientsRefused" for r in rows(db) if r.status == "failed")

    staff = make_user(is_staff=True)
    login_as(staff)
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "A message could not be delivered after every retry" in page
    assert "mail:password_changed" in page
    customer_client = app.test_client()
    assert customer_client.get("/admin/").status_code == 404

    assert client.post(f"/admin/alerts/{alert.id}/resolve").status_code == 302
    assert "mail:password_changed" not in client.get("/admin/?lang=en").get_data(as_text=True)


def test_alerts_are_counted_and_mailed_once_per_period(app, db, smtp):
    smtp.start()
    for _ in range(3):
        raise_alert("unknown_key", "key:k9")
    raise_alert("unknown_key", "key:k8")
    alerts = {a.subject: a.count for a in db.session.scalars(db.select(StaffAlert))}
    assert alerts == {"key:k9": 3, "key:k8": 1}
    assert len(smtp.to("ops@example.com")) == 2  # one per alert, not per occurrence
    raise_alert("unknown_key", "key:k9", now=utcnow() + timedelta(days=1, minutes=1))
    assert len(smtp.to("ops@example.com")) == 3  # a new period, one more mail


# --- drawings that cannot be read back -----------------------------------------------------------


@pytest.fixture
def drawing(app, db, client, customer):
    from test_quotes_support import cube_stl, post_quote

    from xometry_site.models import Drawing

    assert post_quote(client, [("part.stl", cube_stl())]).status_code == 303
    return db.session.scalar(db.select(Drawing))


def test_a_key_this_host_does_not_have_is_unavailable_not_corrupt_and_alerts_once(
    app, db, client, smtp, drawing
):
    smtp.start()
    url = f"/quotes/{drawing.quote.ref}/files/{drawing.id}?lang=en"
    drawing.key_id = "k-newer-host"  # wrapped by a key a newer ring has and this host's has not
    db.session.commit()
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 503 and response.headers["Retry-After"] == "300"
        page = response.get_data(as_text=True)
        assert "temporarily unavailable" in page and "Nothing is wrong with the file" in page
        assert "integrity check" not in page
    [alert] = db.session.scalars(db.select(StaffAlert)).all()
    assert (alert.kind, alert.subject, alert.count) == ("unknown_key", "key:k-newer-host", 2)
    assert len(smtp.to("ops@example.com")) == 1


def test_a_damaged_drawing_tells_the_customer_and_alerts_staff(app, db, client, smtp, drawing):
    from xometry_site.services.storage import get_storage

    smtp.start()
    [blob] = [p for p in get_storage(app).root.rglob("*") if p.name == drawing.blob_id]
    data = bytearray(blob.read_bytes())
    data[-40] ^= 0x01
    blob.write_bytes(bytes(data))
    response = client.get(f"/quotes/{drawing.quote.ref}/files/{drawing.id}?lang=en")
    assert response.status_code == 409
    assert "could not be read back intact" in response.get_data(as_text=True)
    [alert] = db.session.scalars(db.select(StaffAlert)).all()
    assert (alert.kind, alert.subject) == ("drawing_integrity", f"drawing:{drawing.id}")
    [mail] = smtp.to("ops@example.com")
    assert f"drawing:{drawing.id}" in mail.get_body(("plain",)).get_content()


def test_the_purge_deletes_old_sent_messages_and_keeps_waiting_ones(app, db, runner, smtp):
    queue_mail(app, db, "a@example.com")  # SMTP down: waits
    smtp.start()
    queue_mail(app, db, "b@example.com")  # sent at once
    db.session.execute(db.update(OutboxMessage).values(created_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert [(r.recipient, r.status) for r in rows(db)] == [("a@example.com", "pending")]
