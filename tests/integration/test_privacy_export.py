"""A copy of my data (policy 5.1, 5.2): a ZIP built by a job, encrypted at rest, owner-only, 7 days."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta

from conftest import sign_in
from privacy_support import (
    ANSWER,
    DRAWING,
    ID_NUMBER,
    add_drawing,
    fill_everything,
    messages_to,
    storage,
    text_of,
)

from xometry_site.extensions import db
from xometry_site.models import AuditEvent, DataExport
from xometry_site.services.privacy import export as exports
from xometry_site.services.privacy import retention


def _export_for(client, user) -> DataExport:
    response = client.post("/privacy/export", data={})
    assert response.status_code == 302
    db.session.expire_all()
    return db.session.scalar(db.select(DataExport).filter_by(user_id=user.id))


def _download(client, export: DataExport) -> zipfile.ZipFile:
    response = client.get(f"/privacy/export/{export.public_id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_export_is_built_mailed_and_downloadable_by_its_owner(client, user, login_as, mailbox):
    fill_everything(user)
    second = add_drawing(user, b"second drawing \x00\x01", filename="../../etc/passwd")
    login_as(user)
    export = _export_for(client, user)
    assert export.status == "ready" and export.drawing_count == 2
    assert export.expires_at - export.ready_at == timedelta(days=7)
    mail = messages_to(mailbox, user.email)
    assert len(mail) == 1 and f"/privacy/export/{export.public_id}" in text_of(mail[0])

    archive = _download(client, export)
    names = archive.namelist()
    assert {"data.json", "README.txt"} <= set(names)
    assert all(not name.startswith("/") and ".." not in name for name in names)
    data = json.loads(archive.read("data.json"))
    assert data["schema"] == "xometry-asia/personal-data-export" and data["schema_version"] == 2
    assert list(data["categories"]) == [
        "registration",
        "quotes",
        "account",
        "shipping",
        "invoice",
        "running",
    ]
    registration = data["categories"]["registration"]["records"]
    account = next(r for r in registration if r["table"] == "users")
    assert account["fields"]["email"]["value"] == user.email
    running_account = next(
        r for r in data["categories"]["running"]["records"] if r["table"] == "users"
    )
    assert running_account["fields"]["password_hash"]["value"] is True  # only "a password is set"
    assert user.password_hash not in archive.read("data.json").decode("utf-8")
    invoice = data["categories"]["invoice"]["records"][0]["fields"]
    assert invoice["tax_number"]["value"] == ID_NUMBER  # the owner gets the full value
    shipping = data["categories"]["shipping"]["records"][0]["fields"]
    assert shipping["recipient"]["value"] == "李四收货"
    quotes = data["categories"]["quotes"]["records"]
    answers = [r["fields"]["body"]["value"] for r in quotes if r["table"] == "quote_messages"]
    assert answers == ["Which thread?", ANSWER]  # our question, and the customer's answer
    # regions by name in the copy's language, never by code
    assert [shipping[k]["value"] for k in ("province", "city", "district")] == [
        "上海市",
        "上海市",
        "虹口区",
    ]
    assert "310109" not in archive.read("data.json").decode("utf-8")
    assert invoice["district"]["value"] is None  # saved before districts were asked
    running = {r["table"] for r in data["categories"]["running"]["records"]}
    assert {"consents", "sign_in_events"} <= running
    # the drawings, decrypted, exactly as uploaded
    files = {f["filename"]: f for f in data["files"]}
    assert archive.read(files["支架-bracket.step"]["path"]) == DRAWING
    assert archive.read(files["../../etc/passwd"]["path"]) == b"second drawing \x00\x01"
    assert all(f["included"] for f in data["files"])
    assert second.sha256 == files["../../etc/passwd"]["sha256"]
    # README in the user's language (Chinese by default)
    readme = archive.read("README.txt").decode("utf-8")
    assert "data.json" in readme and "drawings/" in readme
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="export.downloaded"))


def test_readme_speaks_english_when_the_page_does(client, user, login_as):
    login_as(user)
    client.get("/privacy?lang=en")
    export = _export_for(client, user)
    readme = _download(client, export).read("README.txt").decode("utf-8")
    assert "What is in this archive" in readme


def test_the_archive_is_stored_encrypted(client, user, login_as, app):
    fill_everything(user)
    login_as(user)
    export = _export_for(client, user)
    reader = storage().reader(export.blob_id)
    raw = reader.read()
    reader.close()
    assert raw.startswith(b"XMEB")  # the vault's encrypted format, not a ZIP
    assert b"PK\x03\x04" not in raw[:64]
    assert user.email.encode() not in raw and DRAWING[:40] not in raw
    # and no plaintext copy anywhere under the instance folder
    for folder, _dirs, names in os.walk(app.instance_path):
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                content = handle.read()
            assert b"personal-data-export" not in content, name
            assert DRAWING[:40] not in content, name


def test_someone_elses_export_is_a_404(app, client, make_user, login_as):
    owner, other = make_user(), make_user()
    login_as(owner)
    export = _export_for(client, owner)
    intruder = app.test_client()
    sign_in(intruder, other)
    assert intruder.get(f"/privacy/export/{export.public_id}").status_code == 404
    assert app.test_client().get(f"/privacy/export/{export.public_id}").status_code == 302
    assert client.get("/privacy/export/not-an-id").status_code == 404


def test_after_seven_days_the_copy_is_gone(client, user, login_as, runner):
    login_as(user)
    export = _export_for(client, user)
    blob = export.blob_id
    export.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/privacy/export/{export.public_id}").status_code == 404
    result = runner.invoke(args=["privacy", "purge"])
    assert "expired copies deleted: 1" in result.output
    assert db.session.scalar(db.select(DataExport)) is None
    assert not storage().exists(blob)


def test_a_second_request_while_building_reuses_the_first(user, app):
    pending = DataExport(user_id=user.id, status="pending")
    db.session.add(pending)
    db.session.commit()
    assert exports.request_export(user, "en").id == pending.id


def test_building_twice_is_harmless(client, user, login_as):
    login_as(user)
    export = _export_for(client, user)
    assert exports.build_export(export.id) is False  # already built: the job is idempotent
    assert db.session.scalar(db.select(db.func.count(DataExport.id))) == 1


def _peak_memory_of_export(user, drawings: int, size: int) -> int:
    for index in range(drawings):
        add_drawing(user, os.urandom(size), filename=f"big-{index}.step")
    export = DataExport(user_id=user.id, language="en")
    db.session.add(export)
    db.session.commit()
    tracemalloc.start()
    try:
        assert exports.build_export(export.id)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_large_the_drawings(make_user, app):
    """Memory is about a few encryption segments, whether the drawings total 1 MiB or 18 MiB."""
    mib = 1024 * 1024
    small = _peak_memory_of_export(make_user(), drawings=1, size=mib)
    large = _peak_memory_of_export(make_user(), drawings=3, size=6 * mib)
    assert large < small * 1.5
    assert large < 18 * mib / 2  # far less than the drawings it copied


def test_purge_keeps_copies_that_are_still_valid(client, user, login_as):
    login_as(user)
    _export_for(client, user)
    assert retention.delete_expired_exports(datetime.now(UTC)) == 0
