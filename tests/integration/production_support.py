"""The production stack on loopback, for the multi-instance and fault tests.

A fresh PostgreSQL database, a Redis database number that is flushed, moto's S3 server, an aiosmtpd
server, and gunicorn instances started with APP_ENV=production — the same checks as a real
deployment (real SECRET_KEY and key ring, no simulator, no file outbox). Loopback HTTP reaches them
as if through our proxy: PROXY_FIX=1 and `X-Forwarded-Proto: https`, so the `__Host-` Secure
cookies are set, and a cookie policy that sends them back over loopback HTTP.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.cookiejar
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from conftest import PASSWORD, cannot_run, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
FLASK = str(Path(sys.executable).with_name("flask"))
PG_ADMIN_URL = os.environ.get("PRODUCTION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
BUCKET = "xometry-prod-test"
SITE_HOST = "www.xometry.test"
SMS_SINK = '''
import json, os
class Sink:
    """Test SMS provider: appends each text to $SMS_SINK_FILE."""
    def __init__(self, config):
        self.path = os.environ["SMS_SINK_FILE"]
    def send(self, phone, text):
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"to": phone, "text": text}) + "\\n")
'''


# --- services ------------------------------------------------------------------------------------


def _psycopg_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def admin_engine():
    from sqlalchemy import create_engine

    return create_engine(_psycopg_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


def require_postgres_and_redis() -> None:
    """Skip on a laptop without them, fail in CI."""
    from sqlalchemy import text

    try:
        engine = admin_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        cannot_run(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc.__class__.__name__}")
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1):
            pass
    except OSError:
        cannot_run(f"Redis at {REDIS_HOST}:{REDIS_PORT} is unreachable")


@pytest.fixture(scope="module")
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database for this module, dropped afterwards (URL in libpq form)."""
    from sqlalchemy import text

    require_postgres_and_redis()
    name = "xprod_" + secrets.token_hex(4)
    engine = admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def redis_db_number() -> int:
    """Databases 8-15, one per xdist worker, so parallel runs do not flush each other."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 15 - (int(re.sub(r"\D", "", worker) or 0) % 8)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    from redis import Redis

    require_postgres_and_redis()
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db_number()}"
    client = Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a thread on loopback, with the bucket created and empty.

    moto keeps its buckets in process-wide memory, so a module that ran earlier in the same
    process (test_multi_instance before test_faults, as xdist may order them) would leave its
    objects in "our" bucket: they are removed first."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    yield endpoint
    server.stop()


def s3_client(endpoint: str):
    """A boto3 client for moto's server with the test credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-access-key",
        aws_secret_access_key="test-secret-key",
    )


def s3_objects(endpoint: str) -> dict[str, bytes]:
    """Every object in the test bucket, by key."""
    client = s3_client(endpoint)
    listing = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing
    }


def real_keyring() -> str:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return json.dumps({"primary": "k1", "keys": {"k1": key}})


@functools.cache
def wechatpay_production_settings() -> dict[str, str]:
    """A WeChat Pay merchant's settings as a deployment has them (keys made once per run; the
    real gateway is never called by these tests)."""
    from xometry_site.devtools.wechatpay_keys import TestKeys, public_key_pem

    keys = TestKeys.generate(mchid="1230000109")
    return {
        "WECHATPAY_MCHID": keys.mchid,
        "WECHATPAY_APPID": "wx0123456789abcdef",
        "WECHATPAY_MERCHANT_SERIAL": keys.merchant_serial,
        "WECHATPAY_PRIVATE_KEY": keys.merchant_private_key,
        "WECHATPAY_APIV3_KEY": keys.apiv3_key,
        "WECHATPAY_PUBLIC_KEY": public_key_pem(keys.platform_private_key),
        "WECHATPAY_PUBLIC_KEY_ID": keys.platform_key_id,
    }


def wechatpay_env(tmp_path: Path) -> dict[str, str]:
    """The same as environment variables, the keys as mounted secret files (*_PATH)."""
    settings = dict(wechatpay_production_settings())
    for name in ("WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY"):
        path = tmp_path / f"{name.lower()}.pem"
        path.write_text(settings.pop(name))
        settings[f"{name}_PATH"] = str(path)
    return settings


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused at once)."""
    return free_port()


def production_env(
    tmp_path: Path, database_url: str, redis_url: str, s3_endpoint: str, smtp_port: int, **extra
) -> dict[str, str]:
    """What a deployment sets, pointed at the loopback services; WeChat at a closed port."""
    sink_dir = tmp_path / "sms_provider"
    sink_dir.mkdir(exist_ok=True)
    (sink_dir / "test_sms_sink.py").write_text(SMS_SINK)
    wechat = f"http://127.0.0.1:{closed_port()}"
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "CI")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        APP_ENV="production",
        PYTHONPATH=str(sink_dir),
        INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        DB_POOL_SIZE="4",
        DB_MAX_OVERFLOW="2",
        DB_CONNECT_TIMEOUT="3",
        REDIS_URL=redis_url,
        KEYRING=real_keyring(),
        STORAGE_BACKEND="s3",
        S3_ENDPOINT_URL=s3_endpoint,
        S3_BUCKET=BUCKET,
        S3_REGION="us-east-1",
        STORAGE_LOCATION_CHECK="off",  # moto on loopback stands in for storage in China
        S3_ACCESS_KEY_ID="test-access-key",
        S3_SECRET_ACCESS_KEY="test-secret-key",
        MAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TIMEOUT="5",
        SMS_BACKEND="test_sms_sink:Sink",
        SMS_SINK_FILE=str(tmp_path / "sms.jsonl"),
        WECHAT_APP_ID="wx-prod-test-app",
        WECHAT_APP_SECRET=secrets.token_hex(16),
        WECHAT_OPEN_BASE_URL=wechat,
        WECHAT_API_BASE_URL=wechat,
        WECHAT_TIMEOUT="2",
        SITE_URL=f"https://{SITE_HOST}",
        ICP_LICENSE="沪ICP备12345678号-1",
        BANK_ACCOUNT_NAME="上海测试制造有限公司",
        BANK_NAME="中国工商银行上海分行",
        BANK_ACCOUNT_NUMBER="1001 2345 6789 0123 456",
        POLICY_EFFECTIVE_DATE="2024-07-01",
        PROXY_FIX="1",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="30",
        GUNICORN_GRACEFUL_TIMEOUT="3",
        FLASK_APP="app",
        **wechatpay_env(tmp_path),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_flask(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [FLASK, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


# --- gunicorn ------------------------------------------------------------------------------------


@dataclass
class Instance:
    """One gunicorn instance (master + workers) of the production app."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Instance:
        env = {**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [GUNICORN, "-c", "gunicorn.conf.py"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_for(self._ready, timeout=40, interval=0.2):
            self.stop()
            raise AssertionError(f"gunicorn did not start:\n{self.log()[-3000:]}")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{self.log()[-3000:]}")
        try:
            return requests.get(self.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        """The master's children (gunicorn workers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if getattr(self, "_log", None):
            self._log.close()


# --- a browser over loopback ---------------------------------------------------------------------


class ProxiedHttpsPolicy(http.cookiejar.DefaultCookiePolicy):
    """Our requests arrive as HTTPS through "the proxy", so Secure cookies go back over loopback."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True

    def set_ok(self, cookie, request) -> bool:
        return True


# Each visitor comes from its own address: a random one could repeat an earlier visitor's, whose
# failed sign-ins the per-address limit still counts (that made a fault test flaky on CI).
_CLIENT_IPS = itertools.cycle(
    [f"{net}.{host}" for net in ("198.51.100", "203.0.113") for host in range(1, 255)]
)


class Visitor:
    """A requests session that looks like one browser behind our proxy, at any instance."""

    def __init__(self, client_ip: str | None = None) -> None:
        self.http = requests.Session()
        self.http.cookies.set_policy(ProxiedHttpsPolicy())
        self.client_ip = client_ip or next(_CLIENT_IPS)

    def headers(self, extra: dict | None = None) -> dict:
        # requests copies the jar into one with the default policy, which keeps Secure cookies
        # from http:// URLs: send them ourselves (all are host-only, Path=/)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        return {
            **({"Cookie": cookie} if cookie else {}),
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.client_ip,
            "X-Forwarded-Host": SITE_HOST,
            "Accept-Language": "en",
            **(extra or {}),
        }

    def get(self, base: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        headers = self.headers(kwargs.pop("headers", None))
        return self.http.get(base + path, headers=headers, **kwargs)

    def post(self, base: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        kwargs.setdefault("allow_redirects", False)
        # Flask-WTF checks the Referer of HTTPS form posts, as a browser sends it
        referer = {"Referer": f"https://{SITE_HOST}{path}"}
        headers = self.headers({**referer, **(kwargs.pop("headers", None) or {})})
        return self.http.post(base + path, headers=headers, **kwargs)

    def csrf(self, base: str, path: str) -> str:
        page = self.get(base, path)
        assert page.status_code == 200, (path, page.status_code)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page.text
        )
        assert match, f"no csrf_token on {path}"
        return match.group(1)

    def sign_in(self, base: str, email: str, password: str = PASSWORD) -> requests.Response:
        token = self.csrf(base, "/login")
        return self.post(
            base, "/login", data={"csrf_token": token, "email": email, "password": password}
        )


# --- accounts ------------------------------------------------------------------------------------


def create_user(database_url: str, keyring: str, email: str, tmp_path: Path) -> int:
    """A verified account with the consents registration records, written straight to the DB."""
    from xometry_site import create_app
    from xometry_site.extensions import db
    from xometry_site.models import User
    from xometry_site.models.base import utcnow
    from xometry_site.services.privacy import consents

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path / "user-factory"),
            "KEYRING": keyring,
        }
    )
    with app.app_context():
        user = User(
            email=email,
            name="多实例测试",
            phone="+8613800000077",
            customer_type="company",
            email_verified_at=utcnow(),
        )
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        for kind in ("policy", "adult"):
            consents.record(user, kind, ip="127.0.0.1", source="test")
        db.session.commit()
        user_id = user.id
        db.session.remove()
        db.engine.dispose()
    return user_id


def wait_until(predicate, timeout: float = 20.0):
    """Like conftest.wait_for, with a default long enough for a second process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def migrate(env: dict[str, str], database_url: str) -> None:
    """`flask db upgrade` as a deployment runs it; fail clearly if migrations lag the models."""
    import sqlalchemy as sa

    from xometry_site import create_app
    from xometry_site.extensions import db

    run_flask(env, "db", "upgrade")
    engine = sa.create_engine(_psycopg_url(database_url))
    present = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    create_app({"INSTANCE_PATH": env["INSTANCE_PATH"]})  # imports every model
    missing = sorted(set(db.metadata.tables) - present)
    if os.environ.get("PRODUCTION_TEST_CREATE_MISSING") and missing:  # local stopgap only
        engine = sa.create_engine(_psycopg_url(database_url))
        db.metadata.create_all(engine)
        engine.dispose()
        missing = []
    assert not missing, f"migrations lag behind the models, no table for: {', '.join(missing)}"


# --- faults --------------------------------------------------------------------------------------


class TcpProxy:
    """A loopback port forwarding to a service; `cut()` drops every connection and refuses new
    ones (the service "goes down" for the app only), `restore()` brings it back on the same port.
    `pause()` makes the service hang for the app: connections are still accepted and bytes taken,
    but nothing goes through either way until `resume()` (a frozen server, a lost route)."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        import threading

        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._flowing = threading.Event()
        self._flowing.set()

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def start(self) -> TcpProxy:
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    restore = start

    def _accept(self, listener: socket.socket) -> None:
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.add(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        import threading

        self._flowing.wait()  # paused: the client is connected, and nothing answers
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            _close(client)
            return
        with self._lock:
            self._sockets.add(upstream)
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self._flowing.wait()  # paused: taken, never delivered (until resumed)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                _close(s)

    def cut(self) -> None:
        if self._listener is not None:
            _close(self._listener)  # shutdown first: close() alone leaves a blocked accept() alive
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for s in sockets:
            _close(s)


class BlackHole:
    """A loopback port that accepts connections (the kernel completes them) and never answers:
    the worst a hung dependency can do to a client without deadlines."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()


def files_containing(root: Path, needle: bytes) -> list[Path]:
    """Files under root whose bytes contain needle (plaintext that reached a disk)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found
