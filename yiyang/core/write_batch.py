"""Row writes of one transaction that travel to PostgreSQL together: one statement, one round trip.

An order's step writes its transition, its own row and an audit row, and nothing reads them back
before the transaction ends. On PostgreSQL each statement is a round trip to the server (and on a
busy machine two context switches); here they wait in a queue and leave as one statement:

    WITH w0 AS (INSERT … RETURNING id), w1 AS (UPDATE … RETURNING 1), w2 AS (INSERT … RETURNING id)
    SELECT (SELECT * FROM w0), (SELECT count(*) FROM w1), (SELECT * FROM w2)

Nothing is reordered where it could matter: any other statement of the connection (a read, a
savepoint) sends the queue first, so the transaction always sees its own writes; the queue leaves
when the block ends, inside the transaction, before its commit; a row is never updated twice in one
statement (PostgreSQL forbids it). Each write's SQL is Django's (`core.prepared` compiles it).
On SQLite, which runs in-process, writes are simply made at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

from yiyang.core.hot_cursor import hot_cursor


@dataclass
class _Write:
    sql: str
    params: list
    model: type[Model]
    # An insert: receives the new row's key. None for an update, whose row count is checked.
    returns: Callable[[Any], None] | None
    row: tuple | None = None  # an update's (table, pk)


def _queue(connection) -> list[_Write] | None:
    return connection.__dict__.get("_yiyang_write_queue")


@contextmanager
def writes_batched(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Inside `transaction.atomic()`: let this block's hot-path writes (`core.prepared`) travel together."""
    connection = connections[using]
    if connection.vendor != "postgresql" or _queue(connection) is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("writes_batched() belongs inside transaction.atomic()")
    connection._yiyang_write_queue = []
    try:
        with connection.execute_wrapper(_send_queue_first):
            yield
            flush(connection)
    finally:
        connection._yiyang_write_queue = None


def queued(connection, sql: str, params: list, *, model: type[Model], returns=None, row: tuple | None = None) -> bool:
    """Queue a write if a batch is open on this connection; False when the caller must run it now."""
    queue = _queue(connection)
    if queue is None:
        return False
    if row is not None and any(w.row == row for w in queue):
        flush(connection)  # one statement may not update a row twice
    queue.append(_Write(sql, params, model, returns, row))
    return True


def _send_queue_first(execute, sql, params, many, context):
    connection = context["connection"]
    if _queue(connection):
        flush(connection)
    return execute(sql, params, many, context)


def flush(connection) -> None:
    queue = _queue(connection)
    if not queue:
        return
    writes = list(queue)
    queue.clear()  # before executing: the statement below passes through _send_queue_first too
    cursor = hot_cursor(connection)
    if len(writes) == 1:
        (write,) = writes
        cursor.execute(write.sql, write.params)
        _finish(write, cursor.fetchone()[0] if write.returns else cursor.rowcount)
        return
    # Only Django's compiled statements and the CTEs' own names go into the SQL; values stay parameters.
    parts, params, results = [], [], []
    for n, write in enumerate(writes):
        parts.append(f"w{n} AS ({write.sql})" if write.returns else f"w{n} AS ({write.sql} RETURNING 1)")
        params.extend(write.params)
        results.append(f"(SELECT * FROM w{n})" if write.returns else f"(SELECT count(*) FROM w{n})")  # noqa: S608
    cursor.execute(f"WITH {', '.join(parts)} SELECT {', '.join(results)}", params)  # noqa: S608
    row = cursor.fetchone()
    for write, value in zip(writes, row, strict=True):
        _finish(write, value)


def _finish(write: _Write, value) -> None:
    if write.returns is not None:
        write.returns(value)
    elif value == 0:
        raise write.model.NotUpdated("Save with update_fields did not affect any rows.")
