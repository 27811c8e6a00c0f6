"""A copy of a user's data (policy 5.1, 5.2): a ZIP built by a job, stored encrypted, kept 7 days.

The archive holds `data.json` (schema in docs/export-schema.md, organised by the appendix's
categories, driven by the personal-information registry), every drawing decrypted under
`drawings/`, and `README.txt` in the user's language. It is streamed: zipfile writes into the
vault's EncryptedBlobWriter, drawings are copied chunk by chunk, so memory stays flat whatever the
number of drawings and no plaintext ever touches the disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ...extensions import db
from ...models import DataExport, PrivacyRequest, User
from ...models.base import utcnow
from .. import divisions
from ..jobs import enqueue, task
from ..keyring import get_keyring
from ..languages import in_language
from ..mail import external_url, send_mail
from ..storage import get_storage
from ..vault import EncryptedBlobWriter, open_decrypted
from . import audit_trail, pi_registry

log = logging.getLogger(__name__)
SCHEMA = "xometry-asia/personal-data-export"
SCHEMA_VERSION = 2  # 2: provinces, cities and districts as names, not codes
STALE_CLAIM = timedelta(hours=1)  # a job that crashed mid-build is retried after this
ZIP64_THRESHOLD = 1 << 31


def _app():
    return current_app._get_current_object()  # type: ignore[attr-defined]


def request_export(
    user: User,
    lang: str,
    *,
    actor: User | None = None,
    request: PrivacyRequest | None = None,
    recipient: str | None = None,
) -> DataExport:
    """Ask for a copy; a copy still being built for the same recipient is reused instead of
    starting a second one.

    Staff asking for a customer who contacted us pass themselves as `actor` and the `request`;
    a transfer (5.2) names the confirmed processor address as `recipient`, which gets the link.
    """
    busy = db.session.scalar(
        sa.select(DataExport)
        .where(
            DataExport.user_id == user.id,
            DataExport.status.in_(("pending", "building")),
            DataExport.recipient_email.is_(None)
            if recipient is None
            else DataExport.recipient_email == recipient,
        )
        .limit(1)
    )
    if busy is not None:
        enqueue(build_export_job, busy.id)  # a no-op unless its worker died (stale claim)
        return busy
    export = DataExport(
        user_id=user.id,
        language=lang if lang in ("zh_CN", "en") else "zh_CN",
        request_id=request.id if request is not None else None,
        recipient_email=recipient,
    )
    db.session.add(export)
    db.session.flush()
    audit_trail.record(
        "export.transfer_requested" if recipient else "export.requested",
        subject_id=user.id,
        actor_id=(actor or user).id,
        target=f"export:{export.id}",
    )
    db.session.commit()
    enqueue(build_export_job, export.id)
    return export


@task
def build_export_job(export_id: int) -> None:
    """Job: build one export (idempotent: a claimed or finished export is left alone)."""
    build_export(export_id)


def _claim(export_id: int, now: datetime) -> bool:
    """Atomically take the export for building; a stale claim (crashed worker) may be retaken."""
    claimed = db.session.execute(
        sa.update(DataExport)
        .where(
            DataExport.id == export_id,
            sa.or_(
                DataExport.status == "pending",
                sa.and_(DataExport.status == "building", DataExport.claimed_at < now - STALE_CLAIM),
            ),
        )
        .values(status="building", claimed_at=now)
    ).rowcount
    db.session.commit()
    return claimed == 1


def build_export(export_id: int) -> bool:
    """Write the archive encrypted into storage, then mark it ready and mail the owner."""
    now = utcnow()
    if not _claim(export_id, now):
        return False
    export = db.session.get(DataExport, export_id)
    user = db.session.get(User, export.user_id)
    app = _app()
    writer = EncryptedBlobWriter(get_storage(app), get_keyring(app))
    try:
        with writer:
            drawings = write_archive(writer, user, export.language, now)
            stored = writer.finish()
    except Exception:
        log.exception("export.failed export=%s", export_id)
        db.session.rollback()
        export = db.session.get(DataExport, export_id)
        export.status = "failed"
        db.session.commit()
        return False
    export.blob_id, export.kid, export.wrapped_dek = stored.blob_id, stored.kid, stored.wrapped_dek
    export.size, export.sha256, export.drawing_count = stored.size, stored.sha256, drawings
    export.status = "ready"
    export.ready_at = utcnow()
    export.expires_at = export.ready_at + timedelta(days=app.config["RETENTION_EXPORT_DAYS"])
    if export.is_transfer:
        _send_transfer_link(export, user)
    elif user.email:
        send_mail(
            user.email,
            "export_ready",
            export.language,
            user_name=user.name,
            expires_at=export.expires_at,
            download_url=external_url("privacy.export_download", public_id=export.public_id),
        )
    db.session.commit()
    return True


def _send_transfer_link(export: DataExport, user: User) -> None:
    """Mail the processor a link that works once until the copy expires; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    export.token_hash = transfer_token_hash(token)
    send_mail(
        export.recipient_email,
        "transfer_ready",
        export.language,
        expires_at=export.expires_at,
        download_url=external_url("privacy.transfer_download", token=token),
    )


def transfer_token_hash(token: str) -> str:
    """SHA-256 of a transfer link's secret: the database never holds a working link."""
    return hashlib.sha256(token.encode()).hexdigest()


class _ZipSink:
    """A write-only, non-seekable file for zipfile: bytes go straight into the encrypting writer."""

    def __init__(self, writer: EncryptedBlobWriter) -> None:
        self._writer = writer
        self._position = 0

    def write(self, data: bytes) -> int:
        self._writer.write(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing is buffered here."""


def write_archive(writer: EncryptedBlobWriter, user: User, lang: str, now: datetime) -> int:
    """Every drawing, then data.json (which says which files made it) and README.txt."""
    document, files = build_document(user, lang, now)
    copied = 0
    with zipfile.ZipFile(_ZipSink(writer), "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item, listed in zip(files, document["files"], strict=True):
            listed["included"] = _add_drawing(archive, item, now)
            copied += listed["included"]
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
        archive.writestr("README.txt", render_readme(user, lang, now, copied))
    return copied


def _add_drawing(archive: zipfile.ZipFile, item: dict[str, Any], now: datetime) -> bool:
    """Copy one decrypted drawing into the archive; False (and logged) if it cannot be read."""
    try:
        chunks = _drawing_chunks(item["_blob"])
    except Exception:  # missing blob or retired key: the copy says so instead of failing
        log.exception("export.drawing_unreadable record=%s", item["record"])
        return False
    info = zipfile.ZipInfo(item["path"], date_time=_zip_time(item["uploaded_at"] or now))
    info.compress_type = zipfile.ZIP_DEFLATED
    force = (item["size"] or 0) >= ZIP64_THRESHOLD
    with archive.open(info, "w", force_zip64=force) as target:
        for chunk in chunks:
            target.write(chunk)
    return True


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """ZIP timestamps cannot be earlier than 1980."""
    moment = max(moment, datetime(1980, 1, 1, tzinfo=moment.tzinfo))
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def _drawing_chunks(blob: tuple[str, str, bytes]) -> Iterator[bytes]:
    app = _app()
    blob_id, kid, wrapped = blob
    return open_decrypted(get_storage(app), get_keyring(app), blob_id, kid, wrapped)


def render_readme(user: User, lang: str, now: datetime, drawing_count: int) -> str:
    """README.txt in the user's language, saying what each part of the archive is."""
    template = current_app.jinja_env.get_template("privacy/export_readme.txt")
    with in_language(lang):  # a plain render: jobs have no request for context processors
        return template.render(
            generated_at=now, drawing_count=drawing_count, schema_version=SCHEMA_VERSION
        )


def build_document(user: User, lang: str, now: datetime) -> tuple[dict[str, Any], list[dict]]:
    """The data.json document and the list of drawing files to add, from the registry."""
    from ...policies import current_edition

    metadata = db.metadata
    categories: dict[str, dict[str, Any]] = {}
    files: list[dict[str, Any]] = []
    with in_language(lang):
        for category in pi_registry.CATEGORIES:
            categories[category.key] = {
                "title": str(category.title),
                "purpose": str(category.purpose),
                "method": str(category.method),
                "records": [],
            }
        for entry, table in pi_registry.live_entries(metadata):
            query = pi_registry.select_rows(entry, table, metadata, user.id, listed=False)
            for row in db.session.execute(query).mappings():
                for key, fields in _split_fields(entry, table, row, lang).items():
                    categories[key]["records"].append(
                        {
                            "table": entry.table,
                            "record": str(entry.title),
                            "id": row.get("id"),
                            "fields": fields,
                        }
                    )
                files.extend(_drawing_files(entry, row))
    listed = [{k: v for k, v in f.items() if not k.startswith("_")} for f in files]
    for item in listed:
        item["uploaded_at"] = _jsonable(item["uploaded_at"])
    document = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": _jsonable(now),
        "language": lang,
        "policy_edition": current_edition(current_app.config).id,
        "account_id": user.id,
        "categories": categories,
        "files": listed,
    }
    return document, files


def _split_fields(
    entry: pi_registry.Entry, table: sa.Table, row: sa.RowMapping, lang: str
) -> dict[str, dict[str, Any]]:
    """{category: {column: {label, value}}} — the users row spans several categories."""
    out: dict[str, dict[str, Any]] = {}
    for column in entry.columns(table):
        value = row[column.name]
        if column.show == pi_registry.SECRET:
            value = value is not None  # e.g. the password: only whether one is set
        elif column.show == pi_registry.REGION and value:
            value = divisions.name_of(value, lang) or value  # 上海市, not 310000
        key = column.category or entry.category
        out.setdefault(key, {})[column.name] = {
            "label": str(column.label),
            "value": _jsonable(value),
        }
    return out


def _drawing_files(entry: pi_registry.Entry, row: sa.RowMapping) -> list[dict[str, Any]]:
    """The readable original files a row points at (previews and viewer meshes are derived: left out)."""
    found = []
    for blob in entry.blobs:
        if blob.filename is None or row[blob.blob_id] is None or row[blob.wrapped_dek] is None:
            continue
        name = safe_filename(row[blob.filename])
        found.append(
            {
                "path": f"drawings/{row['id']}-{name}",
                "record": {"table": entry.table, "id": row["id"]},
                "filename": row[blob.filename],
                "size": row.get("size"),
                "sha256": row.get("sha256"),
                "uploaded_at": row.get("created_at"),
                "_blob": (row[blob.blob_id], row[blob.kid], row[blob.wrapped_dek]),
            }
        )
    return found


_UNSAFE = re.compile(r"[^\w.\-() \u3000-\u9fff]+")


def safe_filename(name: str | None) -> str:
    """A file name that cannot leave its folder in the archive: no slashes, dots or controls."""
    name = unicodedata.normalize("NFC", (name or "file").replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).strip(" .") or "file"
    return name[:120]


def _jsonable(value: Any) -> Any:
    """Values as JSON carries them: times in ISO 8601 UTC, money as text, no raw bytes."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


# --- download and purge --------------------------------------------------------------------------


def get_for_owner(user: User, public_id: str, now: datetime | None = None) -> DataExport | None:
    """The user's export if it is ready and not expired; None for anyone else's or an old one
    (and for a transfer: its link went to the processor)."""
    export = db.session.scalar(sa.select(DataExport).filter_by(public_id=public_id))
    now = now or utcnow()
    if export is None or export.user_id != user.id or export.status != "ready":
        return None
    if export.is_transfer:
        return None
    if export.expires_at is None or export.expires_at <= now:
        return None
    return export


def owned(user: User, public_id: str) -> DataExport | None:
    """The user's export in whatever state (to say whether it is still being built); None for
    anyone else's."""
    export = db.session.scalar(sa.select(DataExport).filter_by(public_id=public_id))
    return export if export is not None and export.user_id == user.id else None


def open_archive(export: DataExport) -> Iterator[bytes]:
    """The decrypted ZIP, chunk by chunk; the download is on the owner's audit trail."""
    audit_trail.record(
        "export.downloaded",
        subject_id=export.user_id,
        actor_id=export.user_id,
        target=f"export:{export.id}",
    )
    db.session.commit()
    app = _app()
    return open_decrypted(
        get_storage(app), get_keyring(app), export.blob_id, export.kid, export.wrapped_dek
    )


def transfer_for_token(token: str, now: datetime | None = None) -> DataExport | None:
    """The transfer a processor's link names, while it is ready, unexpired and not collected."""
    if not token or len(token) > 100:
        return None
    export = db.session.scalar(
        sa.select(DataExport).filter_by(token_hash=transfer_token_hash(token))
    )
    now = now or utcnow()
    if export is None or export.status != "ready" or export.collected_at is not None:
        return None
    if export.expires_at is None or export.expires_at <= now:
        return None
    return export


def collect_transfer(export: DataExport, now: datetime | None = None) -> Iterator[bytes] | None:
    """Spend the single-use link (one conditional update wins) and open the archive; None when
    it was collected meanwhile. The collection is on the owner's audit trail."""
    now = now or utcnow()
    claimed = db.session.execute(
        sa.update(DataExport)
        .where(DataExport.id == export.id, DataExport.collected_at.is_(None))
        .values(collected_at=now)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return None
    audit_trail.record(
        "export.transfer_collected", subject_id=export.user_id, target=f"export:{export.id}"
    )
    db.session.commit()
    app = _app()
    return open_decrypted(
        get_storage(app), get_keyring(app), export.blob_id, export.kid, export.wrapped_dek
    )


def list_for(user: User) -> list[DataExport]:
    """The user's copies, newest first, for "My data"."""
    return list(
        db.session.scalars(
            sa.select(DataExport)
            .where(DataExport.user_id == user.id)
            .order_by(DataExport.requested_at.desc(), DataExport.id.desc())
        )
    )
