"""``QuerySet.iterator()`` streams: rows come from the server as Django fetches them.

On a PhantomDB Lite that streams every result longer than 25 rows, so that
each iteration below crosses many chunks, in and out of transactions.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
from django.db import transaction

import phantomdb
from phantomdb_django import cache
from tests.backend.conftest import extra_database
from tests.backend.testapp.models import Auto
from tests.conftest import start_server

ALIAS = "streaming"
ROWS = 400


@pytest.fixture(scope="module")
def streaming_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_server(tmp_path_factory.mktemp("streaming"), "--max-rows", "25", "--durability", "off")
    with phantomdb.PhantomDB(server.url) as client:
        client.create_database("streaming")
    yield server.url
    server.stop()


@pytest.fixture
def autos(streaming_server: str) -> Iterator[None]:
    """``Auto`` rows labelled 0 .. ROWS-1 on the ``streaming`` alias."""
    with extra_database(ALIAS, HOST=streaming_server, NAME="streaming") as conn:
        with conn.schema_editor() as editor:
            editor.create_model(Auto)
        Auto.objects.using(ALIAS).bulk_create(Auto(label=str(n)) for n in range(ROWS))
        try:
            yield
        finally:
            with conn.schema_editor() as editor:
                editor.delete_model(Auto)


def labels(autos: Iterator[Auto]) -> list[int]:
    return [int(auto.label) for auto in autos]


def test_iterator_reads_every_row_in_order(autos: None) -> None:
    assert labels(Auto.objects.using(ALIAS).order_by("id").iterator(chunk_size=7)) == list(range(ROWS))


def test_iterator_with_a_save_per_row_inside_a_transaction(autos: None) -> None:
    with transaction.atomic(using=ALIAS):
        for auto in Auto.objects.using(ALIAS).order_by("id").iterator(chunk_size=50):
            auto.label = f"{auto.label}!"
            auto.save(using=ALIAS)
    assert Auto.objects.using(ALIAS).filter(label__endswith="!").count() == ROWS


def test_leaving_an_iterator_early_inside_a_transaction_keeps_the_transaction(autos: None) -> None:
    with transaction.atomic(using=ALIAS):
        for auto in Auto.objects.using(ALIAS).order_by("id").iterator(chunk_size=10):
            if auto.label == "30":
                break
        Auto.objects.using(ALIAS).create(label="after")
    assert Auto.objects.using(ALIAS).filter(label="after").exists()


def test_leaving_an_iterator_early_in_autocommit(autos: None) -> None:
    first = next(Auto.objects.using(ALIAS).order_by("id").iterator(chunk_size=10))
    assert first.label == "0"
    assert Auto.objects.using(ALIAS).count() == ROWS


def test_streamed_reads_are_never_cached(autos: None) -> None:
    before = cache.stats(ALIAS)
    for _ in range(2):
        assert len(labels(Auto.objects.using(ALIAS).iterator(chunk_size=100))) == ROWS
    after = cache.stats(ALIAS)
    assert after["hits"] == before["hits"]
    assert after["bypasses"]["streamed"] - before["bypasses"].get("streamed", 0) == 2


def peak_bytes(read: object) -> int:
    tracemalloc.start()
    try:
        read()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_iterator_memory_stays_flat_where_a_list_holds_every_row(autos: None) -> None:
    Auto.objects.using(ALIAS).bulk_create(Auto(label=str(n)) for n in range(ROWS, 8000))
    people = Auto.objects.using(ALIAS).order_by("id")

    def streamed() -> int:
        return sum(1 for _ in people.iterator(chunk_size=10))

    def whole() -> int:
        return len(list(people.all()))

    assert streamed() == whole() == 8000  # each once first: what stays cached is not counted
    assert peak_bytes(streamed) * 5 < peak_bytes(whole)
