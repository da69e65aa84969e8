"""PostgreSQL, with health checks only for connections that have been idle.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request on a
persistent connection: a round trip per request, an eighth of the order lifecycle's on PostgreSQL.
A connection that answered a moment ago is alive unless the server went away in that moment, and
then the requests in flight fail anyway. So, like PgBouncer's `server_check_delay` (30 s there), a
connection used in the last HEALTH_CHECK_AFTER seconds is not checked again; one idle for longer
is, and is replaced if it does not answer. A query that fails on a dead connection marks it, and
Django closes it when that request ends.

A refused operation keeps the connection's prepared statements. psycopg forgets them all on every
ROLLBACK (and sends DEALLOCATE ALL), in case the transaction made an object a statement was prepared
against. But each refused request rolls back (a check-in too far away, an illegal transition), and
afterwards each of the lifecycle's statements ran ten times planned anew: five before psycopg
prepares it again, five more before PostgreSQL settles on a generic plan. Planning the order's
locked read costs ten times executing it, so one refused request in eight tripled PostgreSQL's CPU
per request (bench/README-homecare.md). Here a transaction whose statements all succeeded and that
prepared none rolls back without forgetting: it was refused in Python, and the statements prepared
before it refer only to objects committed before it, which its rollback cannot take away. Any other
rolls back through psycopg, as before: one that prepared a statement; one in which a statement failed,
which is also how a statement made stale by a schema change elsewhere (a migration while the workers
run: "cached plan must not change result type") is forgotten and prepared afresh. A statement that
fails outside a transaction is followed by no rollback, so there psycopg would keep the stale
statement for the connection's whole life: a request that saw such an error makes it forget them when
it ends. A savepoint's rollback (a nested atomic block) still makes psycopg forget them all; the
lifecycle has none.

Timestamps are read by psycopg's own loader. Django's wraps it in Python to label each value with the
connection's time zone; in UTC (USE_TZ without a TIME_ZONE of the database's own, as here), which
Django sets on every new connection, psycopg's loader already labels them `datetime.timezone.utc`.
An order's locked read has sixteen such columns, and the wrapper cost a twentieth of a lifecycle
request's Python.

psycopg turns a statement's `%s` placeholders into PostgreSQL's `$1` by parsing it, and remembers the
result only for statements of up to 4,096 bytes and 50 parameters. The write batches of placing an order
and of a check-out (core.write_batch: the order, its transition, audit rows, the voucher spend) have
more parameters, so each was parsed anew on every request: a tenth of a check-out's Python. The limits
are raised for statements of the size these batches come in; they come in a few shapes, and psycopg's
cache keeps 128 statements at most, so the memory it may take stays small.
"""

from __future__ import annotations

import time
from datetime import UTC

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction
from psycopg import _queries as psycopg_queries
from psycopg.pq import Format, TransactionStatus

from yiyang.core.hot_cursor import HotCursorMixin

HEALTH_CHECK_AFTER = 5.0  # seconds without use
# The largest statements whose parsed placeholders psycopg keeps (see above): module settings of psycopg's
# own, read on every statement; tests/core/test_postgresql_backend.py fails if a new psycopg drops them.
CACHED_STATEMENT_BYTES, CACHED_STATEMENT_PARAMETERS = 8192, 200
for _name, _value in (
    ("MAX_CACHED_STATEMENT_LENGTH", CACHED_STATEMENT_BYTES),
    ("MAX_CACHED_STATEMENT_PARAMS", CACHED_STATEMENT_PARAMETERS),
):
    if getattr(psycopg_queries, _name, _value) < _value:
        setattr(psycopg_queries, _name, _value)
TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


class _UtcTimestamptzLoader:
    """Django's timestamptz loader on a UTC connection, minus its Python: each instance is psycopg's own.

    A class of its own because Django asks the registered loader for its `timezone` on every cursor
    (and registers its own again when that differs).
    """

    format = Format.TEXT
    timezone = UTC

    def __new__(cls, oid: int, context=None):
        return _PSYCOPG_TIMESTAMPTZ_LOADER(oid, context)


_PSYCOPG_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)  # its C version, when psycopg has one


class DatabaseWrapper(HotCursorMixin, base.DatabaseWrapper):
    _used_at = float("-inf")
    _prepared_before_transaction: int | None = None

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.timezone is UTC:
            connection.adapters.register_loader("timestamptz", _UtcTimestamptzLoader)
        return connection

    def _set_autocommit(self, autocommit):
        if not autocommit:
            self._prepared_before_transaction = self._statements_prepared()
        super()._set_autocommit(autocommit)

    def _statements_prepared(self) -> int | None:
        """How many statements psycopg has prepared on this connection so far (None: not known)."""
        return getattr(getattr(self.connection, "_prepared", None), "_prepared_idx", None)

    def _rollback(self):
        if not self._keeps_prepared_statements():
            return super()._rollback()
        connection = self.connection
        with debug_transaction(self, "ROLLBACK"), self.wrap_database_errors, connection.lock:
            # Connection.rollback() without its forgetting: the same command through psycopg's own wait.
            # Its other checks concern psycopg's transaction blocks, two-phase commits and pipelines,
            # which Django does not use.
            connection.wait(connection._exec_command(b"ROLLBACK"))

    def _keeps_prepared_statements(self) -> bool:
        connection = self.connection
        if connection is None or connection.pgconn.transaction_status != TransactionStatus.INTRANS:
            return False  # no transaction, or one in which a statement failed
        prepared = self._statements_prepared()
        return prepared is not None and prepared == self._prepared_before_transaction and hasattr(connection, "_exec_command")

    def close_if_unusable_or_obsolete(self):
        # At a request's end, errors_occurred means a statement failed outside a transaction (a rollback
        # resets the flag), and no rollback made psycopg forget a statement the failure may show stale.
        # Forgetting them all costs a few plannings; keeping a stale one would fail every request.
        if self.errors_occurred and (prepared := getattr(self.connection, "_prepared", None)) is not None:
            prepared.clear()  # psycopg deallocates them on the server with its next statement
        super().close_if_unusable_or_obsolete()

    def close_if_health_check_failed(self):
        if self.connection is not None and not self.health_check_done and time.monotonic() - self._used_at < HEALTH_CHECK_AFTER:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _cursor(self, name=None):
        cursor = super()._cursor(name)
        self.note_use()
        return cursor

    def note_use(self) -> None:
        self._used_at = time.monotonic()

    def close(self):
        super().close()
        self._used_at = float("-inf")
