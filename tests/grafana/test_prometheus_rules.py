"""The shipped Prometheus configuration and rules, checked by promtool (Debian's prometheus package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS = Path(__file__).resolve().parents[2] / "grafana" / "prometheus"


def promtool(*args: str) -> str:
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (scripts/test does, as root)")
    completed = subprocess.run(
        [executable, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout + completed.stderr


def test_the_prometheus_config_is_valid() -> None:
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")


def test_the_rules_are_valid() -> None:
    assert "SUCCESS: 10 rules found" in promtool("check", "rules", "rules.yml")


def test_each_alert_fires_when_it_should_and_not_otherwise() -> None:
    assert "SUCCESS" in promtool("test", "rules", "rules_test.yml")


def test_every_alert_has_a_runbook_line() -> None:
    import yaml

    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    alerts = [rule for group in groups for rule in group["rules"] if "alert" in rule]
    assert len(alerts) == 6
    assert all(rule["annotations"]["runbook"].strip() and rule["annotations"]["summary"] for rule in alerts)
