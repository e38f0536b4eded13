"""The example project under gunicorn with 2 workers, prometheus-client in multiprocess mode:
the scraped totals are the sums of what every worker did."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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


def workers(metrics_dir: Path) -> set[str]:
    """The process ids of the workers that wrote metrics (one file per metric type and process)."""
    return {path.stem.split("_")[-1] for path in metrics_dir.glob("*.db")}


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
        # Rounds of concurrent requests until both workers served some: which worker
        # accepts a connection is up to them, and the second one may boot later.
        sent = 0
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(4) as pool:
            while not (sent and (len(workers(metrics_dir)) >= 2 or time.monotonic() > deadline)):
                pages = pool.map(lambda _: requests.get(url + "/", timeout=10), range(REQUESTS))
                assert [page.status_code for page in pages] == [200] * REQUESTS
                sent += REQUESTS
        metrics = requests.get(url + "/metrics", timeout=10).text
        count = counter(metrics, "phantomdb_cache_requests_total", alias="default", table="users")
        joins = counter(
            metrics, "phantomdb_cache_requests_total", alias="default", table="profiles,users"
        )
        # The page reads the users with their profiles (a join) and counts the users: two reads a request.
        (tmp_path / "scraped.txt").write_text(metrics)
        assert joins == sent and count == sent, (joins, count, sent, tmp_path)
        assert len(workers(metrics_dir)) >= 2, workers(metrics_dir)
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=20)
        server.stop()
