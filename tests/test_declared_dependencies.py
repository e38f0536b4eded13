"""Every third-party module the code and the tests import is declared in pyproject.toml.

A fresh virtual environment (scripts/test makes one per run) catches a
missing declaration only when nothing else happens to pull the module in;
this test catches it when something does (urllib3 arrives with requests,
jsonschema used to arrive with schemathesis).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("phantomdb", "phantomdb_django", "tests", "examples")
SKIPPED = {ROOT / "tests" / ".django-src"}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    """The project's dependencies and its [dev] extra, as normalized distribution names."""
    names = set()
    for requirement in importlib.metadata.requires("phantomdb-django") or ():
        if "extra ==" in requirement and 'extra == "dev"' not in requirement.replace("'", '"'):
            continue
        names.add(_normalized(re.match(r"[A-Za-z0-9._-]+", requirement).group()))
    return names


def imported_top_level_modules() -> dict[str, Path]:
    """Each top-level module imported anywhere in the scanned folders, with one file importing it."""
    modules: dict[str, Path] = {}
    for folder in SCANNED:
        for path in (ROOT / folder).rglob("*.py"):
            if any(parent in SKIPPED for parent in path.parents):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    modules.setdefault(name.split(".")[0], path)
    return modules


def local_modules() -> set[str]:
    """Packages and modules of this repository (apps of the example and test projects included)."""
    names = set()
    for folder in SCANNED:
        for path in (ROOT / folder).rglob("*.py"):
            names.add(path.stem)
            names.update(parent.name for parent in path.parents if parent.is_relative_to(ROOT))
    return names


def test_every_third_party_import_is_declared() -> None:
    providers = importlib.metadata.packages_distributions()
    declared = declared_distributions()
    local = local_modules()
    undeclared = {}
    for module, path in sorted(imported_top_level_modules().items()):
        if module in sys.stdlib_module_names or module == "__future__":
            continue
        distributions = {_normalized(name) for name in providers.get(module, ())}
        if distributions & declared or module in local:
            continue
        undeclared[module] = str(path.relative_to(ROOT))
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
