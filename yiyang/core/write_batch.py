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

One exception: a read that names none of the queued tables while only inserts wait (a check-out's
payment locks the provider's row after queueing the transition and audit rows) does not send them
first. The read cannot see them anyway, and an insert into a table with no unique key of its own never
waits for another transaction (foreign keys are checked at commit), so sending it later cannot make a
deadlock. A rollback to a savepoint drops what is queued: it was queued after the savepoint.

A row whose insert waits in the queue has no key yet; `key_of(row)` stands in for it in the later writes
of the same batch (a transition of a new order, its audit row), and the statement takes it from the
insert's own CTE.

`batched_transaction()` is `transaction.atomic()` with a batch inside. When such a transaction sent
nothing before its writes (an order placed: the reads before it need no transaction) and they are all
inserts, they leave in autocommit as one statement, atomic by itself: no BEGIN and no COMMIT round
trips. (An update's missing row is found from its row count, after the statement: that needs the
transaction, to undo the rest.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model, UniqueConstraint
from psycopg.pq import ConnStatus, TransactionStatus

from yiyang.core.hot_cursor import hot_cursor


@dataclass
class _Write:
    sql: str
    params: list
    model: type[Model]
    # An insert: receives the new row's key. None for an update, whose row count is checked.
    returns: Callable[[Any], None] | None
    row: tuple | None = None  # an update's (table, pk)
    key: Any = None  # an insert's key, once it is known
    dropped: bool = False  # rolled back to a savepoint before it was sent
    # (instance, attribute, as text) of the rows whose values stand for this insert's key: set when it is known.
    dependants: list = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class QueuedKey:
    """The key a queued insert will get (`key_of`): a value for the later writes of the same batch."""

    write: _Write
    as_text: bool = False

    def __repr__(self) -> str:  # not the queued statement and its values, which may reach a log
        return f"<key of a queued {self.write.model._meta.label} row>"

    def stands_in(self, obj: Model, attname: str) -> None:
        """obj.attname holds this stand-in: give it the key once the insert is sent."""
        if self.write.key is None:
            self.write.dependants.append((obj, attname, self.as_text))
        else:
            setattr(obj, attname, _known(self))


def _queue(connection) -> list[_Write] | None:
    return connection.__dict__.get("_yiyang_write_queue")


@contextmanager
def batched_transaction(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """`transaction.atomic()` whose hot-path writes travel together (`writes_batched`); see the module's notes."""
    connection = connections[using]
    with transaction.atomic(using=using), _batch(connection, outermost=_ends_its_transaction(connection)):
        yield


def _ends_its_transaction(connection) -> bool:
    # The atomic block just entered is the outermost and commits when it ends (not one inside a
    # transaction opened by hand, which goes on after it).
    return len(connection.atomic_blocks) == 1 and connection.commit_on_exit


@contextmanager
def writes_batched(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Inside `transaction.atomic()`: let this block's hot-path writes (`core.prepared`) travel together."""
    with _batch(connections[using], outermost=False):
        yield


@contextmanager
def _batch(connection, *, outermost: bool) -> Iterator[None]:
    # outermost: the block ends its transaction (batched_transaction), so nothing follows its last flush.
    if connection.vendor != "postgresql" or _queue(connection) is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("writes_batched() belongs inside transaction.atomic()")
    connection._yiyang_write_queue = []
    try:
        with connection.execute_wrapper(_send_queue_first):
            yield
            if outermost and _only_inserts(connection) and _nothing_sent(connection):
                _flush_in_autocommit(connection)
            else:
                flush(connection)
    finally:
        connection._yiyang_write_queue = None


def _nothing_sent(connection) -> bool:
    # psycopg begins a transaction with its first statement: still idle means this one sent nothing yet.
    driver = connection.connection
    return driver is not None and driver.pgconn.transaction_status == TransactionStatus.IDLE and not driver.autocommit


def _only_inserts(connection) -> bool:
    # An update's row count is checked after its statement: in autocommit, too late to undo the rest.
    queue = _queue(connection)
    return bool(queue) and all(write.returns is not None for write in queue)


def _flush_in_autocommit(connection) -> None:
    driver = connection.connection
    driver.autocommit = True
    try:
        flush(connection)
    finally:
        # Django's commit at the block's end then finds nothing to commit. A connection lost meanwhile is
        # left as it is: its error is the one to report, and Django closes it.
        if driver.pgconn.status == ConnStatus.OK:
            driver.autocommit = False


def queued(connection, sql: str, params: list, *, model: type[Model], returns=None, row: tuple | None = None) -> _Write | None:
    """Queue a write if a batch is open on this connection; None when the caller must run it now."""
    queue = _queue(connection)
    if queue is None:
        return None
    if row is not None and any(w.row == row for w in queue):
        flush(connection)  # one statement may not update a row twice
    write = _Write(sql, params, model, returns, row)
    queue.append(write)
    return write


def key_of(obj: Model, *, as_text: bool = False):
    """The row's key; while its insert waits in the batch, a stand-in that later queued writes may use."""
    if obj.pk is not None:
        return str(obj.pk) if as_text else obj.pk
    write = getattr(obj._state, "queued_insert", None)
    if write is None:
        raise ValueError(f"{obj._meta.label} has no key: it was never saved")
    return QueuedKey(write, as_text=as_text)


def with_keys_known(connection, values: list) -> list:
    """`values` for a statement run now: each queued key replaced by the key, its insert sent first if need be."""
    if not any(type(v) is QueuedKey for v in values):
        return values
    if any(type(v) is QueuedKey and v.write.key is None for v in values):
        flush(connection)
    return [_known(v) if type(v) is QueuedKey else v for v in values]


def _known(value: QueuedKey):
    if value.write.key is None:
        raise ValueError(_unsent(value))
    return str(value.write.key) if value.as_text else value.write.key


def _unsent(value: QueuedKey) -> str:
    if value.write.dropped:
        return f"the {value.write.model._meta.label} row this key stands for was rolled back to a savepoint"
    return f"the {value.write.model._meta.label} row this key stands for was never sent"


def _send_queue_first(execute, sql, params, many, context):
    connection = context["connection"]
    queue = _queue(connection)
    if queue:
        if sql.startswith("ROLLBACK TO SAVEPOINT"):
            # Queued after the last statement, so after any savepoint: undone with it.
            for write in queue:
                write.dropped = True
            queue.clear()
        elif not _may_wait_behind(queue, sql):
            flush(connection)
    return execute(sql, params, many, context)


def _may_wait_behind(queue: list[_Write], sql: str) -> bool:
    """True when the queued writes may stay behind this statement (see the module's notes): it is a read
    naming none of their tables, and they are inserts that cannot wait for another transaction (no
    unique key of their own; foreign keys are checked at commit)."""
    if not sql.startswith("SELECT"):
        return False
    return all(write.returns is not None and not _has_unique_key(write.model) and write.model._meta.db_table not in sql for write in queue)


_UNIQUE_KEYS: dict[type[Model], bool] = {}


def _has_unique_key(model: type[Model]) -> bool:
    found = _UNIQUE_KEYS.get(model)
    if found is None:
        meta = model._meta
        found = _UNIQUE_KEYS[model] = (
            any(model_field.unique and not model_field.primary_key for model_field in meta.local_concrete_fields)
            or bool(meta.unique_together)
            or any(isinstance(constraint, UniqueConstraint) for constraint in meta.constraints)
        )
    return found


def flush(connection) -> None:
    queue = _queue(connection)
    if not queue:
        return
    writes = list(queue)
    queue.clear()  # before executing: the statement below passes through _send_queue_first too
    cursor = hot_cursor(connection)
    if len(writes) == 1:
        (write,) = writes
        cursor.execute(*_with_keys(write, {}))
        _finish(write, cursor.fetchone()[0] if write.returns else cursor.rowcount)
        return
    # Only Django's compiled statements and the CTEs' own names go into the SQL; values stay parameters.
    parts, params, results = [], [], []
    position = {}
    for n, write in enumerate(writes):
        sql, values = _with_keys(write, position)
        parts.append(f"w{n} AS ({sql})" if write.returns else f"w{n} AS ({sql} RETURNING 1)")
        params.extend(values)
        results.append(f"(SELECT * FROM w{n})" if write.returns else f"(SELECT count(*) FROM w{n})")  # noqa: S608
        position[id(write)] = n
    cursor.execute(f"WITH {', '.join(parts)} SELECT {', '.join(results)}", params)  # noqa: S608
    row = cursor.fetchone()
    for write, value in zip(writes, row, strict=True):
        _finish(write, value)


def _with_keys(write: _Write, position: dict[int, int]) -> tuple[str, list]:
    """The write's SQL and values, each queued key replaced: by its value when its insert was sent before,
    else by its insert's CTE (`position`: the CTE number of each write earlier in this statement)."""
    if not any(type(v) is QueuedKey for v in write.params):
        return write.sql, write.params
    pieces = write.sql.split("%s")
    if len(pieces) != len(write.params) + 1 or "%%" in write.sql:
        raise ValueError("a queued key can only stand in a statement whose every value is a parameter")
    sql, values = [pieces[0]], []
    for value, piece in zip(write.params, pieces[1:], strict=True):
        if type(value) is not QueuedKey:
            sql.append("%s")
            values.append(value)
        elif value.write.key is not None:
            sql.append("%s")
            values.append(_known(value))
        elif id(value.write) in position:
            cte = f"(SELECT * FROM w{position[id(value.write)]})"  # noqa: S608
            sql.append(f"CAST({cte} AS text)" if value.as_text else cte)
        else:
            raise ValueError(_unsent(value))
        sql.append(piece)
    return "".join(sql), values


def _finish(write: _Write, value) -> None:
    if write.returns is not None:
        write.key = value
        write.returns(value)
        for obj, attname, as_text in write.dependants:
            setattr(obj, attname, str(value) if as_text else value)
        write.dependants.clear()
    elif value == 0:
        raise write.model.NotUpdated("Save with update_fields did not affect any rows.")
