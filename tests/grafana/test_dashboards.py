"""A structural lint of every dashboard, after the rules of Grafana's dashboard-linter.

Datasource variable on every panel and target, no hard-coded datasource uid,
units set, ``$__rate_interval`` in every rate, counters only inside
rate/increase, unique panel ids, no duplicate titles, a description on every
panel, variables built with ``label_values``, exemplars on latency panels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

DASHBOARDS = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"
UIDS = {
    "overview.json": "phantomdb-overview",
    "cache.json": "phantomdb-cache",
    "server.json": "phantomdb-server",
}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_RANGE = re.compile(r"\b(?:rate|irate|increase)\(\s*[a-z_:]+(?:\{[^}]*\})?\[([^\]]+)\]\)")
_COUNTER = re.compile(r"\b[a-z_:]+(?:_total|_count|_sum|_bucket)\b")
_INSIDE_RANGE = re.compile(r"\b(?:rate|irate|increase)\(\s*$")


def dashboards() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, json.loads(path.read_text())) for path in sorted(DASHBOARDS.glob("*.json"))]


def targets(dashboard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(panel, target) for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_three_dashboards_ship_with_stable_uids() -> None:
    assert {name: dashboard["uid"] for name, dashboard in dashboards()} == UIDS


@pytest.mark.parametrize(("name", "dashboard"), dashboards(), ids=[name for name, _ in dashboards()])
class TestDashboard:
    def test_a_datasource_variable_is_used_by_every_panel_and_target(
        self, name: str, dashboard: dict
    ) -> None:
        variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
        assert (
            variables["datasource"]["type"] == "datasource"
            and variables["datasource"]["query"] == "prometheus"
        )
        for panel, target in targets(dashboard):
            assert panel["datasource"] == DATASOURCE, panel["title"]
            assert target["datasource"] == DATASOURCE, panel["title"]
        text = json.dumps(dashboard)
        assert '"uid": "prometheus"' not in text and '"uid": "jaeger"' not in text

    def test_query_variables_are_label_values_of_the_datasource(self, name: str, dashboard: dict) -> None:
        queries = [variable for variable in dashboard["templating"]["list"] if variable["type"] == "query"]
        assert queries
        for variable in queries:
            assert variable["datasource"] == DATASOURCE
            assert variable["query"]["query"].startswith("label_values(")

    def test_every_panel_has_a_unique_id_and_title_a_description_and_a_unit(
        self, name: str, dashboard: dict
    ) -> None:
        panels = dashboard["panels"]
        assert len({panel["id"] for panel in panels}) == len(panels)
        assert len({panel["title"] for panel in panels}) == len(panels)
        for panel in panels:
            assert panel["description"].strip(), panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]

    def test_every_rate_uses_the_rate_interval(self, name: str, dashboard: dict) -> None:
        for panel, target in targets(dashboard):
            windows = _RANGE.findall(target["expr"])
            assert all(window == "$__rate_interval" for window in windows), (panel["title"], windows)

    def test_counters_appear_only_inside_rate_or_increase(self, name: str, dashboard: dict) -> None:
        for panel, target in targets(dashboard):
            expr = target["expr"]
            for match in _COUNTER.finditer(expr):
                assert _INSIDE_RANGE.search(expr[: match.start()]), (panel["title"], match.group())

    def test_latency_panels_show_exemplars(self, name: str, dashboard: dict) -> None:
        for panel, target in targets(dashboard):
            if "db_client_operation_duration_seconds_bucket" in target["expr"]:
                assert target["exemplar"] is True, panel["title"]
