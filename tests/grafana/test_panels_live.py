"""Every query of every panel, evaluated by a real Prometheus over metrics a real run exported.

PhantomDB Lite and the example project (runserver, on that server) run in
their own processes; a workload of reads, cache hits, writes, a rollback and
an error goes through the app over HTTP while Prometheus scrapes both every
second. Then each panel's query, its template variables replaced by the
values Prometheus has for them, must parse and return at least one series.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import free_port, start_server
from tests.e2e.test_demo import manage, runserver, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "grafana" / "dashboards"
RATE_INTERVAL = "30s"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    prometheus_binary = shutil.which("prometheus")
    if prometheus_binary is None:
        pytest.fail("prometheus is not installed: apt-get install prometheus (scripts/test does, as root)")
    workdir = tmp_path_factory.mktemp("stack")
    server = start_server(workdir / "phantomdb", "--durability", "off")
    processes: list[subprocess.Popen] = []
    try:
        requests.post(f"{server.url}/databases", json={"name": "myapp"}, timeout=10).raise_for_status()
        env = {
            **os.environ,
            "PHANTOMDB_HOST": server.url,
            "DJANGO_DEBUG": "0",
            "DJANGO_SUPERUSER_PASSWORD": "pw",
        }
        manage(env, "migrate", "--noinput")
        manage(env, "load_sample_data")
        manage(env, "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com")
        app, app_url = runserver(env)
        processes.append(app)
        prometheus_port = free_port()
        config = yaml.safe_load((ROOT / "grafana/prometheus/prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["rule_files"] = [str(ROOT / "grafana/prometheus/rules.yml")]
        server_address = server.url.removeprefix("http://")
        targets = {"django": app_url.removeprefix("http://"), "phantomdb-lite": server_address}
        for job in config["scrape_configs"]:
            job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        prometheus = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                "--enable-feature=exemplar-storage",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(prometheus)
        prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        wait_until_serving(prometheus_url + "/-/ready", prometheus, "prometheus")
        yield {"app": app_url, "prometheus": prometheus_url}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        server.stop()


def run_workload(app: str, stop: threading.Event) -> None:
    """Reads and hits all along; a write, a rollback and an error once."""
    with requests.Session() as session:
        session.get(app + "/admin/login/", timeout=10)
        token = session.cookies["csrftoken"]
        session.post(
            app + "/admin/login/",
            {"username": "admin", "password": "pw", "csrfmiddlewaretoken": token},
            timeout=10,
        )
        headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": app + "/"}
        changed = session.post(
            app + "/people/1/email", {"email": "renamed@example.com"}, headers=headers, timeout=10
        )
        assert changed.status_code == 200, changed.text
        refused = session.post(
            app + "/people/2/email", {"email": "renamed@example.com"}, headers=headers, timeout=10
        )
        assert refused.status_code == 409, refused.text  # an IntegrityError, rolled back
        while not stop.is_set():
            assert session.get(app + "/", timeout=10).status_code == 200
            stop.wait(0.2)


def prometheus_query(prometheus: str, expr: str) -> dict[str, Any]:
    response = requests.get(prometheus + "/api/v1/query", params={"query": expr}, timeout=10)
    return response.json()


def label_values(prometheus: str, query: str) -> list[str]:
    """What Grafana's ``label_values(metric{...}, label)`` gives, from Prometheus' series API."""
    match = re.fullmatch(r"label_values\((.+), (\w+)\)", query)
    assert match, query
    selector, label = match.groups()
    response = requests.get(prometheus + "/api/v1/series", params={"match[]": selector}, timeout=10).json()
    return sorted({series[label] for series in response["data"] if label in series})


def test_every_panel_query_parses_and_returns_series(stack: dict[str, str]) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=run_workload, args=(stack["app"], stop))
    worker.start()
    try:
        time.sleep(12)  # a dozen scrapes of both targets, the workload still running
        evaluated, failures = 0, []
        for path in sorted(DASHBOARDS.glob("*.json")):
            dashboard = json.loads(path.read_text())
            values: dict[str, str] = {}
            for variable in dashboard["templating"]["list"]:
                if variable["type"] != "query":
                    continue
                query = variable["query"]["query"]
                for name, value in values.items():
                    query = query.replace(f"${name}", value)
                found = label_values(stack["prometheus"], query)
                if not found:
                    failures.append(f"{path.name}: variable {variable['name']} has no values")
                # As Grafana does for a multi-value variable: a regex, escaped for a PromQL string.
                values[variable["name"]] = "|".join(re.escape(value).replace("\\", "\\\\") for value in found)
            for panel in dashboard["panels"]:
                for target in panel["targets"]:
                    expr = target["expr"].replace("$__rate_interval", RATE_INTERVAL)
                    for name, value in values.items():
                        expr = expr.replace(f"${name}", value)
                    answer = prometheus_query(stack["prometheus"], expr)
                    evaluated += 1
                    if answer.get("status") != "success":
                        failures.append(f"{path.name} / {panel['title']}: {answer.get('error')}")
                    elif not answer["data"]["result"]:
                        failures.append(f"{path.name} / {panel['title']}: no series for {expr}")
    finally:
        stop.set()
        worker.join(30)
    print(f"evaluated {evaluated} panel queries")
    assert not failures, "\n".join(failures)
    assert evaluated == sum(
        len(panel["targets"])
        for path in DASHBOARDS.glob("*.json")
        for panel in json.loads(path.read_text())["panels"]
    )
