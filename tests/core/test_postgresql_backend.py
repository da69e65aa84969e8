"""The PostgreSQL backend (yiyang.core.postgresql): idle connections are checked, busy ones are not."""

import os
import time
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
from django.db import NotSupportedError, connection

from tests.services import require_service
from yiyang.core.postgresql import base as pg_backend


@pytest.fixture
def own_connection(db):
    if connection.vendor != "postgresql":
        url = urlparse(os.environ.get("YIYANG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/"))
        require_service("PostgreSQL", url.hostname or "127.0.0.1", url.port or 5432)
        pytest.skip("runs when the suite runs on PostgreSQL (DATABASE_URL=postgres://…)")
    # A connection of its own to the test database, beside the test's (which sits in a transaction).
    settings_dict = {**connection.settings_dict, "CONN_HEALTH_CHECKS": True, "CONN_MAX_AGE": 60}
    wrapper = pg_backend.DatabaseWrapper(settings_dict, alias="health-checks")
    checks = []
    original = wrapper.is_usable
    wrapper.is_usable = lambda: checks.append(time.monotonic()) or original()
    yield wrapper, checks
    wrapper.close()


def request_boundary(wrapper) -> None:
    # What Django does when a request starts or ends (the request_started / request_finished signals).
    wrapper.close_if_unusable_or_obsolete()


def query(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(wrapper, pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)


def test_a_connection_used_a_moment_ago_is_not_checked_again(own_connection):
    wrapper, checks = own_connection
    first = query(wrapper)
    for _ in range(5):
        request_boundary(wrapper)
        assert query(wrapper) == first
    assert checks == []


def test_an_idle_connection_is_checked_and_a_dead_one_replaced(own_connection, monkeypatch):
    wrapper, checks = own_connection
    first = query(wrapper)
    request_boundary(wrapper)
    assert query(wrapper) == first and checks == []  # used a moment ago: no check
    request_boundary(wrapper)
    terminate(wrapper, first)
    monkeypatch.setattr(pg_backend, "HEALTH_CHECK_AFTER", 0.0)  # as if idle for longer than the window
    replacement = query(wrapper)  # the check finds the connection dead and opens another
    assert len(checks) == 1 and replacement != first


def prepared_statements(wrapper) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [row[0] for row in cursor.fetchall()]


@contextmanager
def rolled_back(wrapper):
    """A transaction that ends in a rollback, as transaction.atomic() ends one around an operation that raises."""
    wrapper.set_autocommit(False)
    try:
        yield
    finally:
        wrapper.rollback()
        wrapper.set_autocommit(True)


def test_a_refused_transaction_keeps_the_statements_prepared_before_it(own_connection):
    wrapper, _ = own_connection
    assert wrapper.settings_dict["OPTIONS"].get("prepare_threshold") == 5
    for _ in range(6):  # the sixth run prepares it
        query(wrapper)
    assert prepared_statements(wrapper) == ["SELECT pg_backend_pid()"]
    with rolled_back(wrapper), wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
    assert wrapper.connection.pgconn.transaction_status == 0  # IDLE: the transaction did end
    assert prepared_statements(wrapper) == ["SELECT pg_backend_pid()"]
    assert query(wrapper) == wrapper.connection.info.backend_pid  # and still runs, as prepared


def test_a_refused_transaction_that_prepared_a_statement_forgets_them_all_as_psycopg_does(own_connection):
    wrapper, _ = own_connection
    for _ in range(6):
        query(wrapper)
    with rolled_back(wrapper), wrapper.cursor() as cursor:
        for _ in range(6):  # prepared inside the transaction: it might refer to something the rollback undoes
            cursor.execute("SELECT 1 + 1")
    assert prepared_statements(wrapper) == []
    assert query(wrapper) == wrapper.connection.info.backend_pid


STALE = "SELECT x FROM stale_shape WHERE x = %s"


@pytest.fixture
def stale_statement(own_connection):
    """The own connection, with STALE prepared and then made stale by another connection's migration, as a
    migration run while the workers serve would."""
    wrapper, _ = own_connection
    migration = pg_backend.DatabaseWrapper({**connection.settings_dict, "CONN_MAX_AGE": 0}, alias="migration")
    with migration.cursor() as cursor:
        cursor.execute("CREATE TABLE stale_shape (x integer)")
        cursor.execute("INSERT INTO stale_shape VALUES (1)")
    try:
        for _ in range(6):
            with wrapper.cursor() as cursor:
                cursor.execute(STALE, [1])
        assert "SELECT x FROM stale_shape WHERE x = $1" in prepared_statements(wrapper)
        with migration.cursor() as cursor:
            cursor.execute("ALTER TABLE stale_shape ALTER x TYPE bigint")
        yield wrapper
    finally:
        with migration.cursor() as cursor:
            cursor.execute("DROP TABLE stale_shape")
        migration.close()


def read_stale(wrapper) -> list:
    with wrapper.cursor() as cursor:
        cursor.execute(STALE, [1])
        return cursor.fetchall()


def test_a_transaction_in_which_a_statement_failed_forgets_them_and_so_heals_a_stale_one(stale_statement):
    # It fails once; the rollback makes psycopg forget it, and the next request prepares it afresh.
    wrapper = stale_statement
    with rolled_back(wrapper), pytest.raises(NotSupportedError, match="cached plan must not change result type"):
        read_stale(wrapper)
    assert prepared_statements(wrapper) == []
    assert read_stale(wrapper) == [(1,)]


def test_a_statement_that_failed_outside_a_transaction_is_prepared_afresh_on_the_next_request(stale_statement):
    wrapper = stale_statement
    with pytest.raises(NotSupportedError):  # autocommit: no rollback follows
        read_stale(wrapper)
    request_boundary(wrapper)
    assert read_stale(wrapper) == [(1,)]


# Timestamps ---------------------------------------------------------------------------------------


def test_timestamps_are_read_by_psycopgs_own_loader_as_djangos_would_read_them(own_connection):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg.pq import Format

    wrapper, _checks = own_connection
    wrapper.ensure_connection()
    registered = wrapper.connection.adapters.get_loader(pg_backend.TIMESTAMPTZ, Format.TEXT)
    assert registered.timezone is UTC and not issubclass(registered, BaseTzLoader)
    written = [
        datetime(2026, 11, 29, 8, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(1950, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC) + timedelta(microseconds=1),
    ]
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, %s::timestamptz, %s::timestamptz, NULL::timestamptz", written)
        read = cursor.fetchone()
    assert list(read[:3]) == written and read[3] is None
    assert all(value.tzinfo is UTC for value in read[:3])  # what Django's own loader labels them with
    with wrapper.chunked_cursor() as cursor:  # a named cursor (QuerySet.iterator) passes Django's time-zone check too
        cursor.execute("SELECT now()")
        assert cursor.fetchone()[0].tzinfo is UTC


def test_a_database_in_another_time_zone_keeps_djangos_loader(own_connection):
    from zoneinfo import ZoneInfo

    wrapper, _checks = own_connection
    shanghai = pg_backend.DatabaseWrapper({**wrapper.settings_dict, "TIME_ZONE": "Asia/Shanghai"}, alias="shanghai")
    try:
        with shanghai.cursor() as cursor:
            cursor.execute("SELECT '2026-11-29 00:30:00+00'::timestamptz")
            value = cursor.fetchone()[0]
        assert value.tzinfo == ZoneInfo("Asia/Shanghai") and value.hour == 8
    finally:
        shanghai.close()


def test_a_statement_with_many_parameters_is_parsed_once(own_connection):
    """A write batch has more than the 50 parameters psycopg caches by default: it too is parsed only once."""
    from psycopg import _queries

    wrapper, _checks = own_connection
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= pg_backend.CACHED_STATEMENT_PARAMETERS
    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= pg_backend.CACHED_STATEMENT_BYTES
    values = list(range(120))
    sql = "SELECT " + " + ".join(["%s::int"] * len(values)) + " AS total -- " + "x" * 4500
    # Server-side binding (the default) and client-side binding (YIYANG_PG_SERVER_SIDE_BINDING=0) keep their own.
    cache = _queries._query2pg if wrapper.features.uses_server_side_binding else _queries._query2pg_client
    with wrapper.cursor() as cursor:
        cursor.execute(sql, values)
        parsed = cache.cache_info()
        cursor.execute(sql, values)
        assert cursor.fetchone()[0] == sum(values)
    after = cache.cache_info()
    assert (after.hits, after.misses) == (parsed.hits + 1, parsed.misses)
