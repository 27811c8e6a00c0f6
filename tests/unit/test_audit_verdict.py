"""scripts/audit_verdict.py: what `make audit` makes of pip-audit's report and log."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_verdict.py"
_spec = importlib.util.spec_from_file_location("audit_verdict", SCRIPT)
audit_verdict = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_verdict)

# The shapes of pip-audit's JSON report (pip_audit/_format/json.py)
CLEAN = {"name": "blinker", "version": "1.9.0", "vulns": []}
VULNERABLE = {
    "name": "flask",
    "version": "0.12",
    "vulns": [{"id": "PYSEC-2019-179", "fix_versions": ["1.0"]}],
}


def not_found(name: str) -> dict:
    """What pip-audit wrote here for every release: the mirror answers 404 for its API."""
    return {
        "name": name,
        "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)",
    }


def report(*dependencies: dict) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


# Its last lines when the service cannot be reached (seen with an unreachable proxy)
NO_CONNECTION = (
    "Traceback (most recent call last):\n  ...\n"
    "requests.exceptions.ProxyError: HTTPSConnectionPool(port=443): Max retries exceeded with"
    " url: /pypi/aiofiles/25.1.0/json (Caused by ProxyError('Unable to connect to proxy'))\n"
)


def test_a_known_vulnerability_fails_and_is_named(capsys):
    assert audit_verdict.verdict(1, report(CLEAN, VULNERABLE), "") == 1
    out = capsys.readouterr().out
    assert "flask 0.12: PYSEC-2019-179 (fixed in 1.0)" in out


def test_a_vulnerability_fails_even_when_other_releases_were_not_audited(capsys):
    assert audit_verdict.verdict(1, report(VULNERABLE, not_found("aiofiles")), "") == 1
    assert "WARNING" not in capsys.readouterr().err


def test_a_clean_audit_passes(capsys):
    assert audit_verdict.verdict(0, report(CLEAN, CLEAN), "No known vulnerabilities found") == 0
    assert "no known vulnerabilities in 2 locked releases" in capsys.readouterr().out


def test_a_service_that_knows_no_release_is_skipped_with_a_warning(capsys):
    assert audit_verdict.verdict(0, report(not_found("aiofiles"), not_found("alembic")), "") == 0
    err = capsys.readouterr().err
    assert err.startswith("WARNING: the dependency audit could not run")
    assert "no locked package was checked" in err


def test_a_release_it_could_not_audit_while_the_service_answered_fails(capsys):
    assert audit_verdict.verdict(0, report(CLEAN, not_found("private-package")), "") == 1
    assert "private-package" in capsys.readouterr().err


def test_no_connection_to_the_service_is_skipped_with_a_warning(capsys):
    assert audit_verdict.verdict(1, None, NO_CONNECTION) == 0
    err = capsys.readouterr().err
    assert "WARNING: the dependency audit could not run" in err
    assert "Max retries exceeded" in err  # the cause, in pip-audit's words


@pytest.mark.parametrize("report_text", [None, "", "not json", '{"fixes": []}'])
def test_pip_audit_failing_for_another_reason_fails(capsys, report_text):
    log = "ERROR: invalid requirement: 'flask=='"
    assert audit_verdict.verdict(1, report_text, log) == 1
    assert "WARNING" not in capsys.readouterr().err
