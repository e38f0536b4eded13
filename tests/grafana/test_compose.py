"""The observability stack's compose file parses, and what it names and mounts is in the repository."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_stack_has_its_five_services() -> None:
    assert set(compose()["services"]) == {"phantomdb", "app", "prometheus", "jaeger", "grafana"}


def test_every_mounted_file_exists_and_every_dependency_is_a_service() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for volume in service.get("volumes", ()):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
        assert set(service.get("depends_on", ())) <= set(services), name


def test_prometheus_scrapes_the_app_and_phantomdb_lite_of_the_stack() -> None:
    config = yaml.safe_load((ROOT / "grafana/prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets == {"django": "app:8000", "phantomdb-lite": "phantomdb:8080"}
    ports = {name: service["ports"] for name, service in compose()["services"].items()}
    assert "8000:8000" in ports["app"] and "8080:8080" in ports["phantomdb"]
