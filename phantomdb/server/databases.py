"""Handlers of the database calls and of the table schema calls.

Schema calls only choose the connection (a pooled one or the caller's
transaction's) and hand over to ``schema``, which owns the PhantomDB type
dialect and the DDL.
"""

from __future__ import annotations

from phantomdb.server import schema
from phantomdb.server.leases import Lease
from phantomdb.server.messages import Request, Response, invalid, json_response, no_content, text_field


async def list_databases(request: Request) -> Response:
    return json_response({"databases": [{"name": name} for name in request.app.storage.names()]})


async def create_database(request: Request) -> Response:
    name = text_field(request.json_object(), "name", required=True)
    await request.app.statements.call(request.app.storage.create, name)
    return json_response({"name": name}, 201)


async def clone_database(request: Request) -> Response:
    """A new database holding a copy of ``{db}``'s committed state (test runners' parallel workers)."""
    name = text_field(request.json_object(), "name", required=True)
    storage = request.app.storage
    pool = storage.pool(request.params["db"])
    conn = pool.acquire()
    try:
        await request.app.statements.run(conn, storage.clone, name)
    finally:
        pool.release(conn)
    return json_response({"name": name}, 201)


async def describe_database(request: Request) -> Response:
    async with Lease(request) as lease:
        description = await lease.run(lambda conn: request.app.storage.describe(lease.database, conn))
    return json_response(description)


async def drop_database(request: Request) -> Response:
    name = request.params["db"]
    storage = request.app.storage
    storage.pool(name)  # database_not_found before anything is touched
    request.app.transactions.close_database(name)
    storage.drop(name)
    return no_content()


# Tables ---------------------------------------------------------------------


def _after_ddl(lease: Lease) -> None:
    # A table rebuild may switch connection settings (foreign_keys) off and on:
    # a pooled connection is not trusted afterwards.
    if lease.transaction is None:
        lease.conn.dirty = True


async def list_tables(request: Request) -> Response:
    async with Lease(request) as lease:
        tables = await lease.run(schema.list_tables)
    return json_response({"tables": tables})


async def create_table(request: Request) -> Response:
    spec = request.json_object()
    async with Lease(request) as lease:
        try:
            description = await lease.run(schema.create_table, spec)
        finally:
            _after_ddl(lease)
    return json_response(description, 201)


async def describe_table(request: Request) -> Response:
    async with Lease(request) as lease:
        description = await lease.run(schema.describe_table, request.params["table"])
    return json_response(description)


async def alter_table(request: Request) -> Response:
    operations = request.json_object().get("operations")
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise invalid("'operations' must be a list of objects")
    async with Lease(request) as lease:
        try:
            description = await lease.run(schema.alter_table, request.params["table"], operations)
        finally:
            _after_ddl(lease)
    return json_response(description)


async def drop_table(request: Request) -> Response:
    async with Lease(request) as lease:
        try:
            await lease.run(schema.drop_table, request.params["table"])
        finally:
            _after_ddl(lease)
    return no_content()
