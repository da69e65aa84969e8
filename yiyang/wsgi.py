import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
application = get_wsgi_application()


def _shorter_thread_switches_for_sqlite() -> None:
    """The web server runs several threads per process. A thread coming back from SQLite waits for the
    interpreter lock until the running thread lets go, by default after up to 5 ms; meanwhile it may hold
    SQLite's write turn, which every writer of every worker then waits for. 1 ms cuts that wait
    (bench/README-homecare.md). On PostgreSQL, whose row locks let writers overlap, it made no difference
    to throughput and cost CPU in three runs of four, so the default stays there."""
    from django.db import connection

    if connection.vendor == "sqlite":
        sys.setswitchinterval(0.001)


_shorter_thread_switches_for_sqlite()
