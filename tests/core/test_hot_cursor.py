"""core.hot_cursor: the hot path keeps one cursor per connection, and loses none of Django's checks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiyang.core.hot_cursor import hot_cursor


def one(cursor) -> int:
    cursor.execute("SELECT 1")
    return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_cursor_is_kept_while_the_connection_lives():
    first = hot_cursor(connection)
    assert one(first) == 1 and hot_cursor(connection) is first
    # Kept for this driver connection only: another one (after a close and reconnect) gets its own.
    connection._hot_cursor = (object(), first)
    replacement = hot_cursor(connection)
    assert replacement is not first and one(replacement) == 1


@pytest.mark.django_db
def test_a_connection_that_logs_its_queries_gets_a_logging_cursor_each_time():
    kept = hot_cursor(connection)
    with CaptureQueriesContext(connection) as queries:
        cursor = hot_cursor(connection)
        assert cursor is not kept
        one(cursor)
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1"]
