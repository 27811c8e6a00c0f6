"""Faults a production instance meets, on the real services: each fails cleanly and recovers.

One gunicorn instance in production mode reaches PostgreSQL and Redis through TCP proxies that the
test can cut (the service "goes down" for this app only, without disturbing anyone else's use of
the shared servers); S3 is moto, SMTP is aiosmtpd.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from production_support import (
    BUCKET,
    FLASK,
    ROOT,
    SITE_HOST,
    Instance,
    TcpProxy,
    Visitor,
    _psycopg_url,
    admin_engine,
    create_user,
    files_containing,
    fresh_database,
    migrate,
    production_env,
    redis_url,
    s3_client,
    s3_endpoint,
    wait_until,
)

pytestmark = pytest.mark.slow
__all__ = ["fresh_database", "redis_url", "s3_endpoint"]

EMAIL = "faults@example.com"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def faults(tmp_path_factory, fresh_database, redis_url, s3_endpoint, smtp_server):
    tmp = tmp_path_factory.mktemp("faults")
    controller, handler = smtp_server
    pg = TcpProxy(5432).start()
    redis = TcpProxy(6379).start()
    proxied_db = fresh_database.replace("127.0.0.1:5432", f"127.0.0.1:{pg.port}")
    proxied_redis = redis_url.replace("127.0.0.1:6379", f"127.0.0.1:{redis.port}")
    scratch = tmp / "gunicorn-tmp"
    scratch.mkdir()
    env = production_env(
        tmp,
        proxied_db,
        proxied_redis,
        s3_endpoint,
        controller.port,
        LOGIN_LIMIT="3 per minute",
        TMPDIR=str(scratch),
        DB_POOL_TIMEOUT="3",
    )
    migrate(env, fresh_database)
    user_id = create_user(fresh_database, env["KEYRING"], EMAIL, tmp)
    web = Instance(env, tmp / "web.log").start()
    yield SimpleNamespace(
        web=web,
        env=env,
        pg=pg,
        redis=redis,
        database=fresh_database,
        redis_url=redis_url,
        s3=s3_endpoint,
        mail=handler,
        tmp=tmp,
        scratch=scratch,
        user_id=user_id,
    )
    web.stop()
    pg.cut()
    redis.cut()


def _signed_in(faults) -> Visitor:
    visitor = Visitor()
    assert visitor.sign_in(faults.web.url, EMAIL).status_code == 302
    return visitor


# --- PostgreSQL ----------------------------------------------------------------------------------


def test_database_outage_fails_fast_with_our_page_and_recovers_without_restart(faults):
    web = faults.web
    visitors = [_signed_in(faults) for _ in range(3)]
    workers = web.worker_pids()
    log_start = len(web.log())
    phase, results, stop = ["up"], [], threading.Event()

    def browse(visitor: Visitor) -> None:
        while not stop.is_set():
            try:
                answer = visitor.get(web.url, "/account", timeout=20)
                results.append((phase[0], answer.status_code, answer.text))
            except requests.RequestException as exc:  # a hang shows up here as a timeout
                results.append((phase[0], type(exc).__name__, ""))

    threads = [threading.Thread(target=browse, args=(v,)) for v in visitors]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(results) >= 6)
    phase[0] = "down"
    faults.pg.cut()
    health = requests.get(web.url + "/healthz", timeout=20)
    wait_until(lambda: sum(1 for r in results if r[0] == "down") >= 6)
    phase[0] = "restored"
    faults.pg.restore()
    recovered = wait_until(lambda: [r[1] for r in results if r[0] == "restored"][-5:] == [200] * 5)
    stop.set()
    for thread in threads:
        thread.join(30)

    assert health.status_code == 503 and health.json()["database"] == "unreachable"
    failures = [r for r in results if r[1] != 200]
    assert all(r[1] == 503 for r in failures), {str(r[1]) for r in failures}
    assert any(r[0] == "down" for r in failures), "the outage was seen"
    for _phase, _status, text in failures:
        assert "Temporarily unavailable" in text, text[:300]  # our page, in English as asked
    assert recovered, [r[1] for r in results if r[0] == "restored"]
    assert web.worker_pids() == workers, "no worker had to restart"
    # one line per failed request with its request id; tracebacks once per error, not per request
    lines = [json.loads(line) for line in web.log()[log_start:].splitlines() if line[:1] == "{"]
    unavailable = [line for line in lines if line["message"].startswith("error.unavailable")]
    assert len(unavailable) == len(failures)
    assert all(len(line["request_id"]) >= 16 for line in unavailable)
    tracebacks = [line for line in lines if "exc_info" in line]
    assert len(tracebacks) <= 3, [line["message"] for line in tracebacks]
    problems = [line for line in lines if line["level"] in ("ERROR", "CRITICAL", "WARNING")]
    assert len(problems) <= len(failures) + 5, [line["message"] for line in problems][:20]


def test_killed_database_connections_are_replaced_by_the_pool(faults):
    visitor = _signed_in(faults)
    for _ in range(4):
        assert visitor.get(faults.web.url, "/account").status_code == 200
    name = faults.database.rsplit("/", 1)[1]
    engine = admin_engine()
    with engine.connect() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar_one()
    engine.dispose()
    assert killed >= 1
    statuses = [visitor.get(faults.web.url, "/account").status_code for _ in range(8)]
    assert statuses == [200] * 8  # pool_pre_ping noticed the dead connections


# --- Redis ---------------------------------------------------------------------------------------


def test_redis_outage_keeps_pages_limits_and_mail(faults):
    mailbox = faults.mail.messages
    mailbox.clear()
    visitor = Visitor()
    faults.redis.cut()
    try:
        assert visitor.get(faults.web.url, "/").status_code == 200
        token = visitor.csrf(faults.web.url, "/password/forgot")
        asked = visitor.post(
            faults.web.url, "/password/forgot", data={"csrf_token": token, "email": EMAIL}
        )
        assert asked.status_code in (200, 302, 303)
        # no queue: the mail job ran inline, so nothing is lost while Redis is away
        assert wait_until(lambda: any(m["X-Envelope-To"] == EMAIL for m in mailbox), timeout=15)
        answers = []
        for _ in range(5):
            token = visitor.csrf(faults.web.url, "/login")
            answers.append(
                visitor.post(
                    faults.web.url,
                    "/login",
                    data={"csrf_token": token, "email": "x@example.com", "password": "wrong-1"},
                ).status_code
            )
        assert answers[:3] == [200, 200, 200] and set(answers[3:]) == {429}, answers
    finally:
        faults.redis.restore()


# --- a worker killed mid-upload ------------------------------------------------------------------


def _incomplete_uploads(endpoint: str) -> list:
    return s3_client(endpoint).list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def _committed_objects(endpoint: str) -> set[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"] for o in listing}


def test_worker_killed_mid_upload_leaves_no_row_no_blob_no_plaintext(faults):
    web = faults.web
    visitor = _signed_in(faults)
    token = visitor.csrf(web.url, "/quotes/new")
    objects_before = _committed_objects(faults.s3)
    marker = b"SIGKILL-PLAINTEXT-" + secrets.token_hex(8).encode()
    boundary = "----xometry" + secrets.token_hex(8)
    fields = {"csrf_token": token, "process": "cnc_machining", "material": "al6061"}
    fields |= {"quantity": "1", "notes": ""}
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.stl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    chunk = (b"solid big\n" + marker + b"\n").ljust(64 * 1024, b" ")
    declared = len(head) + 40 * MIB  # more than will ever be sent
    cookie = visitor.headers()["Cookie"]
    request = (
        f"POST /quotes/new HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\nCookie: {cookie}\r\n"
        f"X-Forwarded-Proto: https\r\nX-Forwarded-For: {visitor.client_ip}\r\n"
        f"X-Forwarded-Host: {SITE_HOST}\r\nReferer: https://{SITE_HOST}/quotes/new\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {declared}\r\n\r\n{head}"
    ).encode()
    workers = web.worker_pids()
    with socket.create_connection(("127.0.0.1", web.port), timeout=30) as conn:
        conn.sendall(request)
        for _ in range(12 * MIB // len(chunk)):  # more than one 8 MiB part: storage is writing
            conn.sendall(chunk)
        assert wait_until(lambda: _incomplete_uploads(faults.s3), timeout=30), "mid-upload"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: set(web.worker_pids()) - set(workers), timeout=30)
    assert wait_until(lambda: requests.get(web.url + "/healthz", timeout=5).status_code == 200)

    engine = sa.create_engine(_psycopg_url(faults.database))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT (SELECT count(*) FROM quotes), (SELECT count(*) FROM drawings)")
        ).one()
    engine.dispose()
    assert tuple(rows) == (0, 0), "no quote and no drawing row"
    assert _committed_objects(faults.s3) == objects_before, "no blob became visible"
    for place in (faults.tmp / "instance", faults.scratch):
        assert files_containing(place, marker) == [], "no plaintext on disk"
    # what the killed upload left in storage is an unfinished multipart upload: the sweeper's job
    from xometry_site.services.s3_storage import S3Storage

    storage = S3Storage(
        BUCKET,
        endpoint_url=faults.s3,
        region="us-east-1",
        access_key="test-access-key",
        secret_key="test-secret-key",
    )
    assert storage.purge_incomplete(timedelta(0)) >= 1
    assert _incomplete_uploads(faults.s3) == []


# --- the same job twice ----------------------------------------------------------------------------


def _job_app(faults):
    """The app in this process, on the same database, storage, key ring and Redis."""
    from xometry_site import create_app

    env = faults.env
    return create_app(
        {
            "INSTANCE_PATH": str(faults.tmp / "jobs-app"),
            "SQLALCHEMY_DATABASE_URI": faults.database,
            "KEYRING": env["KEYRING"],
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": faults.s3,
            "S3_BUCKET": BUCKET,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "test-access-key",
            "S3_SECRET_ACCESS_KEY": "test-secret-key",
            "REDIS_URL": faults.redis_url,
        }
    )


def _seed_jobs(app) -> dict:
    """A pending export, an account due for erasure, a quote with an STL to analyse."""
    from test_multi_instance import cube_stl

    from xometry_site.extensions import db
    from xometry_site.models import DataExport, Quote, User
    from xometry_site.models.base import utcnow
    from xometry_site.services.keyring import get_keyring
    from xometry_site.services.quotes.drawing_files import stored_drawing
    from xometry_site.services.storage import get_storage
    from xometry_site.services.vault import store_encrypted

    now = utcnow()
    people = {}
    for key in ("exporter", "leaver", "buyer"):
        user = User(
            email=f"{key}@example.com",
            name=key,
            phone=f"+86139{secrets.randbelow(10**8):08d}",
            customer_type="company",
            email_verified_at=now,
        )
        db.session.add(user)
        people[key] = user
    people["leaver"].deregistered_at = now - timedelta(days=10)
    people["leaver"].erase_after = now - timedelta(days=1)
    db.session.flush()
    export = DataExport(user_id=people["exporter"].id, language="en")
    quote = Quote(user_id=people["buyer"].id, process="cnc_machining", material="al6061")
    quote.quantity = 2
    db.session.add_all([export, quote])
    db.session.flush()
    stl = cube_stl(b"idempotent")
    stored = store_encrypted(get_storage(app), get_keyring(app), [stl])
    db.session.add(
        stored_drawing(
            stored,
            quote_id=quote.id,
            user_id=people["buyer"].id,
            filename="cube.stl",
            extension="stl",
        )
    )
    db.session.commit()
    return {
        "export_id": export.id,
        "leaver_id": people["leaver"].id,
        "quote_id": quote.id,
        "emails": {k: u.email for k, u in people.items()},
    }


@pytest.fixture(scope="module")
def delivered_twice(faults):
    """Every job enqueued twice, run by two `flask worker --burst` processes at the same time."""
    from redis import Redis
    from rq import Queue

    app = _job_app(faults)
    mailbox = faults.mail.messages
    mailbox.clear()
    with app.app_context():
        seeded = _seed_jobs(app)
    connection = Redis.from_url(faults.redis_url)
    queues = {name: Queue(name, connection=connection) for name in ("default", "analysis")}
    jobs = [
        ("default", "xometry_site.services.privacy.export.build_export_job", seeded["export_id"]),
        ("default", "xometry_site.services.privacy.erasure.erase_account_job", seeded["leaver_id"]),
        ("analysis", "xometry_site.services.quotes.creation.analyse_quote", seeded["quote_id"]),
        ("default", "xometry_site.services.periodic.retention_purge_job", None),
    ]
    for queue, func, arg in jobs + jobs:
        queues[queue].enqueue(func, *([arg] if arg is not None else []))
    env = {**faults.env, "DATABASE_URL": faults.database, "REDIS_URL": faults.redis_url}
    workers = [
        subprocess.Popen(
            [FLASK, "worker", "--burst"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=120)[0].decode(errors="replace") for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    yield SimpleNamespace(
        app=app,
        seeded=seeded,
        connection=connection,
        outputs=outputs,
        sent_to=[m["X-Envelope-To"] for m in mailbox],
    )
    with app.app_context():
        from xometry_site.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_no_job_failed_when_delivered_twice(delivered_twice):
    from rq.registry import FailedJobRegistry

    for name in ("default", "analysis", "mail"):
        registry = FailedJobRegistry(name, connection=delivered_twice.connection)
        assert registry.count == 0, delivered_twice.outputs


def test_export_job_twice_builds_one_copy_and_mails_once(delivered_twice):
    from xometry_site.extensions import db
    from xometry_site.models import DataExport
    from xometry_site.services.storage import get_storage

    seeded = delivered_twice.seeded
    assert delivered_twice.sent_to.count(seeded["emails"]["exporter"]) == 1
    with delivered_twice.app.app_context():
        export = db.session.get(DataExport, seeded["export_id"])
        assert export.status == "ready" and export.blob_id
        assert get_storage(delivered_twice.app).exists(export.blob_id)
        db.session.remove()


def test_erasure_job_twice_erases_once_and_mails_once(delivered_twice):
    from xometry_site.extensions import db
    from xometry_site.models import User

    seeded = delivered_twice.seeded
    assert delivered_twice.sent_to.count(seeded["emails"]["leaver"]) == 1
    with delivered_twice.app.app_context():
        assert db.session.get(User, seeded["leaver_id"]).erased_at is not None
        db.session.remove()


def test_analysis_job_twice_records_each_step_once_and_orphans_nothing(delivered_twice):
    from xometry_site.extensions import db
    from xometry_site.models import QuoteEvent
    from xometry_site.services.blob_sweep import known_blob_ids
    from xometry_site.services.storage import get_storage

    seeded = delivered_twice.seeded
    with delivered_twice.app.app_context():
        events = db.session.scalars(
            sa.select(QuoteEvent.status).where(QuoteEvent.quote_id == seeded["quote_id"])
        ).all()
        stored = {info.blob_id for info in get_storage(delivered_twice.app).iter_blobs()}
        orphans = stored - known_blob_ids()
        db.session.remove()
    assert events, "the quote was analysed"
    assert len(events) == len(set(events)), events
    assert orphans == set(), "a second run left a blob no row refers to"
