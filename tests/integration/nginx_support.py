"""The deployed nginx configuration, run on loopback: for test_nginx_cache.py and benchmarks/load.py.

One source of truth: the configuration nginx runs here is deploy/nginx/xometry.conf itself, with only
what ties it to a production host rewritten — the listeners (loopback ports, no TLS: the `ssl_*`,
`http2` and IPv6 lines go), the upstream address, the file paths (log, body spool, cache) into a
temporary directory, and `X-Forwarded-Proto` fixed to `https` (production's nginx is the TLS end, so
the app always hears https). Everything else — the cache zone, key, bypass map, body-size split,
limits, buffering, timeouts, locations — is the deploy file's text. Each rewrite must match, or this
module raises: a deploy file that changed shape fails the test instead of testing something else.
The file is wrapped in the minimal main context nginx needs (events, pid, temp paths, `user`).

Only the standard library: benchmarks/load.py imports this module too.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_CONF = ROOT / "deploy" / "nginx" / "xometry.conf"
NGINX_CANDIDATES = ("/usr/sbin/nginx",)


def nginx_binary() -> str | None:
    """Debian's /usr/sbin/nginx (package nginx-light), else one on PATH, else None."""
    for candidate in NGINX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("nginx")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rewrite(text: str, pattern: str, replacement: str, *, count: int | None = None) -> str:
    """re.sub over lines; `count` matches exactly, None at least one."""
    new, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if (count is None and not found) or (count is not None and found != count):
        wanted = "at least 1" if count is None else str(count)
        raise ValueError(
            f"{DEPLOY_CONF.name}: {pattern!r} matched {found} times, {wanted} expected"
        )
    return new


def loopback_site(
    upstream: str,
    port: int,
    redirect_port: int,
    workdir: Path,
    *,
    limits: bool = True,
    extra_locations: str = "",
) -> str:
    """deploy/nginx/xometry.conf made to listen on 127.0.0.1:`port` (the site) and `redirect_port`
    (the port-80 redirect), proxying to `upstream` ("127.0.0.1:8000"), with its files in `workdir`.

    `limits=False` drops the per-address `limit_req` (a load generator is one address sending what
    that limit exists to refuse). `extra_locations` is added to the site's server block (the
    benchmark's static copy of a page)."""
    text = DEPLOY_CONF.read_text()
    text = _rewrite(text, r"^(\s*server\s+)127\.0\.0\.1:8000\b", rf"\g<1>{upstream}", count=1)
    text = _rewrite(text, r"^(\s*listen\s+)80;", rf"\g<1>127.0.0.1:{redirect_port};", count=1)
    text = _rewrite(text, r"^(\s*listen\s+)443 ssl;", rf"\g<1>127.0.0.1:{port};", count=1)
    text = _rewrite(text, r"^\s*listen\s+\[::\]:\d+[^;]*;.*\n", "", count=2)
    text = _rewrite(text, r"^\s*http2\s+on;.*\n", "", count=1)
    text = _rewrite(text, r"^\s*ssl_\w+\s[^;]*;.*\n", "")
    for system_dir in ("/var/log/nginx/", "/var/lib/nginx/", "/var/cache/nginx/"):
        local = workdir / system_dir.strip("/").replace("/", "-")
        local.mkdir(parents=True, exist_ok=True)
        text = _rewrite(text, re.escape(system_dir), f"{local}/")
    text = _rewrite(text, r"^(\s*proxy_set_header\s+X-Forwarded-Proto\s+)\$scheme;", r"\g<1>https;")
    if not limits:
        text = _rewrite(text, r"^\s*limit_req\s[^;]*;.*\n", "")
    if extra_locations:
        body = text.rstrip()
        if not body.endswith("}"):
            raise ValueError(f"{DEPLOY_CONF.name} should end with the site's server block")
        text = body[:-1] + extra_locations + "\n}\n"
    return text


def main_config(site: str, workdir: Path, *, worker_processes: str = "1") -> str:
    """The main context around the site: what /etc/nginx/nginx.conf provides in production."""
    temp = workdir / "temp"
    temp.mkdir(parents=True, exist_ok=True)
    # Debian's nginx is built with temp paths under /var/lib/nginx: keep ours in workdir.
    temp_paths = "\n".join(
        f"    {kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers would run as `nobody`, who cannot read our private temp dir.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes {worker_processes};
error_log {workdir / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
{temp_paths}
{site}
}}
"""


class Nginx:
    """/usr/sbin/nginx in the foreground with the deploy file on loopback, in its own directory."""

    def __init__(
        self,
        workdir: Path,
        upstream: str,
        *,
        limits: bool = True,
        extra_locations: str = "",
        worker_processes: str = "1",
    ) -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (apt-get install nginx-light)")
        self.binary = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        site = loopback_site(
            upstream,
            self.port,
            _free_port(),
            workdir,
            limits=limits,
            extra_locations=extra_locations,
        )
        self.conf = workdir / "nginx.conf"
        self.conf.write_text(main_config(site, workdir, worker_processes=worker_processes))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self, *extra: str) -> list[str]:
        globals_ = f"daemon off; pid {self.workdir / 'nginx.pid'};"
        return [self.binary, "-p", str(self.workdir), "-e", str(self.workdir / "error.log"),
                "-c", str(self.conf), "-g", globals_, *extra]  # fmt: skip

    def start(self, timeout: float = 15.0) -> Nginx:
        checked = subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration:\n{checked.stderr}")
        self.process = subprocess.Popen(
            self._command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.error_log()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port}:\n{self.error_log()[-3000:]}")

    def error_log(self) -> str:
        path = self.workdir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
