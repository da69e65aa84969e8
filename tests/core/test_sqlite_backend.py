"""The SQLite backend (yiyang.core.sqlite): writers take turns, and a turn always ends."""

import itertools
import os
import threading

import pytest
from django.db import connections

from yiyang.core.sqlite import base as sqlite_backend


def wrapper_for(path: str) -> sqlite_backend.DatabaseWrapper:
    settings_dict = {
        **connections["default"].settings_dict,
        "ENGINE": "yiyang.core.sqlite",
        "NAME": path,
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        "CONN_MAX_AGE": 0,
    }
    return sqlite_backend.DatabaseWrapper(settings_dict, alias=f"turns-{threading.get_ident()}")


def begin(db) -> None:
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def end(db, *, commit: bool = True) -> None:
    db.commit() if commit else db.rollback()
    db.set_autocommit(True)


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker, monkeypatch):
    # These tests open SQLite files of their own, beside whatever database the suite runs on. After
    # the browser tests, Playwright's sync API leaves an event loop registered in this thread, which
    # Django would take for async code opening a connection.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database_file(tmp_path) -> str:
    path = str(tmp_path / "turns.sqlite3")
    db = wrapper_for(path)
    with db.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
        cursor.execute("INSERT INTO counter VALUES (0)")
    db.close()
    return path


def test_concurrent_writers_all_commit_and_none_is_refused(database_file):
    errors: list[BaseException] = []

    def work() -> None:
        db = wrapper_for(database_file)
        try:
            for _ in range(25):
                begin(db)
                with db.cursor() as cursor:
                    cursor.execute("SELECT n FROM counter")
                    (n,) = cursor.fetchone()
                    cursor.execute("UPDATE counter SET n = %s", [n + 1])
                end(db)
        except BaseException as exc:  # the test reports any failure of any thread
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = wrapper_for(database_file)
    with db.cursor() as cursor:
        cursor.execute("SELECT n FROM counter")
        # Read-modify-write in one transaction each: a lost update would show as fewer than 200.
        assert cursor.fetchone() == (200,)
    db.close()
    assert os.path.exists(f"{os.path.abspath(database_file)}-writers.lock")


def test_a_rolled_back_or_closed_transaction_ends_its_turn(database_file):
    first = wrapper_for(database_file)
    begin(first)
    assert first._turn_thread_lock is not None and first._turn_file_locked
    end(first, commit=False)
    assert first._turn_thread_lock is None and not first._turn_file_locked

    begin(first)
    first.close()  # a connection dropped mid-transaction (a worker recycled) gives the turn back too
    got_turn = threading.Event()

    def other() -> None:
        second = wrapper_for(database_file)  # a connection belongs to the thread that made it
        begin(second)
        got_turn.set()
        end(second)
        second.close()

    t = threading.Thread(target=other)
    t.start()
    t.join(timeout=10)
    assert got_turn.is_set()


def test_statements_are_rewritten_once_and_alike(database_file):
    db = wrapper_for(database_file)
    with db.cursor() as cursor:
        cursor.execute("SELECT %s || '%%s'", ["a"])
        assert cursor.fetchone() == ("a%s",)
    db.close()
    assert sqlite_backend._qmark_style("SELECT %s, '%%'") == "SELECT ?, '%'"


def test_the_log_is_checkpointed_every_so_many_commits_after_the_turn_is_given_back(database_file, monkeypatch):
    monkeypatch.setattr(sqlite_backend, "CHECKPOINT_EVERY", 4)
    monkeypatch.setitem(sqlite_backend._COMMIT_COUNTERS, os.path.abspath(database_file), itertools.count(1))
    db = wrapper_for(database_file)
    db.ensure_connection()
    checkpoints: list[tuple[int, bool]] = []  # (commits so far, whether a turn was held meanwhile)
    commits = 0

    def traced(statement: str) -> None:
        if "wal_checkpoint" in statement:
            checkpoints.append((commits, db._turn_thread_lock is not None or db._turn_file_locked))

    db.connection.set_trace_callback(traced)
    with db.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        # SQLite's own checkpoint, inside a commit and so inside a turn, is only a safety net.
        assert cursor.fetchone() == (sqlite_backend.AUTOMATIC_CHECKPOINT_PAGES,)
        cursor.execute("CREATE TABLE filler (payload BLOB)")
    database_size = os.path.getsize(database_file)
    for n in range(1, 10):
        begin(db)
        with db.cursor() as cursor:
            cursor.execute("INSERT INTO counter VALUES (%s)", [n])
            cursor.execute("INSERT INTO filler VALUES (zeroblob(100000))")
        commits += 1
        end(db)
        if n == 3:
            # Committed pages wait in the log: the database file has not grown yet.
            assert os.path.getsize(database_file) == database_size
    assert checkpoints == [(4, False), (8, False)]
    assert os.path.getsize(database_file) > database_size + 7 * 100_000
    db.close()


def test_a_commit_on_a_closed_connection_does_nothing_even_when_a_checkpoint_is_due(database_file, monkeypatch):
    db = wrapper_for(database_file)
    db.ensure_connection()
    db.close()
    monkeypatch.setattr(sqlite_backend, "CHECKPOINT_EVERY", 1)
    db.commit()  # Django's own commit is a no-op without a connection; the checkpoint must be too


def test_writes_outside_transactions_are_checkpointed_by_sqlite_itself(database_file, monkeypatch):
    # They take no turn and count no commit: SQLite's own checkpoint keeps their log short.
    monkeypatch.setattr(sqlite_backend, "AUTOMATIC_CHECKPOINT_PAGES", 50)
    reader, writer = wrapper_for(database_file), wrapper_for(database_file)
    reader.ensure_connection()  # another connection open, as in a server, keeps the log from being removed
    with writer.cursor() as cursor:
        cursor.execute("CREATE TABLE filler (payload BLOB)")
        for _ in range(40):  # about 1,000 pages in all
            cursor.execute("INSERT INTO filler VALUES (zeroblob(100000))")
    log = os.path.getsize(f"{database_file}-wal")
    writer.close()
    reader.close()
    assert log < 200 * 4096  # the log restarts after each checkpoint of about 50 pages
