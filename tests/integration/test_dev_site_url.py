"""`make run PORT=5101`: in development SITE_URL follows PORT, so mail links and the WeChat
simulator point at the port the server listens on; production still wants an explicit https
SITE_URL. The configuration is read when `xometry_site.config` is imported, so each case starts
a fresh interpreter with the environment `make run` (or a deployment) gives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]

# In a development app built from the environment: a mail link, the WeChat settings the simulator
# set, and where "sign in with WeChat" sends the browser.
PROBE = """
import json
from app import app
from xometry_site.services.mail import external_url
with app.test_request_context("/"):
    mail_link = external_url("auth.login")
answer = app.test_client().get("/auth/wechat/login")
print(json.dumps({
    "mail_link": mail_link,
    "open_base": app.config["WECHAT_OPEN_BASE_URL"],
    "api_base": app.config["WECHAT_API_BASE_URL"],
    "status": answer.status_code,
    "location": answer.headers.get("Location", ""),
}))
"""


def run_app(tmp_path: Path, code: str, **variables: str) -> subprocess.CompletedProcess[str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), **variables)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def probe(tmp_path: Path, **variables: str) -> dict:
    done = run_app(tmp_path, PROBE, APP_ENV="development", **variables)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_mail_links_and_the_wechat_simulator_follow_port(tmp_path):
    seen = probe(tmp_path, PORT="5101")
    assert seen["mail_link"] == "http://127.0.0.1:5101/login"
    assert seen["open_base"] == seen["api_base"] == "http://127.0.0.1:5101/__wechat__"
    assert seen["status"] == 302
    to_simulator = urlsplit(seen["location"])
    assert to_simulator.netloc == "127.0.0.1:5101"
    assert to_simulator.path.startswith("/__wechat__/")
    (callback,) = parse_qs(to_simulator.query)["redirect_uri"]
    assert callback == "http://127.0.0.1:5101/auth/wechat/callback"


def test_an_explicit_site_url_wins_over_port(tmp_path):
    seen = probe(tmp_path, PORT="5101", SITE_URL="http://dev.example.test:8080")
    assert seen["mail_link"] == "http://dev.example.test:8080/login"
    assert seen["open_base"] == "http://dev.example.test:8080/__wechat__"


def test_production_still_refuses_to_start_without_an_https_site_url(tmp_path):
    done = run_app(tmp_path, "import app", APP_ENV="production", PORT="5101")
    assert done.returncode != 0
    assert "Refusing to start in production" in done.stderr
    assert "SITE_URL must be the public https:// address" in done.stderr
