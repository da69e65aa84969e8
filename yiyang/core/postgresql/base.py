"""PostgreSQL, with health checks only for connections that have been idle.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request on a
persistent connection: a round trip per request, an eighth of the order lifecycle's on PostgreSQL.
A connection that answered a moment ago is alive unless the server went away in that moment, and
then the requests in flight fail anyway. So, like PgBouncer's `server_check_delay` (30 s there), a
connection used in the last HEALTH_CHECK_AFTER seconds is not checked again; one idle for longer
is, and is replaced if it does not answer. A query that fails on a dead connection marks it, and
Django closes it when that request ends.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base

from yiyang.core.hot_cursor import HotCursorMixin

HEALTH_CHECK_AFTER = 5.0  # seconds without use


class DatabaseWrapper(HotCursorMixin, base.DatabaseWrapper):
    _used_at = float("-inf")

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
