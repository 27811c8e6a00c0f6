"""A dependency that hangs must not freeze the site: one production gunicorn instance (four
threads) reaches Redis, PostgreSQL and S3 through proxies the test pauses — connections are
accepted and nothing answers, as with a frozen server — while visitors keep asking.
"""

from __future__ import annotations

import concurrent.futures
import time
from types import SimpleNamespace

import pytest
import requests
from production_support import (
    Instance,
    TcpProxy,
    Visitor,
    create_user,
    fresh_database,
    migrate,
    production_env,
    redis_url,
    s3_endpoint,
)

pytestmark = pytest.mark.slow
__all__ = ["fresh_database", "redis_url", "s3_endpoint"]

EMAIL = "hung@example.com"
PUBLIC = ("/", "/policy", "/cookies")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fresh_database, redis_url, s3_endpoint, smtp_server):
    tmp = tmp_path_factory.mktemp("hung")
    controller, _handler = smtp_server
    pg, redis = TcpProxy(5432).start(), TcpProxy(6379).start()
    s3 = TcpProxy(int(s3_endpoint.rsplit(":", 1)[1])).start()
    env = production_env(
        tmp,
        fresh_database.replace("127.0.0.1:5432", f"127.0.0.1:{pg.port}"),
        redis_url.replace("127.0.0.1:6379", f"127.0.0.1:{redis.port}"),
        f"http://127.0.0.1:{s3.port}",
        controller.port,
        LOGIN_LIMIT="3 per minute",
        DB_CONNECT_TIMEOUT="2",
    )
    migrate(env, fresh_database)
    create_user(fresh_database, env["KEYRING"], EMAIL, tmp)
    web = Instance(env, tmp / "web.log").start()
    for path in PUBLIC:  # the worker keeps them (http_cache.py)
        Visitor().get(web.url, path)
    yield SimpleNamespace(web=web, pg=pg, redis=redis, s3=s3)
    web.stop()
    for proxy in (pg, redis, s3):
        proxy.resume()
        proxy.cut()


def _timed_get(url: str, path: str) -> tuple[int | str, float]:
    started = time.monotonic()
    try:
        status = Visitor().get(url, path, timeout=10).status_code
    except requests.RequestException as exc:
        status = type(exc).__name__
    return status, time.monotonic() - started


def _public_pages_and_health(url: str, rounds: int = 3) -> list[tuple[str, int | str, float]]:
    seen = []
    for _ in range(rounds):
        for path in (*PUBLIC, "/healthz"):
            status, took = _timed_get(url, path)
            seen.append((path, status, took))
    return seen


def _health(url: str) -> dict:
    return requests.get(url + "/healthz", timeout=10).json()


def test_hung_redis_keeps_pages_and_health_answering_and_sign_in_falls_back(stack):
    web = stack.web
    assert _health(web.url)["redis"] == "ok"
    stack.redis.pause()
    try:
        visitor = Visitor()
        sign_ins = []

        def sign_in_once() -> tuple[int, float]:
            token = visitor.csrf(web.url, "/login")
            started = time.monotonic()
            answer = visitor.post(
                web.url,
                "/login",
                data={"csrf_token": token, "email": EMAIL, "password": "wrong password 1"},
                timeout=30,
            )
            return answer.status_code, time.monotonic() - started

        # failed sign-ins (eight threads of them used to hold every worker thread for a minute)
        # alongside visitors reading the public pages and a monitor asking /healthz
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            pages = pool.submit(_public_pages_and_health, web.url)
            for _ in range(5):
                sign_ins.append(sign_in_once())
            seen = pages.result(timeout=60)
        health = _health(web.url)
    finally:
        stack.redis.resume()

    assert all(status == 200 and took < 1.0 for _p, status, took in seen), seen
    assert all(took < 1.5 for _s, took in sign_ins), sign_ins
    statuses = [status for status, _took in sign_ins]
    # counted in memory while Redis hangs: the limit still holds
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429], statuses
    assert health["redis"] == "timeout" and health["database"] == "ok"
    assert health["status"] == "ok"  # the site works without Redis: no load balancer pulls it
    time.sleep(1.5)
    assert _health(web.url)["redis"] == "ok"


def test_hung_database_keeps_public_pages_and_health_answering(stack):
    web = stack.web
    stack.pg.pause()
    try:
        seen = _public_pages_and_health(web.url)
        answer = requests.get(web.url + "/healthz", timeout=10)
    finally:
        stack.pg.resume()
    public = [(p, s, t) for p, s, t in seen if p != "/healthz"]
    assert all(status == 200 and took < 1.0 for _p, status, took in public), seen
    health = [(s, t) for p, s, t in seen if p == "/healthz"]
    assert all(status == 503 and took < 1.0 for status, took in health), health
    assert answer.json()["database"] == "timeout" and answer.json()["status"] == "error"
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and requests.get(web.url + "/healthz", timeout=10).status_code != 200
    ):
        time.sleep(0.2)
    assert _health(web.url)["database"] == "ok", "recovered without a restart"


def test_hung_storage_is_reported_within_the_budget_and_the_site_stays_up(stack):
    web = stack.web
    assert _health(web.url)["storage"] == "ok"
    stack.s3.pause()
    try:
        seen = _public_pages_and_health(web.url, rounds=2)
        health = _health(web.url)
    finally:
        stack.s3.resume()
    assert all(status == 200 and took < 1.0 for _p, status, took in seen), seen
    assert health["storage"] == "timeout" and health["status"] == "ok"
