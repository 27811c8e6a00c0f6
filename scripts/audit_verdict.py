"""Read what `make audit`'s pip-audit run left and decide: pass, fail, or skip with a WARNING.

    python scripts/audit_verdict.py STATUS REPORT.json LOG

STATUS is pip-audit's exit status, REPORT its JSON report (`-f json -o`), LOG its stderr.

- a known vulnerability in any locked release fails, with its id and the fixed versions;
- the vulnerability service could not be reached (no connection, a timeout, an error answer; or
  it answered "not found" for every release, as a package mirror without the vulnerability API
  does) skips the audit with a plain WARNING: nothing was checked, and the output says so;
- some releases audited and others not fails: a package it cannot audit is not a clean one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NOT_FOUND = "Dependency not found"
# What pip-audit's log holds when it never got an answer about vulnerabilities (requests' and
# urllib3's exceptions, and pip-audit's own for an error answer).
UNREACHABLE = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "ProxyError",
    "SSLError",
    "Max retries exceeded",
    "Name or service not known",
    "Temporary failure in name resolution",
    "ServiceError",
)


def warn_skipped(reason: str) -> int:
    print(
        "WARNING: the dependency audit could not run: pip-audit's vulnerability service",
        file=sys.stderr,
    )
    print(f"WARNING: could not be reached ({reason}).", file=sys.stderr)
    print(
        "WARNING: no locked package was checked for known vulnerabilities; bandit and the tests"
        " still ran. Run `make audit` where the service answers.",
        file=sys.stderr,
    )
    return 0


def last_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def verdict(status: int, report: str | None, log: str) -> int:
    """The exit status of `make audit`, after printing what it means."""
    try:
        dependencies = json.loads(report)["dependencies"] if report else None
    except (ValueError, KeyError, TypeError):
        dependencies = None
    if dependencies is None:  # pip-audit stopped before writing its report
        if any(sign in log for sign in UNREACHABLE):
            return warn_skipped(last_line(log))
        print(log, file=sys.stderr)
        print(f"pip-audit failed (exit status {status}) without a report.", file=sys.stderr)
        return status or 1

    found = [
        (dep["name"], dep["version"], vuln["id"], vuln.get("fix_versions") or [])
        for dep in dependencies
        for vuln in dep.get("vulns") or []
    ]
    if found:
        print(f"pip-audit: {len(found)} known vulnerabilities in the locked dependencies:")
        for name, version, vuln_id, fixes in found:
            fixed = ", ".join(fixes) or "no fixed release yet"
            print(f"  {name} {version}: {vuln_id} (fixed in {fixed})")
        return 1
    if status:
        print(log, file=sys.stderr)
        print(f"pip-audit failed (exit status {status}).", file=sys.stderr)
        return status

    skipped = [dep for dep in dependencies if "skip_reason" in dep]
    knows_none = len(skipped) == len(dependencies)
    if skipped and knows_none and all(NOT_FOUND in dep["skip_reason"] for dep in skipped):
        return warn_skipped(f"it knows none of the {len(skipped)} locked releases")
    if skipped:
        print("pip-audit could not audit these locked releases:", file=sys.stderr)
        for dep in skipped:
            print(f"  {dep['name']}: {dep['skip_reason']}", file=sys.stderr)
        return 1
    print(f"pip-audit: no known vulnerabilities in {len(dependencies)} locked releases.")
    return 0


def main(argv: list[str]) -> int:
    status, report_path, log_path = int(argv[1]), Path(argv[2]), Path(argv[3])
    report = report_path.read_text("utf-8") if report_path.exists() else None
    log = log_path.read_text("utf-8", errors="replace") if log_path.exists() else ""
    return verdict(status, report, log)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
