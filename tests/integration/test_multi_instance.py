"""Two gunicorn instances in production mode share everything a visitor can notice.

PostgreSQL (a fresh database, migrated with `flask db upgrade`), Redis (sessions are cookies; rate
limits and the job queue live in Redis), S3 (moto) and SMTP (aiosmtpd), all on loopback. A visitor
signs in on one instance and carries on at the other; uploads on one and downloads from the other;
failed sign-ins are counted across both; a job enqueued by one is done by `flask worker --burst`.
"""

from __future__ import annotations

import re
import struct

import pytest
from production_support import (
    Instance,
    Visitor,
    create_user,
    fresh_database,
    migrate,
    production_env,
    redis_url,
    run_flask,
    s3_endpoint,
    s3_objects,
    wait_until,
)

pytestmark = pytest.mark.slow
__all__ = ["fresh_database", "redis_url", "s3_endpoint"]  # module fixtures used below

EMAIL = "multi@example.com"


def cube_stl(marker: bytes) -> bytes:
    """A binary STL of a 10 mm cube; `marker` in the header lets us look for plaintext."""
    corners = [(x, y, z) for x in (0, 10) for y in (0, 10) for z in (0, 10)]
    faces = [
        (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
        (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
    ]  # fmt: skip
    body = b"".join(
        struct.pack("<12fH", 0, 0, 0, *corners[a], *corners[b], *corners[c], 0) for a, b, c in faces
    )
    return marker.ljust(80, b" ")[:80] + struct.pack("<I", len(faces)) + body


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fresh_database, redis_url, s3_endpoint, smtp_server):
    """Migrate, create an account, start instances A and B (one worker, four threads each)."""
    tmp = tmp_path_factory.mktemp("multi")
    controller, handler = smtp_server
    env = production_env(
        tmp, fresh_database, redis_url, s3_endpoint, controller.port, LOGIN_LIMIT="4 per minute"
    )
    migrate(env, fresh_database)
    create_user(fresh_database, env["KEYRING"], EMAIL, tmp)
    a = Instance(env, tmp / "a.log").start()
    try:
        b = Instance(env, tmp / "b.log").start()
    except BaseException:
        a.stop()
        raise
    yield {"a": a, "b": b, "env": env, "mail": handler, "s3": s3_endpoint, "redis": redis_url}
    a.stop()
    b.stop()


def test_instances_run_in_production_mode(stack):
    visitor = Visitor()
    page = visitor.get(stack["a"].url, "/?lang=en")
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert [c.name for c in visitor.http.cookies] == ["lang"]  # a public page starts no session
    login = visitor.get(stack["b"].url, "/login")
    assert "__wechat__" not in login.text
    assert any(c.name == "__Host-session" and c.secure for c in visitor.http.cookies)


def test_signed_in_on_one_instance_continues_on_the_other(stack):
    a, b = stack["a"].url, stack["b"].url
    visitor = Visitor()
    signed_in = visitor.sign_in(a, EMAIL)
    assert signed_in.status_code == 302, signed_in.text[:500]
    overview = visitor.get(b, "/account")
    assert overview.status_code == 200
    assert "多实例测试" in overview.text or EMAIL in overview.text
    token = visitor.csrf(b, "/account")
    assert visitor.post(b, "/logout", data={"csrf_token": token}).status_code == 302
    after = visitor.get(a, "/account")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_upload_on_one_instance_download_from_the_other(stack):
    a, b = stack["a"].url, stack["b"].url
    visitor = Visitor()
    assert visitor.sign_in(a, EMAIL).status_code == 302
    marker = b"MULTI-INSTANCE-PLAINTEXT-MARKER"
    drawing = cube_stl(marker)
    token = visitor.csrf(a, "/quotes/new")
    fields = {
        "csrf_token": token,
        "process": "cnc_machining",
        "material": "al6061",
        "quantity": "2",
        "notes": "",
    }
    sent = visitor.post(
        a,
        "/quotes/new",
        data=fields,
        files={"files": ("bracket.stl", drawing, "application/octet-stream")},
    )
    assert sent.status_code == 303, sent.text[:1000]
    detail_path = sent.headers["Location"]
    detail = visitor.get(b, detail_path)
    assert detail.status_code == 200
    link = re.search(r'href="(/quotes/[^"]+/files/\d+)"', detail.text)
    assert link, "the detail page links the drawing"
    download = visitor.get(b, link.group(1))
    assert download.status_code == 200
    assert download.content == drawing
    assert download.headers["Content-Type"] == "application/octet-stream"
    stored = s3_objects(stack["s3"])
    assert stored, "the drawing went to object storage"
    assert all(marker not in body for body in stored.values()), "only ciphertext is stored"


def test_failed_sign_ins_are_counted_across_instances(stack):
    a, b = stack["a"].url, stack["b"].url
    visitor = Visitor()  # one client address; LOGIN_LIMIT is 4 per minute in this stack
    answers = []
    for attempt in range(6):
        base = a if attempt % 2 == 0 else b
        token = visitor.csrf(base, "/login")
        answer = visitor.post(
            base,
            "/login",
            data={"csrf_token": token, "email": "nobody@example.com", "password": "wrong-pass"},
        )
        answers.append(answer.status_code)
    assert answers[:4] == [200, 200, 200, 200], answers  # the form again, with an error
    assert answers[4:] == [429, 429], answers


def test_a_job_enqueued_by_one_instance_is_done_by_the_worker(stack):
    from redis import Redis
    from rq import Queue

    visitor = Visitor()
    token = visitor.csrf(stack["b"].url, "/password/forgot")
    mailbox = stack["mail"].messages
    mailbox.clear()
    asked = visitor.post(
        stack["b"].url, "/password/forgot", data={"csrf_token": token, "email": EMAIL}
    )
    assert asked.status_code in (200, 302, 303)
    queue = Queue("mail", connection=Redis.from_url(stack["redis"]))
    assert queue.count == 1, "the reset mail waits in Redis for a worker"
    assert not mailbox, "nothing is sent by the web instance itself"
    done = run_flask(stack["env"], "worker", "--burst")
    assert wait_until(lambda: any(m["X-Envelope-To"] == EMAIL for m in mailbox), timeout=10)
    assert queue.count == 0
    assert EMAIL not in done.stderr + done.stdout, "the worker does not log job arguments"


def test_schedulers_on_both_hosts_enqueue_each_periodic_job_once(stack):
    import subprocess

    from production_support import FLASK, ROOT
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from xometry_site.services.periodic import SCHEDULE

    runs = [
        subprocess.Popen(
            [FLASK, "scheduler", "--once"],
            env=stack["env"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _host in ("a", "b")
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    enqueued = " ".join(out for out, _err in outputs if out.strip() != "nothing due").split()
    assert sorted(enqueued) == sorted(job.name for job in SCHEDULE), outputs
    connection = Redis.from_url(stack["redis"])
    assert Queue("default", connection=connection).count == len(SCHEDULE)
    run_flask(stack["env"], "scheduler", "--once")  # within the period: nothing more
    assert Queue("default", connection=connection).count == len(SCHEDULE)
    run_flask(stack["env"], "worker", "--burst")
    assert FailedJobRegistry("default", connection=connection).count == 0
