"""Quick reads run on the event loop itself; a read that overruns the budget moves to a worker."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantomdb.server.config import Settings
from phantomdb.server.statements import INLINE_BUDGET, Statements, may_run_inline
from phantomdb.server.storage import StorageConnection, connect
from tests.server.conftest import Api

# Counts to N through SQLite's VM: about 0.3 us a step here, so 300,000 take far longer than the budget.
COUNT_TO = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) FROM c"
)
LONG_COUNT = 300_000


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[StorageConnection]:
    connection = connect(tmp_path / "inline.sqlite3", Settings())
    yield connection
    connection.close()


@pytest.fixture
def statements() -> Iterator[Statements]:
    work = Statements(Settings())
    yield work
    work.close()


def _counted(threads: list[int]) -> Any:
    def count(conn: StorageConnection, limit: int) -> int:
        threads.append(threading.get_ident())
        return conn.execute(COUNT_TO, [limit]).fetchone()[0]

    return count


def _run(statements: Statements, *args: Any, **kwargs: Any) -> tuple[Any, int]:
    """``statements.run(...)`` in a fresh event loop; its result and the loop's thread."""

    async def main() -> tuple[Any, int]:
        return await statements.run(*args, **kwargs), threading.get_ident()

    return asyncio.run(main())


def test_a_quick_read_runs_on_the_loop_thread(conn: StorageConnection, statements: Statements) -> None:
    threads: list[int] = []
    result, loop_thread = _run(statements, conn, _counted(threads), 10, read=COUNT_TO)
    assert result == 10
    assert threads == [loop_thread]


def test_a_read_over_the_budget_is_run_again_on_a_worker_and_later_runs_go_there_first(
    conn: StorageConnection, statements: Statements
) -> None:
    threads: list[int] = []
    result, loop_thread = _run(statements, conn, _counted(threads), LONG_COUNT, read=COUNT_TO)
    assert result == LONG_COUNT  # the whole answer, not one cut at the budget
    assert threads[0] == loop_thread and threads[1] != loop_thread and len(threads) == 2
    threads.clear()
    result, loop_thread = _run(statements, conn, _counted(threads), 10, read=COUNT_TO)
    assert result == 10
    assert len(threads) == 1 and threads[0] != loop_thread


def test_work_that_is_not_a_read_never_runs_on_the_loop(
    conn: StorageConnection, statements: Statements
) -> None:
    threads: list[int] = []
    result, loop_thread = _run(statements, conn, _counted(threads), 10)
    assert result == 10
    assert len(threads) == 1 and threads[0] != loop_thread


def test_an_inline_read_error_is_the_error_the_client_sees(
    conn: StorageConnection, statements: Statements
) -> None:
    def bad(conn: StorageConnection) -> None:
        conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(Exception, match="no_such_table") as raised:
        _run(statements, conn, bad, read="SELECT * FROM no_such_table")
    assert getattr(raised.value, "code", None) == "table_not_found"
    assert conn.execute("SELECT 1").fetchone() == (1,)  # no progress handler left behind


def test_a_long_read_in_a_transaction_leaves_the_transaction_going(api: Api, db: str) -> None:
    """Interrupting the inline attempt of a SELECT must not roll the client's transaction back."""
    api.query(db, "CREATE TABLE t (x INTEGER)")
    transaction = api.begin(db)
    headers = {"PhantomDB-Transaction": transaction}
    assert api.post(f"/databases/{db}/tables/t", json={"x": 1}, headers=headers).status_code == 201
    for _ in range(2):  # the first run is interrupted on the loop, the second goes to a worker
        response = api.post(
            f"/databases/{db}/query", json={"query": COUNT_TO, "params": [LONG_COUNT]}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["rows"] == [[LONG_COUNT]]
    assert api.post(f"/transactions/{transaction}/commit").status_code == 204
    assert api.rows(db, "SELECT x FROM t") == [[1]]


@pytest.mark.parametrize(
    "sql, inline",
    [
        ('SELECT "id", "name" FROM "t" WHERE (\n"id" = ?\n) LIMIT ? OFFSET ?', True),
        ('SELECT "id" FROM "t" WHERE ("id" IN (?, ?, ?)) ORDER BY "id"', True),
        ('SELECT "a"."id" FROM "a" INNER JOIN "b" ON ("a"."b_id" = "b"."id") WHERE "b"."x" > ?', True),
        # One step each that no progress handler can interrupt:
        ('SELECT COUNT(*) AS "__count" FROM "t"', False),
        ('SELECT "id" FROM "t" WHERE "name" REGEXP ?', False),
        ('SELECT "id" FROM "t" WHERE "name" LIKE ? ESCAPE \'\\\'', False),
        ("SELECT length(randomblob(?))", False),
        ('SELECT "id" FROM "t" WHERE CASEFOLD("name") = CASEFOLD(?)', False),
    ],
)
def test_only_reads_whose_every_step_is_short_may_try_the_loop(sql: str, inline: bool) -> None:
    assert may_run_inline(sql) is inline


def test_a_read_that_held_the_loop_past_the_budget_goes_to_a_worker_next_time(
    conn: StorageConnection, statements: Statements
) -> None:
    """A step the progress handler cannot interrupt still finishes inline, once."""
    threads: list[int] = []

    def one_long_step(conn: StorageConnection) -> int:
        threads.append(threading.get_ident())
        time.sleep(INLINE_BUDGET * 5)
        return 1

    assert _run(statements, conn, one_long_step, read="SELECT slow")[0] == 1
    _, loop_thread = _run(statements, conn, one_long_step, read="SELECT slow")
    assert len(threads) == 2 and threads[1] != loop_thread
