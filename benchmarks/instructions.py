"""Instructions per request for the public pages, counted by valgrind's callgrind: a measure that
does not move with the machine's speed, for telling whether a change to the request path helped.

The app runs in production mode in this process (no gunicorn, no network), on a fresh PostgreSQL
database; each page is requested as a first-time visitor (the quote list signed in), warmed up,
then counted over --requests requests. The baseline is load.py's hello world, counted the same
way. The load benchmark (load.py) stays the judge of the goals: gunicorn, the kernel and the
machine add their own cost on top of what is counted here.

    .venv/bin/python benchmarks/instructions.py [--pages home,policy,quotes,order,live,api]
        [--requests 100]

order, live (a part's live price) and api (the Mini Program's quote list, bearer token) are the
signed-in pages of load.py's legs of the same names, on the same seeded records.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # the same database, seed, environment and headers as the load test

PAGES = {"hello": "/", "home": "/", "policy": "/policy", "quotes": "/quotes/"}
SEEDED_PATHS = {"order": "order", "live": "price"}  # page: load.SEEDED's key for its path


def child(page: str, requests: int, warm: int) -> None:
    """Runs under callgrind: only what happens inside functools.reduce is counted."""
    from xometry_site import create_app

    app = load.hello_app if page == "hello" else create_app()
    headers = dict(load.HEADERS)
    seeded = json.loads(os.environ.get("BENCH_SEEDED", "{}"))
    path = seeded[SEEDED_PATHS[page]] if page in SEEDED_PATHS else PAGES.get(page, "")
    if page in ("quotes", "order", "live"):
        headers["Cookie"] = _signed_in_cookie(app, headers)
    if page == "live":  # with the ticket the quote page hands out, as part_config.js sends it
        headers["Accept"] = "application/json"
        quote_page = b"".join(app(_environ(path.split("/parts/", 1)[0], headers), _ignore))
        found = re.search(rb'data-price-ticket="([^"]+)"', quote_page)
        headers["X-Price-Ticket"] = found.group(1).decode()
    if page == "api":
        path = "/api/mp/v1/quotes"
        headers["Authorization"] = f"Bearer {seeded['api_token']}"
    environ = _environ(path, headers)

    def one(*_args: object) -> None:
        body = app(dict(environ), lambda status, headers, exc_info=None: None)
        b"".join(body)
        if hasattr(body, "close"):
            body.close()

    for _ in range(warm):
        one()
    answered = []
    app(dict(environ), lambda status, headers, exc_info=None: answered.append(status))
    if not answered or not answered[0].startswith("200"):
        raise RuntimeError(f"{page}: answers {answered}, not the page")
    functools.reduce(one, range(requests), None)


def _ignore(status: str, headers: list, exc_info: object = None) -> None:
    """A start_response that keeps nothing."""


def _environ(path: str, headers: dict[str, str]) -> dict:
    from werkzeug.test import EnvironBuilder

    path, _, query = path.partition("?")
    builder = EnvironBuilder(
        path=path,
        query_string=query or None,
        headers=headers,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    return builder.get_environ()


def _signed_in_cookie(app, headers: dict[str, str]) -> str:
    client = app.test_client()
    where = {"headers": headers, "base_url": "https://www.xometry.test"}
    page = client.get("/login", **where).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "email": "bench@example.com", "password": load.PASSWORD}
    referer = {**headers, "Referer": "https://www.xometry.test/login"}
    answer = client.post("/login", data=form, headers=referer, base_url=where["base_url"])
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    client.get("/quotes/", **where)  # the first page after signing in adds the CSRF token
    names = (app.config["SESSION_COOKIE_NAME"], "lang", "cookie_consent")
    kept = [client.get_cookie(name, domain="www.xometry.test") for name in names]
    return "; ".join(f"{c.key}={c.value}" for c in kept if c is not None)


def count(page: str, requests: int, warm: int, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory(prefix="xcount-") as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=functools_reduce",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            page,
            "--requests",
            str(requests),
            "--warm",
            str(warm),
        ]
        subprocess.run(command, env=env, check=True, capture_output=True)
        totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        return int(totals.group(1)) // requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="home,policy,quotes,order,live,api")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.warm)
        return 0
    if not shutil.which("valgrind"):
        print("valgrind is not installed (apt-get install valgrind): nothing counted")
        return 0
    if not load.check_reachable():
        return 1 if os.environ.get("CI", "").lower() == "true" else 0
    keyring = json.dumps(
        {"primary": "k1", "keys": {"k1": base64.b64encode(secrets.token_bytes(32)).decode()}}
    )
    instance = Path(tempfile.mkdtemp(prefix="xcount-"))
    database = load.create_database()
    try:
        env = {**load.production_env(database, keyring, instance), "LOG_LEVEL": "INFO"}
        load.seed(database, keyring, instance)
        env["PYTHONPATH"] = str(load.ROOT)
        env["BENCH_SEEDED"] = json.dumps(load.SEEDED)
        hello = count("hello", args.requests, args.warm, env)
        print(f"{'page':10} {'instructions/request':>21} {'× hello':>8}")
        print(f"{'hello':10} {hello:21,d} {1:8.2f}")
        for page in [p.strip() for p in args.pages.split(",") if p.strip()]:
            n = count(page, args.requests, args.warm, env)
            print(f"{page:10} {n:21,d} {n / hello:8.2f}")
    finally:
        load.drop_database(database)
        shutil.rmtree(instance, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
