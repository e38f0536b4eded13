"""The example project under gunicorn with 2 workers, prometheus-client in multiprocess mode:
the scraped totals are the sums of what every worker did."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import free_port, start_server
from tests.e2e.test_demo import EXAMPLES, manage, wait_until_serving

HERE = Path(__file__).resolve().parent
REQUESTS = 40


def counter(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for match in re.finditer(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', match[1]))
        if all(have.get(key) == value for key, value in labels.items()):
            total += float(match[2])
    return total


def test_two_workers_report_every_request_they_served(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--durability", "off")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PHANTOMDB_HOST": server.url,
        "DJANGO_DEBUG": "0",
        "PYTHONPATH": os.pathsep.join([str(EXAMPLES), str(HERE.parents[1])]),
    }
    port = free_port()
    gunicorn = None
    try:
        requests.post(f"{server.url}/databases", json={"name": "myapp"}, timeout=10).raise_for_status()
        manage(env, "migrate", "--noinput")
        manage(env, "load_sample_data")
        # Only the web workers write metrics files (not the manage.py commands before them).
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(HERE / "gunicorn_conf.py"),
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "demo.wsgi",
            ],
            cwd=EXAMPLES,
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url + "/metrics", gunicorn, "gunicorn")
        with requests.Session() as session:
            for _ in range(REQUESTS):
                response = session.get(url + "/", headers={"Connection": "close"}, timeout=10)
                assert response.status_code == 200
            metrics = session.get(url + "/metrics", timeout=10).text
        count = counter(metrics, "phantomdb_cache_requests_total", alias="default", table="users")
        joins = counter(
            metrics, "phantomdb_cache_requests_total", alias="default", table="profiles,users"
        )
        # The page reads the users with their profiles (a join) and counts the users: two reads a request.
        (tmp_path / "scraped.txt").write_text(metrics)
        assert joins == REQUESTS and count == REQUESTS, (joins, count, tmp_path)
        workers = {path.name.split("_")[-1] for path in metrics_dir.glob("*.db")}
        assert len(workers) >= 2, workers
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=20)
        server.stop()
