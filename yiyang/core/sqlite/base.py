"""SQLite, with write transactions that queue for their turn instead of polling for it (and a cursor
that remembers its rewritten statements).

SQLite lets one writer in at a time. A connection that finds the write lock taken is told "busy"
and its busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries, so under a steady stream
of short writes (the order lifecycle: about a millisecond each) a waiter often sleeps far longer
than the holder needed the lock: the bench saw p99 latencies of 100+ ms and idle CPU.

Here a transaction first takes its turn: threads of one process wait on a lock that wakes them as
soon as it is free; processes (gunicorn workers, the task worker) take an advisory file lock next
to the database, tried in fine steps. SQLite's own locking still decides: whoever waits past the
database timeout goes on to BEGIN and lets SQLite answer, as before.

The write-ahead log is checkpointed (copied into the database file, with two fsyncs) after a turn
ends, not inside it. SQLite's automatic checkpoint runs within the COMMIT that fills the log to
1,000 pages, and so within that writer's turn: every writer of every worker waited while one
synced the disk. One commit in sixty took 13 ms that way and made 40 % of all commit time
(bench/README-homecare.md). Here every CHECKPOINT_EVERY commits a process runs a passive checkpoint
(which blocks no reader or writer) right after its turn is given back; SQLite's own waits for twice
its usual log, so that it only steps in where ours do not keep the log short.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import logging
import os
import threading
import time

from django.db.backends.sqlite3 import base

from yiyang.core.hot_cursor import HotCursorMixin
from yiyang.core.sqlite.operations import DatabaseOperations

logger = logging.getLogger(__name__)

_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()
# Between tries for another process's turn: short, as a write transaction lasts about a millisecond.
FILE_LOCK_STEPS = (0.0001, 0.0002, 0.0005, 0.001)
# Commits of one process between its checkpoints: an order lifecycle's step fills about 15 pages, so
# the log is copied at about SQLite's own 1,000 pages (more often with more processes).
CHECKPOINT_EVERY = 64
_COMMIT_COUNTERS: dict[str, itertools.count] = {}
# SQLite's own checkpoint, inside a commit: only for logs our checkpoints do not keep short, such as
# those of writes made outside transactions (which take no turn and count no commit).
AUTOMATIC_CHECKPOINT_PAGES = 2_000


def _process_lock(path: str):
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(path, threading.Lock())


@functools.lru_cache(maxsize=1024)
def _qmark_style(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    """Django's cursor, remembering how it rewrote the statements it has run ("%s" to "?").

    The rewrite is a regular expression over the whole statement on every run: 4 % of the order
    lifecycle's CPU, most of it on the same few statements (the order read alone is 4 KB).
    """

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark_style(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(HotCursorMixin, base.DatabaseWrapper):
    ops_class = DatabaseOperations
    _turn_thread_lock: threading.Lock | None = None
    _turn_fd: int | None = None
    _turn_file_locked = False
    _commits: itertools.count | None = None  # this process's commits on the database, where it takes turns

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self._queues_writers():
            connection.execute(f"PRAGMA wal_autocheckpoint = {AUTOMATIC_CHECKPOINT_PAGES}")
            with _PROCESS_LOCKS_GUARD:
                self._commits = _COMMIT_COUNTERS.setdefault(self._database_path(), itertools.count(1))
        return connection

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=CursorWrapper)

    def _start_transaction_under_autocommit(self):
        self._take_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_turn()
            raise

    def _commit(self):
        try:
            super()._commit()
        finally:
            self._end_turn()
        self._checkpoint_now_and_then()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._end_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._end_turn()
            if self._turn_fd is not None:
                os.close(self._turn_fd)
                self._turn_fd = None

    def _queues_writers(self) -> bool:
        return self.transaction_mode in ("IMMEDIATE", "EXCLUSIVE") and not self.is_in_memory_db()

    def _take_turn(self) -> None:
        if not self._queues_writers() or self._turn_thread_lock is not None:
            return
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        path = self._database_path()
        lock = _process_lock(path)
        if not lock.acquire(timeout=timeout):
            return
        self._turn_thread_lock = lock
        if self._turn_fd is None:
            self._turn_fd = os.open(f"{path}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
        steps = iter(FILE_LOCK_STEPS)
        while True:
            try:
                fcntl.flock(self._turn_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._turn_file_locked = True
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(next(steps, FILE_LOCK_STEPS[-1]))

    def _checkpoint_now_and_then(self) -> None:
        if self._commits is None or self.connection is None or next(self._commits) % CHECKPOINT_EVERY:
            return
        # PASSIVE copies what no reader still needs and waits for nobody. The transaction has committed:
        # a checkpoint that fails (a full disk, an I/O error) must not report it as failed; its pages
        # stay in the log, where every reader finds them, until a later checkpoint copies them.
        try:
            self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except base.Database.Error:
            logger.warning("SQLite checkpoint failed; the log keeps the pages", exc_info=True)

    def _database_path(self) -> str:
        return os.path.abspath(str(self.settings_dict["NAME"]))

    def _end_turn(self) -> None:
        if self._turn_file_locked:
            fcntl.flock(self._turn_fd, fcntl.LOCK_UN)
            self._turn_file_locked = False
        if self._turn_thread_lock is not None:
            self._turn_thread_lock.release()
            self._turn_thread_lock = None
