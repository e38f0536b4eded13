"""Property-based fuzzing (hypothesis) of request parsing and value decoding.

In process, thousands of generated query strings, bodies and ``$`` values go
through the server's own parsing; the only failure allowed is an ``ApiError``
with a 4xx status. Over HTTP, a bounded run sends generated requests to a real
server, which must never answer 5xx.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phantomdb.server.errors import ApiError
from phantomdb.server.messages import Request, json_list, parse_query
from phantomdb.server.values import bind_values
from tests.server.conftest import Api

TAGS = ["$bytes", "$decimal", "$date", "$time", "$datetime", "$duration", "$uuid", "$float", "$other"]
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
payloads = scalars | st.lists(scalars, max_size=3) | st.dictionaries(st.text(max_size=5), scalars, max_size=2)
typed = st.builds(lambda tag, payload: {tag: payload}, st.sampled_from(TAGS), payloads)
values = st.recursive(
    scalars | typed,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(TAGS), inner, max_size=2),
    max_leaves=20,
)
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_4xx(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except ApiError as exc:
        assert 400 <= exc.status < 500, exc.message


@FUZZ
@given(st.lists(values, max_size=5))
def test_any_parameter_list_decodes_or_is_a_4xx(params: list[Any]) -> None:
    _only_4xx(bind_values, params)


@FUZZ
@given(st.binary(max_size=300))
def test_any_query_string_parses_or_is_a_4xx(raw: bytes) -> None:
    def parse() -> None:
        request = Request(None, "GET", {}, raw)  # type: ignore[arg-type]
        request.query_value("condition")
        request.query_int("limit")
        request.query_bool("all")
        request.query_json_list("params")

    _only_4xx(parse)
    _only_4xx(parse_query, raw)


@FUZZ
@given(st.binary(max_size=300) | st.builds(lambda value: json.dumps(value).encode(), values))
def test_any_body_parses_or_is_a_4xx(body: bytes) -> None:
    def parse() -> None:
        request = Request(None, "POST", {}, b"")  # type: ignore[arg-type]
        request.body = body
        request.json_object()

    _only_4xx(parse)
    _only_4xx(json_list, "params", body.decode("utf-8", "replace"))


conditions = st.text(max_size=60) | st.sampled_from(["id = ?", "name LIKE ?", "x IS NULL", "id IN (?, ?)"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    condition=conditions,
    order_by=st.none() | st.text(max_size=20),
    params=st.lists(values, max_size=3),
    limit=st.none() | st.integers(-5, 5) | st.text(max_size=4),
)
def test_generated_table_calls_never_get_a_5xx(
    api: Api, users: str, condition: str, order_by: str | None, params: list[Any], limit: Any
) -> None:
    params_json = json.dumps(params)
    query = {"condition": condition, "params": params_json}
    if order_by is not None:
        query["order_by"] = order_by
    if limit is not None:
        query["limit"] = str(limit)
    responses = [
        api.get(f"/databases/{users}/tables/users", params=query),
        api.post(
            f"/databases/{users}/tables/users/select",
            data=json.dumps({"condition": condition, "params": params}),
        ),
        api.post(f"/databases/{users}/query", data=f'{{"query": "SELECT ?", "params": {params_json}}}'),
        api.post(f"/databases/{users}/tables/users", data=f'{{"name": "x", "email": {params_json}}}'),
    ]
    for response in responses:
        assert response.status_code < 500, response.text
