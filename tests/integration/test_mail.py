"""The mail service: one message with text and HTML, in the recipient's language, never fatal;
written to the outbox in the caller's transaction and delivered only once that commits."""

from __future__ import annotations

from xometry_site.models import OutboxMessage
from xometry_site.services.mail import build_message, send_mail


def test_message_has_text_and_html_and_language(app):
    with app.test_request_context():
        msg = build_message("buyer@example.com", "password_changed", "zh_CN", user=None)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Content-Language"] == "zh-CN"
    kinds = [part.get_content_type() for part in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert all(part["Content-Language"] is None for part in msg.iter_parts())


def test_file_outbox_by_default(app, db, tmp_path):
    app.config.update(MAIL_BACKEND="file", MAIL_OUTBOX_DIR=str(tmp_path / "outbox"))
    with app.test_request_context():
        send_mail("buyer@example.com", "password_changed", "en", user=None)
        assert not (tmp_path / "outbox").exists()  # nothing leaves before the commit
        db.session.commit()
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    assert b"buyer@example.com" in files[0].read_bytes()
    assert not list((tmp_path / "outbox").glob("*.tmp"))


def test_smtp_failure_is_logged_not_raised(app, db, caplog):
    from conftest import free_port

    app.config.update(MAIL_BACKEND="smtp", SMTP_PORT=free_port())
    with app.test_request_context():
        send_mail("secret-address@example.com", "password_changed", "en", user=None)
        db.session.commit()
    assert "outbox.retry" in caplog.text and "ConnectionRefusedError" in caplog.text
    assert "secret-address@example.com" not in caplog.text


def test_a_rolled_back_event_sends_nothing(app, db, mailbox):
    with app.test_request_context():
        send_mail("buyer@example.com", "password_changed", "en", user=None)
        db.session.rollback()
        db.session.commit()
    assert mailbox == []
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
