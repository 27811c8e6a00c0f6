"""Settings the quotes code reads are declared in Config (read from the environment) and listed
in the README's Configuration table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ("STAFF_NOTIFY_EMAIL", "STEP_TIMEOUT", "STEP_WARM_WORKER", "UPLOAD_READ_AHEAD")


def config_under(env: dict[str, str]) -> dict:
    """Config's values in a fresh interpreter with exactly these quote variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    code = (
        "import json; from xometry_site.config import Config; "
        f"print(json.dumps({{k: getattr(Config, k, 'MISSING') for k in {SETTINGS!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_defaults():
    assert config_under({}) == {
        "STAFF_NOTIFY_EMAIL": None,
        "STEP_TIMEOUT": 60,
        "STEP_WARM_WORKER": True,
        "UPLOAD_READ_AHEAD": True,
    }


def test_read_from_the_environment():
    assert config_under(
        {
            "STAFF_NOTIFY_EMAIL": "sales@xometry.asia",
            "STEP_TIMEOUT": "12.5",
            "STEP_WARM_WORKER": "0",
            "UPLOAD_READ_AHEAD": "0",
        }
    ) == {
        "STAFF_NOTIFY_EMAIL": "sales@xometry.asia",
        "STEP_TIMEOUT": 12.5,
        "STEP_WARM_WORKER": False,
        "UPLOAD_READ_AHEAD": False,
    }


@pytest.mark.parametrize("name", SETTINGS)
def test_listed_in_the_readme_configuration_table(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and f"`{name}`" in line]
    assert rows, f"{name} is missing from README's Configuration table"
