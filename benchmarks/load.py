"""HTTP load on the production stack, each page against a baseline served the same way, same run.

    .venv/bin/python benchmarks/load.py [--seconds 30] [--connections 32] [--pages home,policy]

Starts gunicorn with gunicorn.conf.py twice on 127.0.0.1: once a minimal Flask "hello world",
once the site in production mode on a fresh PostgreSQL database (Redis for limits). In front of
the site, Debian's nginx runs deploy/nginx/xometry.conf (made to listen on loopback without TLS
by tests/integration/nginx_support.py, the same as test_nginx_cache.py; without the per-address
limit, which a load generator on one address would only trip). The same nginx serves a copy of
each page, fetched once from the app, as a static file. Then loads, each for --seconds with
--connections keep-alive connections (`wrk` when installed, apt-get install wrk, else a thread
pool of http.client connections), as plain first visits without cookies:

  goal                                                        leg               baseline
  ≥ 0.5× the static file, p99 < 20 ms                         home, policy      via nginx (cache)
  ≥ 0.5× hello world                                          home, policy      straight from gunicorn
  p99 < 100 ms                                                signed-in quote list (ten quotes)
  p99 < 100 ms                                                signed-in order page
  p99 < 30 ms, 16 connections                                 a part's live price (JSON)
  p99 < 100 ms                                                the Mini Program API's quote list
                                                              (bearer token, ten quotes)
  no errors in any leg
  fault leg (--fault-seconds): a second site instance on a redis-server of its own, paused
  (SIGSTOP) for the middle third of the run: public pages p99 < 100 ms and no errors throughout,
  every sign-in answered within 1.5 s (limits from Flask-Limiter's in-memory fallback)

Prints requests/s, p50, p99, errors, the ratio to the leg's baseline and a PASS/MISS per goal.
Only ever talks to 127.0.0.1, and only for as long as asked. The load generator runs at raised
priority where allowed (see CLIENT_NICE).

Shared machines have slow spells lasting seconds to minutes, which made one 30 s run per page
compare a page against a baseline measured at another speed. So each leg's --seconds are split
into --rounds slices, the legs take turns slice by slice (each baseline just before the legs
compared with it), and the ratio, p50 and p99 printed are the medians over the rounds (the spread
is printed too).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7")
# The issue's goals (see the docstring).
GOAL_APP_RATIO = 0.5  # home and policy straight from gunicorn, × hello world
GOAL_NGINX_RATIO, GOAL_NGINX_P99_MS = 0.5, 20.0  # through nginx's cache, × the static file
GOAL_QUOTES_P99_MS = 100.0  # the signed-in quote list, gunicorn + PostgreSQL
GOAL_ORDER_P99_MS = 100.0  # the signed-in order page
GOAL_API_P99_MS = 100.0  # the Mini Program API's quote list, bearer token
GOAL_PRICE_P99_MS, PRICE_CONNECTIONS = 30.0, 16  # a part's live price, 16 customers at once
# a cube of 40 mm as the analysis stores it (PartGeometry.to_dict): what the quote page shows and a
# live price reads (no file, no SQL per break)
CUBE_GEOMETRY = {
    "format": "stl",
    "volume_mm3": 64000.0,
    "area_mm2": 9600.0,
    "bbox_min": [0.0, 0.0, 0.0],
    "bbox_max": [40.0, 40.0, 40.0],
    "size": [40.0, 40.0, 40.0],
    "triangles": 12,
    "faces": None,
    "solids": 1,
    "watertight": True,
    "units_hint": None,
}
PRICE_QUERY = (
    "process=cnc_machining&material=al6061&finish=as_machined&quantity=25"
    "&tolerance=iso2768f&threads=4&inspection=coc"
)
GOAL_FAULT_P99_MS, GOAL_FAULT_SIGN_IN_S = 100.0, 1.5  # while the site's Redis is paused
PASSWORD = "benchmark password 2024"  # noqa: S105 - a throw-away account in a throw-away database
# One browser: the same User-Agent on every request (Flask-Login's session protection compares it
# with the one the session began with, and a change marks the session not fresh, a cookie write).
HEADERS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "www.xometry.test",
    "User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126 Mobile Safari",
}

# The baseline: what gunicorn + Flask cost with no work at all (imported by gunicorn).
hello_app = Flask("hello")


@hello_app.get("/")
def hello() -> str:
    return "Hello, World!"


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_ms: float = 0.0  # the server's CPU time per request (its share of a busy machine aside)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- services ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine(url: str, **kwargs):
    from sqlalchemy import create_engine

    return create_engine("postgresql+psycopg://" + url.split("://", 1)[1], **kwargs)


def create_database() -> str:
    from sqlalchemy import text

    name = "xbench_" + secrets.token_hex(4)
    admin = engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    from sqlalchemy import text

    admin = engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str, keyring: str, instance: Path) -> str:
    """The schema, one customer with ten quotes of two drawings each, a priced quote and its
    order; a Mini Program customer with ten quotes; returns the website customer's e-mail."""
    from xometry_site import create_app
    from xometry_site.extensions import db
    from xometry_site.models import User
    from xometry_site.models.base import utcnow
    from xometry_site.services.privacy import consents

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://" + url.split("://", 1)[1],
            "INSTANCE_PATH": str(instance),
            "KEYRING": keyring,
            "API_ACCESS_TOKEN_SECONDS": 7200,  # one token for the whole run (default: 15 min)
        }
    )
    email = "bench@example.com"
    with app.app_context():
        db.create_all()
        user = User(
            email=email,
            name="压力测试",
            phone="+8613800009999",
            customer_type="company",
            email_verified_at=utcnow(),
        )
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        for kind in ("policy", "adult"):
            consents.record(user, kind, ip="127.0.0.1", source="benchmark")
        ten_quotes(user)
        db.session.commit()
        SEEDED.update(priced_quote_and_order(user))
        SEEDED["api_token"] = miniprogram_user()
        db.session.remove()
        db.engine.dispose()
    return email


def ten_quotes(user) -> None:
    """Ten quotes of two drawings each, as on the quote list of the website and the API."""
    from xometry_site.extensions import db
    from xometry_site.models import Drawing, Quote

    for n in range(10):
        quote = Quote(user_id=user.id, process="cnc_machining", material="al6061")
        quote.quantity = n + 1
        db.session.add(quote)
        db.session.flush()
        for d in range(2):
            db.session.add(
                Drawing(
                    quote_id=quote.id,
                    user_id=user.id,
                    filename=f"part-{n}-{d}.stl",
                    extension="stl",
                    size=1000,
                    sha256="0" * 64,
                )
            )


def miniprogram_user() -> str:
    """A Mini Program customer (phone account, both consents) with ten quotes, signed in through
    the API's token service as `POST /session` does; returns its access token."""
    from xometry_site.extensions import db
    from xometry_site.models import User
    from xometry_site.services.accounts import api_tokens
    from xometry_site.services.privacy import consents

    user = User(name="小程序用户", phone="+8613800008888", customer_type="company")
    db.session.add(user)
    db.session.flush()
    for kind in ("policy", "adult"):
        consents.record(user, kind, ip="127.0.0.1", source="miniprogram")
    ten_quotes(user)
    db.session.commit()
    return api_tokens.issue(user).access_token


SEEDED: dict[str, str] = {}  # the part price path, the order's path, the API's access token


def priced_quote_and_order(user) -> dict[str, str]:
    """Two quotes of one measured part each, priced as a customer's are: one still being
    configured, whose part's live price is loaded, and one ordered, whose order page is."""
    from decimal import Decimal

    from xometry_site.extensions import db
    from xometry_site.models import InvoiceProfile, ShippingAddress
    from xometry_site.services.orders.placement import place_order

    quote, part = priced_quote(user)
    ordered, _ = priced_quote(user)
    address = ShippingAddress(
        user_id=user.id, recipient="王工", address="张江路 100 号", phone="+8613800000001",
        province="310000", city="310100", district="310115", postal_code="201203",
        is_default=True,
    )  # fmt: skip
    invoice = InvoiceProfile(
        user_id=user.id, kind="corporate", company_name="压力测试有限公司",
        tax_number="91310000MA1FL0000X", fapiao_type="normal",
    )  # fmt: skip
    db.session.add_all([address, invoice])
    db.session.flush()
    ordered.status, ordered.lead_choice = "ordered", "standard"
    order = place_order(ordered, user, address, invoice)
    db.session.commit()
    assert order.total > Decimal(0) and quote.status == "quoted"
    return {
        "price": f"/quotes/{quote.ref}/parts/{part.id}/price?{PRICE_QUERY}",
        "order": f"/orders/{order.number}",
    }


def priced_quote(user):
    """A quote of one measured 40 mm cube, priced from the rules: (quote, part)."""
    from xometry_site.extensions import db
    from xometry_site.models import Drawing, Quote
    from xometry_site.services.quotes.quote_pricing import price_quote

    quote = Quote(user_id=user.id, process="cnc_machining", material="al6061", quantity=25)
    part = Drawing(
        user_id=user.id, filename="bracket.stl", extension="stl", size=684, sha256="0" * 64,
        geometry=CUBE_GEOMETRY, analysis_status="analysed", process="cnc_machining",
        material="al6061", finish="as_machined", quantity=25, tolerance="iso2768m", threads=0,
        inspection="standard",
    )  # fmt: skip
    quote.drawings.append(part)
    db.session.add(quote)
    db.session.flush()
    price_quote(quote)
    return quote, part


def production_env(database: str, keyring: str, instance: Path) -> dict[str, str]:
    closed = f"http://127.0.0.1:{free_port()}"
    passed = ("PATH", "HOME", "LANG", "TMPDIR", "WEB_CONCURRENCY")
    env = {k: v for k, v in os.environ.items() if k in passed or k.startswith("GUNICORN_")}
    env.update(
        APP_ENV="production",
        INSTANCE_PATH=str(instance),
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database,
        REDIS_URL=REDIS,
        KEYRING=keyring,
        STORAGE_BACKEND="s3",
        S3_BUCKET="benchmark-not-contacted",
        S3_ENDPOINT_URL=closed,
        STORAGE_LOCATION_CHECK="off",  # never contacted, on loopback
        MAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(free_port()),
        SMS_BACKEND="benchmark.not:Used",
        WECHAT_APP_ID="wx-benchmark",
        WECHAT_APP_SECRET=secrets.token_hex(16),
        WECHAT_OPEN_BASE_URL=closed,
        WECHAT_API_BASE_URL=closed,
        SITE_URL="https://www.xometry.test",
        ICP_LICENSE="沪ICP备00000000号",
        PART_PRICE_LIMIT="1000000 per minute",  # sixteen clients share one benchmark account
        BANK_ACCOUNT_NAME="基准测试有限公司",
        BANK_NAME="基准银行",
        BANK_ACCOUNT_NUMBER="1234 5678",
        POLICY_EFFECTIVE_DATE="2024-07-01",
        **wechatpay_env(instance),
    )
    return env


def wechatpay_env(instance: Path) -> dict[str, str]:
    """A WeChat Pay merchant production accepts (never contacted here), keys as files."""
    from xometry_site.devtools.wechatpay_keys import TestKeys, public_key_pem

    instance.mkdir(parents=True, exist_ok=True)
    keys = TestKeys.generate()
    (instance / "wechatpay-key.pem").write_text(keys.merchant_private_key)
    (instance / "wechatpay-platform.pem").write_text(public_key_pem(keys.platform_private_key))
    return {
        "WECHATPAY_MCHID": keys.mchid,
        "WECHATPAY_APPID": "wx-benchmark",
        "WECHATPAY_MERCHANT_SERIAL": keys.merchant_serial,
        "WECHATPAY_PRIVATE_KEY_PATH": str(instance / "wechatpay-key.pem"),
        "WECHATPAY_APIV3_KEY": keys.apiv3_key,
        "WECHATPAY_PUBLIC_KEY_PATH": str(instance / "wechatpay-platform.pem"),
        "WECHATPAY_PUBLIC_KEY_ID": keys.platform_key_id,
    }


def tree_cpu_seconds(master_pid: int) -> float:
    """CPU used so far by a master process and its workers, live and reaped (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int) -> list[str]:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return []

    master = fields(master_pid)
    total = sum(int(v) for v in master[11:15]) if master else 0  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            f = fields(int(entry.name))
            if f and int(f[1]) == master_pid:  # ppid: a live worker
                total += int(f[11]) + int(f[12])
    return total / tick


class Gunicorn:
    """gunicorn -c gunicorn.conf.py [app], on a free loopback port, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path, app: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = os.environ.get("BENCH_GUNICORN_CONF", "gunicorn.conf.py")  # tuning/profiling aid
        command = [str(Path(sys.executable).with_name("gunicorn")), "-c", conf]
        if app:
            command += ["--pythonpath", str(ROOT / "benchmarks"), app]
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited, see {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def sign_in(base: str, email: str) -> str:
    """The Cookie header a signed-in browser sends from its second page on (production cookies
    are __Host-, Secure). Signing in starts a new session without a CSRF token; the first page
    after it adds one (a cookie write a browser sees once), so that page is visited here."""
    import requests

    session = requests.Session()
    page = session.get(base + "/login", headers=HEADERS, timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    answer = session.post(
        base + "/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        headers={**HEADERS, "Cookie": cookies, "Referer": "https://www.xometry.test/login"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    jar = {c.name: c.value for c in session.cookies}
    header = "; ".join(f"{k}={v}" for k, v in jar.items())
    first = requests.get(base + "/quotes/", headers={**HEADERS, "Cookie": header}, timeout=30)
    jar.update({c.name: c.value for c in first.cookies})
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def price_ticket(base: str, cookie: str) -> str:
    """The ticket the quote page hands the part's form, which part_config.js sends with each
    live price (X-Price-Ticket) as a browser on that page does."""
    import requests

    quote_page = SEEDED["price"].split("/parts/", 1)[0]
    page = requests.get(base + quote_page, headers={**HEADERS, "Cookie": cookie}, timeout=30)
    found = re.search(r'data-price-ticket="([^"]+)"', page.text)
    if found is None:
        raise RuntimeError("the quote page hands out no price ticket")
    return found.group(1)


# --- load ----------------------------------------------------------------------------------------

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKJSON {\\"requests\\": %d, \\"us\\": %d, \\"errors\\": %d, "
    .. "\\"p50\\": %d, \\"p99\\": %d}\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


# The load generator shares the machine's two cores with gunicorn and PostgreSQL. At normal
# priority it waited its turn behind them before reading answers that had already arrived, and
# that wait was counted as the server's latency: the quote list's p99 was 145–258 ms with wrk at
# normal priority against 76–104 ms with wrk at nice -10, the same server in the same minutes.
# A real client has a machine of its own, so the generator is raised where that is allowed
# (root; --client-nice 0 measures the old way) and the report says at which priority it ran.
CLIENT_NICE = -10


def listening() -> str:
    """Whether the workers listened on a socket each, as gunicorn.conf.py decided for this host."""
    import runpy

    own = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["reuse_port"]
    return "a listening socket per worker" if own else "one listening socket shared by the workers"


def raise_client(nice: int) -> bool:
    """Give this process (the thread-pool generator) priority `nice`, if allowed."""
    if not nice:
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        return False
    return True


def client_priority(nice: int) -> str:
    if nice and os.geteuid() == 0:
        return f"load generator at nice {nice}"
    return "load generator at normal priority"


def run_wrk(
    name: str, url: str, headers: dict, seconds: int, connections: int, nice: int = 0
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    command += [arg for k, v in headers.items() for arg in ("-H", f"{k}: {v}")]
    command += ["-s", script.name, url]
    if nice and shutil.which("nice"):
        command = ["nice", "-n", str(nice), *command]  # runs it anyway when it may not raise it
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    os.unlink(script.name)
    data = json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])
    return Result(
        name,
        data["requests"],
        data["us"] / 1e6,
        data["errors"],
        data["p50"] / 1e3,
        data["p99"] / 1e3,
    )


def run_threads(
    name: str, url: str, headers: dict, seconds: int, connections: int, nice: int = 0
) -> Result:
    """Fallback without wrk: one keep-alive http.client connection per thread."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", parts.path or "/", headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    before = os.getpriority(os.PRIO_PROCESS, 0)
    raised = raise_client(nice)
    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if raised:
        os.setpriority(os.PRIO_PROCESS, 0, before)
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    return Result(name, len(latencies), elapsed, errors[0], pct(0.50), pct(0.99))


@dataclass
class Leg:
    """One page under load: where, with which headers, compared with what, held to which goals."""

    name: str
    url: str  # the whole URL
    headers: dict
    cpu: Callable[[], float]  # CPU seconds used so far by the server answering
    baseline: str | None = None  # the leg whose rate this one's is divided by
    min_ratio: float | None = None
    max_p99_ms: float | None = None
    connections: int | None = None  # this many at once instead of --connections


def load(leg: Leg, seconds: int, connections: int, nice: int = CLIENT_NICE) -> Result:
    connections = leg.connections or connections
    runner = run_wrk if shutil.which("wrk") else run_threads
    runner(leg.name, leg.url, leg.headers, 1, connections, nice)  # warm workers, pools, caches
    cpu = leg.cpu()
    result = runner(leg.name, leg.url, leg.headers, seconds, connections, nice)
    result.cpu_ms = (leg.cpu() - cpu) * 1000 / max(result.requests, 1)
    return result


def static_copies(site: Gunicorn, pages: dict[str, str], root: Path) -> str:
    """Each page's bytes, fetched once from the app as a first visit, written under `root`; the
    nginx locations that serve them as static files (same headers as a browser would get: none
    of the app's, only nginx's own)."""
    import requests

    locations = []
    for name, path in pages.items():
        page = requests.get(site.url + path, headers=HEADERS, timeout=30)
        page.raise_for_status()
        (root / f"{name}.html").write_bytes(page.content)
        locations.append(
            f"\n    location = /static-copy/{name} {{\n"
            f"        default_type text/html;\n"
            f"        alias {root / name}.html;\n"
            f"    }}"
        )
    return "".join(locations)


def answer_status(leg: Leg) -> int:
    import requests

    return requests.get(leg.url, headers=leg.headers, allow_redirects=False, timeout=30).status_code


def cache_status(url: str) -> str:
    """X-Cache-Status of a second first-visit to `url` (HIT when nginx keeps the page)."""
    import requests

    requests.get(url, headers=HEADERS, timeout=30)
    return requests.get(url, headers=HEADERS, timeout=30).headers.get("X-Cache-Status", "-")


def check_reachable() -> bool:
    from redis import Redis
    from sqlalchemy import text

    try:
        e = engine(PG_ADMIN)
        with e.connect() as conn:
            conn.execute(text("SELECT 1"))
        e.dispose()
        Redis.from_url(REDIS, socket_connect_timeout=2).ping()
        return True
    except Exception as exc:
        print(f"PostgreSQL or Redis unreachable ({exc.__class__.__name__}): load test not run")
        return False


def nginx_front(workdir: Path, site: Gunicorn, static_locations: str):
    """deploy/nginx/xometry.conf on loopback before `site`, the way test_nginx_cache.py runs it."""
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from nginx_support import Nginx, nginx_binary

    if nginx_binary() is None:
        return None
    return Nginx(
        workdir,
        f"127.0.0.1:{site.port}",
        limits=False,
        extra_locations=static_locations,
        worker_processes="auto",  # as Debian's /etc/nginx/nginx.conf
    ).start()


# --- fault leg: the site's Redis paused mid-run -----------------------------------------------------


class OwnRedis:
    """A throw-away redis-server on a free loopback port, so pausing it disturbs nobody else."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(workdir)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sign_in_times(base: str, email: str, stop: threading.Event) -> list[tuple[float, float, int]]:
    """Sign in over and over (one in four with a wrong password, so the limits count) until
    `stop`: (start offset s, seconds the POST took, status) for each."""
    import requests

    started, times, n = time.monotonic(), [], 0
    while True:  # at least once
        session = requests.Session()
        try:
            page = session.get(base + "/login", headers=HEADERS, timeout=10)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
            cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
            password = PASSWORD if n % 4 else "wrong password 1"
            begin = time.monotonic()
            answer = session.post(
                base + "/login",
                data={"csrf_token": token, "email": email, "password": password},
                headers={**HEADERS, "Cookie": cookies, "Referer": "https://www.xometry.test/login"},
                allow_redirects=False,
                timeout=10,
            )
            times.append((begin - started, time.monotonic() - begin, answer.status_code))
        except (requests.RequestException, AttributeError):
            times.append((time.monotonic() - started, 10.0, 0))
        n += 1
        if stop.wait(0.2):
            break
    return times


def fault_leg(
    env: dict[str, str],
    email: str,
    out: Path,
    workdir: Path,
    seconds: int,
    connections: int,
    nice: int,
) -> tuple[list[str], list[tuple[str, bool]]]:
    """The site on a Redis of its own, paused for the middle third of `seconds`, under load on
    the home page (first visits, straight from gunicorn) while a visitor keeps signing in."""
    if shutil.which("redis-server") is None:
        return [], [
            ("fault leg: redis-server is not installed (apt-get install redis-server)", False)
        ]
    redis = OwnRedis(workdir)
    site = None
    try:
        site = Gunicorn({**env, "REDIS_URL": redis.url}, out / "site-fault.log")
        leg = Leg("home, Redis paused", site.url + "/", HEADERS, site.cpu_seconds)
        load(leg, 1, connections, nice)  # warm up: pools, the worker's page cache
        warm = threading.Event()
        warm.set()
        sign_in_times(site.url, email, warm)  # ... and sign-in's first (a stop set: one round)
        time.sleep(2)  # the warm-up's connections closed on both sides
        stop = threading.Event()
        results: dict[str, object] = {}

        def signing_in() -> None:
            results["sign_in"] = sign_in_times(site.url, email, stop)

        def probing() -> None:  # when in the run a public page was slow: before, while or after
            probe, began = [], time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
            while not stop.is_set():
                start = time.monotonic()
                try:
                    conn.request("GET", "/", headers=HEADERS)
                    conn.getresponse().read()
                except (OSError, http.client.HTTPException):
                    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
                probe.append((start - began, time.monotonic() - start))
                stop.wait(0.05)
            results["probe"] = probe

        def pausing() -> None:
            stop.wait(seconds / 3)
            redis.pause()
            results["paused"] = time.monotonic()
            stop.wait(seconds / 3)
            redis.resume()
            results["resumed"] = time.monotonic()

        threads = [threading.Thread(target=f) for f in (signing_in, pausing, probing)]
        for thread in threads:
            thread.start()
        runner = run_wrk if shutil.which("wrk") else run_threads
        try:
            page = runner(leg.name, leg.url, leg.headers, seconds, connections, nice)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
    finally:
        if site is not None:
            site.stop()
        redis.stop()
    sign_ins = results.get("sign_in") or []
    third = seconds / 3
    during = [t for t in sign_ins if third <= t[0] < 2 * third]
    slowest = max((t[1] for t in sign_ins), default=0.0)
    slowest_during = max((t[1] for t in during), default=0.0)
    statuses = sorted({t[2] for t in sign_ins})
    probe = results.get("probe") or []
    slow_probes = [f"{at:.1f}s:{took * 1000:.0f}ms" for at, took in probe if took > 0.1]
    lines = [
        f"fault leg: home page {page.rate:.0f} req/s, p50 {page.p50_ms:.1f} ms, p99 "
        f"{page.p99_ms:.1f} ms, {page.errors} errors over {seconds} s with Redis paused "
        f"{third:.0f}–{2 * third:.0f} s; {len(sign_ins)} sign-ins ({len(during)} while paused), "
        f"slowest {slowest:.2f} s ({slowest_during:.2f} s while paused), statuses {statuses}",
        f"fault leg: a probe of the home page every 50 ms, {len(probe)} answers, slower than "
        f"100 ms at: {', '.join(slow_probes[:20]) or 'none'}",
    ]
    goals = [
        (
            f"fault leg home: p99 {page.p99_ms:.1f} ms (< {GOAL_FAULT_P99_MS:.0f} ms)",
            page.p99_ms < GOAL_FAULT_P99_MS,
        ),
        (f"fault leg home: {page.errors} errors (0)", page.errors == 0),
        (
            f"fault leg sign-in: slowest {slowest:.2f} s (< {GOAL_FAULT_SIGN_IN_S} s)",
            bool(during) and slowest < GOAL_FAULT_SIGN_IN_S,
        ),
        (
            f"fault leg sign-in: {sum(1 for t in sign_ins if t[2] not in (200, 302, 429))} "
            "answers other than 200/302/429 (0)",
            all(t[2] in (200, 302, 429) for t in sign_ins),
        ),
    ]
    return lines, goals


PAGES = {"home": "/", "policy": "/policy"}


def plan_legs(hello: Gunicorn, site: Gunicorn, proxy, cookie: str) -> list[Leg]:
    """Each baseline just before the legs compared with it, all in one round."""
    legs = [Leg("hello world", hello.url + "/", HEADERS, hello.cpu_seconds)]
    for name, path in PAGES.items():
        legs.append(
            Leg(name, site.url + path, HEADERS, site.cpu_seconds, "hello world", GOAL_APP_RATIO)
        )
    if proxy is not None:

        def nginx_cpu() -> float:
            return tree_cpu_seconds(proxy.process.pid)

        for name, path in PAGES.items():
            static = f"{name} (static file)"
            legs.append(Leg(static, f"{proxy.url}/static-copy/{name}", HEADERS, nginx_cpu))
            legs.append(
                Leg(
                    f"{name} (nginx)",
                    proxy.url + path,
                    HEADERS,
                    nginx_cpu,
                    static,
                    GOAL_NGINX_RATIO,
                    GOAL_NGINX_P99_MS,
                )
            )
    signed_in = {**HEADERS, "Cookie": cookie}
    legs.append(
        Leg(
            "quote list (signed in)",
            site.url + "/quotes/",
            signed_in,
            site.cpu_seconds,
            max_p99_ms=GOAL_QUOTES_P99_MS,
        )
    )
    legs.append(
        Leg(
            "order page (signed in)",
            site.url + SEEDED["order"],
            signed_in,
            site.cpu_seconds,
            max_p99_ms=GOAL_ORDER_P99_MS,
        )
    )
    legs.append(
        Leg(
            f"live price ({PRICE_CONNECTIONS} customers)",
            site.url + SEEDED["price"],
            {**signed_in, "Accept": "application/json", "X-Price-Ticket": SEEDED["ticket"]},
            site.cpu_seconds,
            max_p99_ms=GOAL_PRICE_P99_MS,
            connections=PRICE_CONNECTIONS,
        )
    )
    legs.append(
        Leg(
            "api quote list (bearer)",
            site.url + "/api/mp/v1/quotes",
            {**HEADERS, "Authorization": f"Bearer {SEEDED['api_token']}"},
            site.cpu_seconds,
            max_p99_ms=GOAL_API_P99_MS,
        )
    )
    return legs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="slices per leg, taken in turns")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    parser.add_argument(
        "--pages", default="", help="comma-separated subset while tuning, e.g. home,quote"
    )
    parser.add_argument(
        "--fault-seconds",
        type=int,
        default=30,
        help="the fault leg's length (Redis paused for its middle third); 0 skips it",
    )
    parser.add_argument(
        "--client-nice",
        type=int,
        default=CLIENT_NICE,
        help="the load generator's priority (needs root below 0; 0: as the server's)",
    )
    args = parser.parse_args()
    if not check_reachable():
        return 1 if os.environ.get("CI", "").lower() == "true" else 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keyring = json.dumps(
        {"primary": "k1", "keys": {"k1": base64.b64encode(secrets.token_bytes(32)).decode()}}
    )
    instance = Path(tempfile.mkdtemp(prefix="xbench-"))
    database = create_database()
    servers: list = []
    notes: list[str] = []
    fault_lines: list[str] = []
    fault_goals: list[tuple[str, bool]] = []
    try:
        email = seed(database, keyring, instance)
        env = production_env(database, keyring, instance)
        hello = Gunicorn(env, out / "hello.log", app="load:hello_app")
        servers.append(hello)
        site = Gunicorn(env, out / "site.log")
        servers.append(site)
        static_root = instance / "static-copies"
        static_root.mkdir()
        proxy = nginx_front(instance / "nginx", site, static_copies(site, PAGES, static_root))
        if proxy is None:
            notes.append("nginx is not installed (apt-get install nginx-light): no nginx legs")
        else:
            servers.append(proxy)
            for name, path in PAGES.items():
                status = cache_status(proxy.url + path)
                if status != "HIT":
                    notes.append(f"{name} (nginx): not kept by the cache (X-Cache-Status {status})")
        cookie = sign_in(site.url, email)
        SEEDED["ticket"] = price_ticket(site.url, cookie)
        legs = plan_legs(hello, site, proxy, cookie)
        for leg in legs:  # a redirect (to sign-in, say) or an error page is not the page measured
            status = answer_status(leg)
            if status != 200:
                notes.append(f"{leg.name}: answers {status}, not the page")
        wanted = {p.strip() for p in args.pages.split(",") if p.strip()}
        if wanted:  # the chosen pages and the baselines they are compared with
            chosen = {leg.name for leg in legs if leg.name.split()[0] in wanted}
            chosen |= {leg.baseline for leg in legs if leg.name in chosen and leg.baseline}
            legs = [leg for leg in legs if leg.name in chosen]
        rounds = max(1, args.rounds)
        slice_seconds = max(1, round(args.seconds / rounds))
        results: dict[str, list[Result]] = {leg.name: [] for leg in legs}
        for _ in range(rounds):  # every leg in each round, in turns
            for leg in legs:
                results[leg.name].append(
                    load(leg, slice_seconds, args.connections, args.client_nice)
                )
        if args.fault_seconds > 0 and (not wanted or "fault" in wanted):
            fault_lines, fault_goals = fault_leg(
                env,
                email,
                out,
                instance,
                args.fault_seconds,
                args.connections,
                args.client_nice,
            )
    finally:
        for server in reversed(servers):
            server.stop()
        drop_database(database)
        shutil.rmtree(instance, ignore_errors=True)
    return report(legs, results, notes, args, fault_lines, fault_goals)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report(
    legs: list[Leg],
    results: dict[str, list[Result]],
    notes: list[str],
    args,
    fault_lines: list[str] = (),
    fault_goals: list[tuple[str, bool]] = (),
) -> int:
    """One line per leg: medians over the rounds, each round's ratio against that round's
    baseline; requests/s, errors and CPU over all rounds together. Then one line per goal."""
    tool = "wrk" if shutil.which("wrk") else "http.client threads"
    rounds = len(next(iter(results.values()), []))
    print(
        f"{args.connections} connections, {args.seconds} s each in {rounds} rounds, {tool}, "
        f"{client_priority(args.client_nice)}, gunicorn.conf.py ({os.cpu_count()} CPUs, "
        f"{listening()}), "
        "first visits without cookies except the quote list"
    )
    print(
        f"{'leg':24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'ratio':>6}"
        f" {'(rounds)':>11}  {'of':20} {'CPU ms/req':>10}"
    )
    goals: list[tuple[str, bool]] = []
    for leg in legs:
        page = results[leg.name]
        requests = sum(r.requests for r in page)
        rate = requests / (sum(r.seconds for r in page) or 1.0)
        p50, p99 = median([r.p50_ms for r in page]), median([r.p99_ms for r in page])
        errors = sum(r.errors for r in page)
        cpu = sum(r.cpu_ms * r.requests for r in page) / max(requests, 1)
        ratio_text, spread = "", ""
        if leg.baseline:
            base = results[leg.baseline]
            ratios = [r.rate / (b.rate or 1.0) for r, b in zip(page, base, strict=True)]
            ratio = median(ratios)
            ratio_text, spread = f"{ratio:.2f}", f"{min(ratios):.2f}–{max(ratios):.2f}"
            if leg.min_ratio is not None:
                goals.append(
                    (
                        f"{leg.name}: {ratio:.2f}× {leg.baseline} (≥ {leg.min_ratio}×)",
                        ratio >= leg.min_ratio,
                    )
                )
        if leg.max_p99_ms is not None:
            goals.append(
                (f"{leg.name}: p99 {p99:.1f} ms (< {leg.max_p99_ms:.0f} ms)", p99 < leg.max_p99_ms)
            )
        goals.append((f"{leg.name}: {errors} errors (0)", errors == 0))
        print(
            f"{leg.name:24} {rate:8.0f} {p50:7.1f} {p99:7.1f} {errors:6d} {ratio_text:>6}"
            f" {spread:>11}  {leg.baseline or '':20} {cpu:10.2f}"
        )
    for line in fault_lines:
        print(line)
    goals += list(fault_goals)
    print()
    for text, met in goals:
        print(f"{'PASS' if met else 'MISS'}  {text}")
    for note in notes:
        print(f"MISS  {note}")
    missed = sum(not met for _text, met in goals) + len(notes)
    print("goals met" if not missed else f"{missed} goal(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
