"""`make audit` runs pip-audit itself on both locks; no address is hard-coded in the Makefile."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text("utf-8")
BUILT = ("-o", ".venv/.installed-dev", "-o", ".venv/.installed")  # never reinstall from a test


def test_the_makefile_holds_no_url_and_no_service_host():
    assert not re.search(r"[a-z]+://", MAKEFILE)
    assert not re.search(r"pypi\.org|osv\.dev|urlopen", MAKEFILE, re.IGNORECASE)


def test_make_test_still_runs_the_audit_on_both_locks():
    done = subprocess.run(
        ["make", "-n", *BUILT, "test"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    (audit,) = [line for line in done.stdout.splitlines() if "bin/pip-audit" in line]
    assert "-r requirements.lock -r requirements-dev.lock" in audit
    assert "scripts/audit_verdict.py" in done.stdout


def test_an_unreachable_vulnerability_service_is_a_warning_not_a_failure(tmp_path):
    """A proxy on a closed port: pip-audit cannot reach its service at all (and an empty cache
    holds no earlier answer)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HTTPS_PROXY"] = env["https_proxy"] = f"http://127.0.0.1:{free_port()}"
    env["XDG_CACHE_HOME"] = env["PIP_CACHE_DIR"] = str(tmp_path)
    done = subprocess.run(
        ["make", "-s", *BUILT, "audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING: the dependency audit could not run" in done.stderr
    assert "no locked package was checked" in done.stderr
