"""Run Django's own test suite against phantomdb_django and print the counts.

Downloads the source distribution of the installed Django (once, into
``.django-src/``), starts a PhantomDB Lite process, and runs
``tests/runtests.py`` with ``settings_phantomdb`` on the public app list
(what CI runs), on the apps named, or on Django's whole suite (``--all``:
every app of its ``tests/`` folder; runtests.py leaves out ``gis_tests``,
which needs a GIS backend):

    python tests/django_suite/run.py [--backend sqlite3] [--cache off] [--embedded] [--parallel N]
        [--all | app ...]

``--embedded`` runs phantomdb on the PhantomDB Lite the backend embeds in the
test process (``HOST`` empty), whose calls go in process, not over HTTP.

``--parallel N`` runs N worker processes, each on its own clone of the test
databases (default 1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = ROOT / ".django-src"

sys.path.insert(0, str(ROOT))
from tests.conftest import start_server  # noqa: E402

APPS = (
    "queries or_lookups xor_lookups null_queries custom_lookups raw_query distinct_on_fields ordering "
    "expressions expressions_window aggregation aggregation_regress annotations basic update "
    "update_only_fields delete bulk_create many_to_one many_to_many one_to_one m2m_regress "
    "select_related generic_relations model_inheritance custom_pk composite_pk transactions "
    "select_for_update migrations backends introspection indexes model_fields datetimes dates "
    "field_defaults fixtures fixtures_regress"
).split()

_source_lock = threading.Lock()
_RAN = re.compile(r"^Ran (\d+) tests? in ([\d.]+)s", re.MULTILINE)
_COUNTS = re.compile(r"(failures|errors|skipped|expected failures|unexpected successes)=(\d+)")


@dataclass
class SuiteResult:
    ran: int
    failures: int
    errors: int
    skipped: int
    expected_failures: int
    unexpected_successes: int
    seconds: float

    @property
    def passed(self) -> int:
        return self.ran - self.failures - self.errors - self.skipped - self.expected_failures

    def summary(self) -> str:
        return (
            f"ran {self.ran}: passed {self.passed}, failed {self.failures}, errors {self.errors}, "
            f"skipped {self.skipped}, expected failures {self.expected_failures}, "
            f"unexpected successes {self.unexpected_successes} in {self.seconds:.0f} s"
        )


def django_source() -> Path:
    """The ``tests`` directory of the installed Django's source distribution."""
    with _source_lock:  # runs side by side share one download
        return _django_source()


def _django_source() -> Path:
    version = django.get_version()
    target = CACHE / f"Django-{version}"
    if not (target / "tests" / "runtests.py").exists():
        CACHE.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as download:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                 f"django=={version}", "-d", download],
                check=True,
            )
            (archive,) = Path(download).glob("*.tar.gz")
            with tarfile.open(archive) as tar:
                tar.extractall(CACHE, filter="data")
        extracted = next(CACHE.glob(f"[Dd]jango-{version}"))
        if extracted != target:
            extracted.rename(target)
    return target / "tests"


def parse(output: str, seconds: float) -> SuiteResult:
    ran = _RAN.findall(output)
    if not ran:
        raise RuntimeError("runtests.py printed no 'Ran N tests' line:\n" + output[-3000:])
    counts = {name: int(value) for name, value in _COUNTS.findall(output.rsplit("\nRan ", 1)[-1])}
    return SuiteResult(
        ran=int(ran[-1][0]),
        failures=counts.get("failures", 0),
        errors=counts.get("errors", 0),
        skipped=counts.get("skipped", 0),
        expected_failures=counts.get("expected failures", 0),
        unexpected_successes=counts.get("unexpected successes", 0),
        seconds=seconds,
    )


def run_suite(
    apps: list[str],
    backend: str = "phantomdb",
    verbosity: int = 1,
    cache: str = "on",
    parallel: int = 1,
    embedded: bool = False,
) -> tuple[SuiteResult, str]:
    """Run ``apps``; on phantomdb against a PhantomDB Lite process over HTTP, or with
    ``embedded`` on the one the backend starts in the test process (called in process)."""
    tests_dir = django_source()
    python_path = os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": python_path, "PHANTOMDB_CACHE": cache}
    server = None
    if backend == "phantomdb":
        data_dir = Path(tempfile.mkdtemp(prefix="phantomdb-django-suite-"))
        if embedded:
            env["PHANTOMDB_URL"] = ""
            env["PHANTOMDB_DATA_DIR"] = str(data_dir)
        else:
            server = start_server(data_dir, "--durability", "off", "--transaction-timeout", "600")
            env["PHANTOMDB_URL"] = server.url
    command = [sys.executable, "runtests.py", f"--settings=settings_{backend}", "--noinput",
               f"--parallel={parallel}", f"-v{verbosity}", *apps]
    started = time.monotonic()
    try:
        completed = subprocess.run(command, cwd=tests_dir, env=env, capture_output=True, text=True)
    finally:
        if server is not None:
            server.stop()
    output = completed.stdout + completed.stderr
    return parse(output, time.monotonic() - started), output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apps", nargs="*", help="Django test apps (default: the public list)")
    parser.add_argument("--all", action="store_true", help="Django's whole suite, except gis_tests")
    parser.add_argument("--backend", choices=["phantomdb", "sqlite3"], default="phantomdb")
    parser.add_argument("--cache", choices=["on", "off"], default="on", help="phantomdb's query cache")
    parser.add_argument("--parallel", type=int, default=1, metavar="N", help="worker processes (default 1)")
    parser.add_argument(
        "--embedded", action="store_true", help="phantomdb on the embedded server, called in process"
    )
    parser.add_argument("--output", type=Path, help="write runtests.py's full output here")
    parser.add_argument("--json", type=Path, help="write the counts here as JSON")
    arguments = parser.parse_args()
    if arguments.all and arguments.apps:
        parser.error("--all runs every app; name apps or give --all, not both")
    # runtests.py without labels runs every app of Django's tests/ folder.
    apps = [] if arguments.all else arguments.apps or list(APPS)
    if arguments.parallel < 1:
        parser.error("--parallel needs at least one process")
    result, output = run_suite(
        apps,
        arguments.backend,
        cache=arguments.cache,
        parallel=arguments.parallel,
        embedded=arguments.embedded,
    )
    if arguments.output:
        arguments.output.write_text(output)
    if arguments.json:
        arguments.json.write_text(json.dumps({**asdict(result), "passed": result.passed}))
    print(output[-20000:] if arguments.output is None else "")
    cache = f" (query cache {arguments.cache})" if arguments.backend == "phantomdb" else ""
    print(f"Django {django.get_version()} suite on {arguments.backend}{cache}: {result.summary()}")
    return 0 if result.failures == result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
