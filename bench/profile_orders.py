"""In-process CPU of each order-lifecycle request, through Django's WSGI handler (no server, no sockets).

Where bench_orders.py measures the production server, this tells where a request's time goes:
it prints the mean CPU per step beside `/healthz` called the same way, and, with --profile STEP,
cProfile's top functions for that step (or for whole lifecycles with --profile all).

    uv run python bench/profile_orders.py                        # SQLite in a temporary directory
    uv run python bench/profile_orders.py --profile check_in --sort tottime --top 40
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<new empty db> uv run python bench/profile_orders.py
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

STEPS = ("create", "assign", "check_in", "task", "check_out", "rate")


def database_backend_cpu() -> float | None:
    """CPU seconds of this process's PostgreSQL backend so far (None on SQLite)."""
    import bench_orders
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return bench_orders._cpu_seconds(connection.connection.info.backend_pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=150, help="lifecycles measured (after 30 to warm up)")
    parser.add_argument("--profile", choices=(*STEPS, "all"), help="cProfile this step, or whole lifecycles")
    parser.add_argument("--sort", default="cumtime", help="cProfile sort key (cumtime, tottime, ncalls)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="also write the cProfile data to this file (for pstats: print_callers ...)")
    parser.add_argument("--refused", action="store_true", help="each lifecycle also makes a refused request (a check-in far away)")
    parser.add_argument("--queries", action="store_true", help="print the SQL statements of one lifecycle's steps, and stop")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="yy-profile-orders-"))
    (var / "static").mkdir()
    os.environ["YIYANG_VAR_DIR"] = str(var)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var / 'profile.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "yiyang.settings"
    os.environ["YIYANG_LOG_LEVEL"] = "WARNING"
    import bench_orders

    info = bench_orders.setup(1, 50)
    from django.core.handlers.wsgi import WSGIHandler

    from yiyang.accounts.models import User
    from yiyang.accounts.operations import token_create

    app = WSGIHandler()
    tokens = {name: token_create(user=User.objects.get(username=u), name="profile")[1] for name, u in info["users"].items()}
    tokens["caregiver"] = token_create(user=User.objects.get(username="bench-caregiver-0"), name="profile")[1]
    profiler = cProfile.Profile() if args.profile else None
    spent: dict[str, list[float]] = {}

    def call(method: str, path: str, body=None, token=None, headers=None) -> dict:
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http",
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status = []
        out = b"".join(app(environ, lambda s, h, *rest: status.append(s)))
        if not status[0].startswith(("200", "201")):
            raise RuntimeError(f"{method} {path}: {status[0]} {out[:300]!r}")
        return json.loads(out) if out else {}

    def step(name: str, *a, **kw) -> dict:
        if show_queries:
            return step_queries(name, *a, **kw)
        watched = profiler is not None and args.profile == name
        if watched:
            profiler.enable()
        t0 = time.process_time()
        result = call(*a, **kw)
        spent.setdefault(name, []).append(time.process_time() - t0)
        if watched:
            profiler.disable()
        return result

    show_queries = False

    def step_queries(name: str, *a, **kw) -> dict:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            result = call(*a, **kw)
        print(f"{name}: {len(captured)} statements")
        for query in captured:
            print(f"    {query['sql'][:150]}")
        return result

    def refused(oid: int) -> None:
        # Real traffic has refusals: on PostgreSQL each one rolls a transaction back (core/postgresql/base.py).
        t0 = time.process_time()
        try:
            call("POST", f"/api/v1/orders/{oid}/check-in", {"lat": 0, "lng": 0}, tokens["caregiver"])
        except RuntimeError as refusal:
            assert "too_far" in str(refusal), refusal
        else:
            raise RuntimeError("a check-in 3,000 km away was accepted")
        spent.setdefault("refused", []).append(time.process_time() - t0)

    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    clock = [now - timedelta(days=180)]  # room for some 3,800 visits: a device time may not lie in the future
    home = bench_orders.HOME

    def lifecycle(n: int) -> None:
        start = day + timedelta(minutes=15 * n)
        order = step(
            "create",
            "POST",
            "/api/v1/orders",
            {
                "elder_id": info["elders"][n % len(info["elders"])],
                "item_code": "comfort-chat",
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(minutes=15)).isoformat(),
            },
            tokens["operator"],
            {"Idempotency-Key": uuid.uuid4().hex},
        )
        oid, at = order["id"], clock[0]
        step("assign", "POST", f"/api/v1/orders/{oid}/assign", {"caregiver_id": info["caregivers"][0]}, tokens["dispatcher"])
        where = {"lat": home[0], "lng": home[1]}
        if args.refused:
            refused(oid)
        step("check_in", "POST", f"/api/v1/orders/{oid}/check-in", {**where, "device_time": at.isoformat()}, tokens["caregiver"])
        for task in ("chat", "mood"):
            body = {"task_code": task, "outcome": "done", "device_time": (at + timedelta(minutes=5)).isoformat()}
            step("task", "POST", f"/api/v1/orders/{oid}/tasks", body, tokens["caregiver"])
        body = {**where, "device_time": (at + timedelta(minutes=62)).isoformat(), "elder_confirmed": True}
        step("check_out", "POST", f"/api/v1/orders/{oid}/check-out", body, tokens["caregiver"])
        clock[0] = at + timedelta(minutes=67)
        step("rate", "POST", f"/api/v1/orders/{oid}/rate", {"score": 5}, tokens["operator"])

    def healthz() -> None:
        t0 = time.process_time()
        call("GET", "/healthz")
        spent.setdefault("healthz", []).append(time.process_time() - t0)

    for n in range(30):  # warm-up: imports, compiled queries, prepared statements
        lifecycle(n)
        healthz()
    if args.queries:
        show_queries = True
        lifecycle(30)
        return
    spent.clear()
    backend = database_backend_cpu()
    for n in range(30, 30 + args.orders):
        if profiler is not None and args.profile == "all":
            profiler.enable()
        lifecycle(n)
        if profiler is not None and args.profile == "all":
            profiler.disable()
        for _ in range(7):
            healthz()

    def mean_ms(values: list[float]) -> float:
        return sum(values) / len(values) * 1000

    for name in (*STEPS, *(["refused"] if args.refused else []), "healthz"):
        print(f"{name:10s} {mean_ms(spent[name]):6.2f} ms CPU per request (n={len(spent[name])})")
    lifecycle_times = [t for name in (*STEPS, "refused") for t in spent.get(name, [])]
    ratio = mean_ms(lifecycle_times) / mean_ms(spent["healthz"])
    print(f"lifecycle  {mean_ms(lifecycle_times):6.2f} ms per request = {ratio:.2f}x /healthz, in-process (no server share)")
    if backend is not None:
        # The database server's own CPU for the same requests (lifecycles and /healthz together).
        requests = len(lifecycle_times) + len(spent["healthz"])
        print(f"PostgreSQL backend: {(database_backend_cpu() - backend) / requests * 1000:.2f} ms CPU per request, all measured requests")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        if args.dump:
            profiler.dump_stats(args.dump)


if __name__ == "__main__":
    main()
