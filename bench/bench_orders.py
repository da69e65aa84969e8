"""Home-care order lifecycle through the HTTP API on the production server, beside /healthz.

For each database (a fresh SQLite file; a fresh PostgreSQL database when one answers):
1. a child process migrates, loads Lishui's regions, and creates a provider with the menu, caregivers
   (each with an account), elders with homes, and the people who act (operator, dispatcher, officer, family);
   it also times the dispatch suggestion for one order against 500 caregivers of one county (in-process);
2. gunicorn serves the project (yiyang.wsgi) with --workers W;
3. C client threads hammer GET /healthz for D seconds: requests/s, p50/p99 (the framework's ceiling);
4. C client threads run whole lifecycles for D seconds: create (Idempotency-Key) -> assign -> check in ->
   tasks -> check out (the automatic audit runs inside) -> rate; one order in ten is short, so it is flagged
   and an officer approves it through POST /audit. Orders/s, requests/s, p50/p99 per request;
5. GET /orders/{id}/suggestions for an order of the 500-caregiver provider: p50/p99 over HTTP.

    uv run python bench/bench_orders.py                      # SQLite, and PostgreSQL if it answers
    uv run python bench/bench_orders.py --db sqlite --clients 4 --seconds 20
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python bench/bench_orders.py --db postgres

Figures and the command are recorded in bench/README-homecare.md.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-password-2026"
HOME = (28.4465, 119.9305)


# Child: database set-up and the in-process dispatch timing --------------------------------------------


def setup(clients: int, elders: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    from datetime import date
    from datetime import time as dtime

    from django.core.management import call_command
    from django.utils import timezone as djtz

    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role
    from yiyang.homecare import operations as ops
    from yiyang.homecare.catalogue import catalogue_seed
    from yiyang.homecare.models import Caregiver, Certificate, Order, Provider, ProviderOffering, ServiceCategory, ServiceItem
    from yiyang.homecare.queries import dispatch_suggestions
    from yiyang.people.models import Elder
    from yiyang.regions.models import Region
    from yiyang.regions.operations import regions_load_lishui

    call_command("migrate", verbosity=0)
    if not Region.objects.exists():
        regions_load_lishui()
    catalogue_seed()
    liandu = Region.objects.get(code="331102")
    township = Region.objects.get(code="331102001")
    provider = Provider.objects.create(name="压测服务中心", region=liandu)
    provider.service_regions.set(Region.objects.filter(parent=liandu))
    skills = list(ServiceCategory.objects.all())
    for item in ServiceItem.objects.all():
        ProviderOffering.objects.create(provider=provider, item=item, price_fen=item.guide_price_fen)

    def user(username: str, role: str, **kw) -> User:
        u = User(username=username, role=role, display_name=username, **kw)
        u.set_password(PASSWORD)
        u.save()
        return u

    operator = user("bench-operator", Role.OPERATOR)
    operator.regions.set([Region.objects.get(code="331100")])
    officer = user("bench-officer", Role.COUNTY_OFFICER)
    officer.regions.set([liandu])
    dispatcher = user("bench-dispatcher", Role.DISPATCHER, provider=provider)
    caregivers = []
    for i in range(clients):
        u = user(f"bench-caregiver-{i}", Role.CAREGIVER, provider=provider)
        cg = Caregiver.objects.create(
            provider=provider,
            user=u,
            name=f"护理员{i}",
            home_lat=HOME[0],
            home_lng=HOME[1],
            work_start=dtime(0),
            work_end=dtime(23, 59),
            work_days=list(range(7)),
        )
        cg.skills.set(skills)
        caregivers.append(cg.pk)
    elder_ids = []
    for i in range(elders):
        e = Elder.objects.create(
            name=f"压测长辈{i}", gender="female", birth_date=date(1945, 1, 1), residence_region=township, lat=HOME[0], lng=HOME[1]
        )
        elder_ids.append(e.pk)

    # 500 caregivers of one provider in 青田县, about 1,000 visits already planned that day.
    rng = random.Random(7)
    qingtian = Region.objects.get(code="331121")
    big = Provider.objects.create(name="青田县五百护理员中心", region=qingtian)
    big.service_regions.set(Region.objects.filter(parent=qingtian))
    bath = ServiceItem.objects.get(code="bath-home")
    ProviderOffering.objects.create(provider=big, item=bath, price_fen=bath.guide_price_fen)
    centre = (qingtian.lat, qingtian.lng)
    cgs = [
        Caregiver(
            provider=big,
            name=f"青田护理员{i}",
            home_lat=centre[0] + rng.uniform(-0.25, 0.25),
            home_lng=centre[1] + rng.uniform(-0.25, 0.25),
            work_start=dtime(7),
            work_end=dtime(19),
            work_days=list(range(7)),
        )
        for i in range(500)
    ]
    Caregiver.objects.bulk_create(cgs)
    cgs = list(Caregiver.objects.filter(provider=big))
    through = Caregiver.skills.through
    through.objects.bulk_create([through(caregiver_id=c.pk, servicecategory_id=s.pk) for c in cgs for s in skills])
    expiry = djtz.localdate() + timedelta(days=365)
    Certificate.objects.bulk_create(
        [
            Certificate(caregiver=c, kind="care_worker", expires_on=expiry if i % 10 else djtz.localdate() - timedelta(days=3))
            for i, c in enumerate(cgs)
        ]
    )
    villages = list(Region.objects.filter(parent__parent=qingtian, level="township")) or [Region.objects.filter(parent=qingtian).first()]
    tomorrow = djtz.localdate() + timedelta(days=1)
    far_elders = [
        Elder(
            name=f"青田长辈{i}",
            gender="male",
            birth_date=date(1940, 1, 1),
            residence_region=rng.choice(villages),
            lat=centre[0] + rng.uniform(-0.25, 0.25),
            lng=centre[1] + rng.uniform(-0.25, 0.25),
        )
        for i in range(300)
    ]
    Elder.objects.bulk_create(far_elders)
    far_elders = list(Elder.objects.filter(name__startswith="青田长辈"))
    planned = []
    for i in range(1000):
        start = djtz.make_aware(datetime.combine(tomorrow, dtime(7))) + timedelta(minutes=30 * rng.randint(0, 20))
        planned.append(
            Order(
                provider=big,
                elder=rng.choice(far_elders),
                item=bath,
                window_start=start,
                window_end=start + timedelta(minutes=90),
                service_date=tomorrow,
                status="assigned",
                caregiver=cgs[i % 500],
                price_fen=bath.guide_price_fen,
            )
        )
    Order.objects.bulk_create(planned)
    target_elder = far_elders[0]
    start = djtz.make_aware(datetime.combine(tomorrow, dtime(10)))
    order, _ = ops.order_create(
        elder=target_elder, item=bath, provider=big, window_start=start, window_end=start + timedelta(minutes=90), actor=operator
    )
    big_dispatcher = user("bench-dispatcher-qt", Role.DISPATCHER, provider=big)
    timings = []
    for _ in range(60):
        t0 = time.perf_counter()
        found = dispatch_suggestions(order)
        timings.append((time.perf_counter() - t0) * 1000)
    timings = timings[10:]  # warm-up
    return {
        "caregivers": caregivers,
        "elders": elder_ids,
        "suggest_order": order.pk,
        "suggest_ranked": len(found.ranked),
        "suggest_excluded": len(found.excluded),
        "suggest_inproc_ms": {"p50": pct(timings, 50), "p99": pct(timings, 99)},
        "users": {
            "operator": operator.username,
            "officer": officer.username,
            "dispatcher": dispatcher.username,
            "dispatcher_qt": big_dispatcher.username,
        },
    }


# Parent: server, clients, figures --------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.token = token
        self.latencies: list[float] = []

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None, expect=(200, 201)) -> dict:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        t0 = time.perf_counter()
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        response = conn.getresponse()
        data = response.read()
        self.latencies.append((time.perf_counter() - t0) * 1000)
        conn.close()
        if response.status not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
        return json.loads(data) if data else {}


def token(port: int, username: str) -> str:
    return Client(port).call("POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD, "name": "bench"})["token"]


def run_threads(n: int, target) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bench_healthz(port: int, clients: int, seconds: float) -> dict:
    stats = [Client(port) for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            stats[i].call("GET", "/healthz")

    t0 = time.perf_counter()
    run_threads(clients, work)
    elapsed = time.perf_counter() - t0
    lat = [x for s in stats for x in s.latencies]
    return {"requests": len(lat), "rps": round(len(lat) / elapsed, 1), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}


def bench_lifecycle(port: int, info: dict, tokens: dict, clients: int, seconds: float) -> dict:
    stop = time.perf_counter() + seconds
    counts = [0] * clients
    flagged = [0] * clients
    per_step: dict[str, list[float]] = {}
    lock = threading.Lock()
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    all_latencies: list[float] = []

    def step(client: Client, name: str, *args, **kwargs) -> dict:
        before = len(client.latencies)
        result = client.call(*args, **kwargs)
        with lock:
            per_step.setdefault(name, []).extend(client.latencies[before:])
        return result

    def work(i: int) -> None:
        operator = Client(port, tokens["operator"])
        dispatcher = Client(port, tokens["dispatcher"])
        phone = Client(port, tokens[f"caregiver-{i}"])
        family = Client(port, tokens["operator"])  # the hotline records the elder's rating by phone
        officer = Client(port, tokens["officer"])
        caregiver_id = info["caregivers"][i]
        # A virtual clock per caregiver, so that visits never overlap (the audit would flag them).
        clock = datetime.now(UTC) - timedelta(days=20) + timedelta(minutes=i)
        n = 0
        while time.perf_counter() < stop:
            n += 1
            elder = info["elders"][(i * 7919 + n) % len(info["elders"])]
            start = tomorrow + timedelta(minutes=15 * (n * clients + i))
            order = step(
                operator,
                "create",
                "POST",
                "/api/v1/orders",
                {
                    "elder_id": elder,
                    "item_code": "comfort-chat",
                    "window_start": start.isoformat(),
                    "window_end": (start + timedelta(minutes=15)).isoformat(),
                },
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            oid = order["id"]
            step(dispatcher, "assign", "POST", f"/api/v1/orders/{oid}/assign", {"caregiver_id": caregiver_id})
            short = n % 10 == 0
            minutes = 20 if short else 62
            step(
                phone,
                "check_in",
                "POST",
                f"/api/v1/orders/{oid}/check-in",
                {"lat": HOME[0], "lng": HOME[1] + 0.0005, "device_time": clock.isoformat()},
            )
            for task in ("chat", "mood"):
                step(
                    phone,
                    "task",
                    "POST",
                    f"/api/v1/orders/{oid}/tasks",
                    {"task_code": task, "outcome": "done", "device_time": (clock + timedelta(minutes=5)).isoformat()},
                )
            done = step(
                phone,
                "check_out",
                "POST",
                f"/api/v1/orders/{oid}/check-out",
                {"lat": HOME[0], "lng": HOME[1], "device_time": (clock + timedelta(minutes=minutes)).isoformat(), "elder_confirmed": True},
            )
            clock += timedelta(minutes=minutes + 5)
            if done["status"] == "flagged":
                flagged[i] += 1
                step(officer, "audit", "POST", f"/api/v1/orders/{oid}/audit", {"decision": "approve", "comment": "回访确认"})
            elif done["status"] != "paid":
                raise RuntimeError(f"order {oid} ended {done['status']}: {done['audit_flags']}")
            step(family, "rate", "POST", f"/api/v1/orders/{oid}/rate", {"score": 5})
            counts[i] += 1
        with lock:
            for c in (operator, dispatcher, phone, family, officer):
                all_latencies.extend(c.latencies)

    t0 = time.perf_counter()
    run_threads(clients, work)
    elapsed = time.perf_counter() - t0
    orders = sum(counts)
    return {
        "orders": orders,
        "flagged_and_approved": sum(flagged),
        "orders_per_s": round(orders / elapsed, 2),
        "requests": len(all_latencies),
        "rps": round(len(all_latencies) / elapsed, 1),
        "p50_ms": pct(all_latencies, 50),
        "p99_ms": pct(all_latencies, 99),
        "steps": {k: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for k, v in per_step.items()},
    }


def bench_suggest_http(port: int, info: dict, tok: str) -> dict:
    client = Client(port, tok)
    for _ in range(5):
        client.call("GET", f"/api/v1/orders/{info['suggest_order']}/suggestions")
    client.latencies.clear()
    for _ in range(40):
        client.call("GET", f"/api/v1/orders/{info['suggest_order']}/suggestions")
    return {"p50_ms": pct(client.latencies, 50), "p99_ms": pct(client.latencies, 99)}


def wait_for(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            Client(port).call("GET", "/healthz")
            return
        except (OSError, RuntimeError):
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer")


def one_database(kind: str, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"yy-bench-orders-{kind}-"))
    (tmp / "static").mkdir()
    env = {**os.environ, "YIYANG_VAR_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "yiyang.settings", "YIYANG_LOG_LEVEL": "WARNING"}
    admin_url = None
    dbname = None
    if kind == "postgres":
        admin_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        dbname = f"yy_bench_orders_{uuid.uuid4().hex[:8]}"
        subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {dbname}"], check=True)
        parsed = urlparse(admin_url)
        env["DATABASE_URL"] = parsed._replace(path=f"/{dbname}").geturl()
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--clients", str(args.clients), "--elders", str(args.elders)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        info = json.loads(out.stdout.strip().splitlines()[-1])
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "yiyang.wsgi",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            wait_for(port, server)
            tokens = {
                "operator": token(port, info["users"]["operator"]),
                "dispatcher": token(port, info["users"]["dispatcher"]),
                "officer": token(port, info["users"]["officer"]),
                "dispatcher_qt": token(port, info["users"]["dispatcher_qt"]),
            }
            for i in range(args.clients):
                tokens[f"caregiver-{i}"] = token(port, f"bench-caregiver-{i}")
            bench_healthz(port, args.clients, 2)  # warm-up
            healthz = bench_healthz(port, args.clients, args.seconds)
            lifecycle = bench_lifecycle(port, info, tokens, args.clients, args.seconds)
            suggest = bench_suggest_http(port, info, tokens["dispatcher_qt"])
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        return {
            "database": kind,
            "healthz": healthz,
            "lifecycle": lifecycle,
            "per_request_cost_vs_healthz": round(healthz["rps"] / lifecycle["rps"], 2) if lifecycle["rps"] else None,
            "suggest_500_caregivers": {
                "in_process": info["suggest_inproc_ms"],
                "http": suggest,
                "ranked": info["suggest_ranked"],
                "excluded": info["suggest_excluded"],
            },
        }
    finally:
        if dbname:
            subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"], check=False)


def pg_answers() -> bool:
    parsed = urlparse(os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--elders", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(setup(args.clients, args.elders)))
        return
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not pg_answers():
        print("PostgreSQL does not answer; skipping it", file=sys.stderr)
        kinds.remove("postgres")
    results = [one_database(k, args) for k in kinds]
    for r in results:
        h, lc, s = r["healthz"], r["lifecycle"], r["suggest_500_caregivers"]
        print(f"\n== {r['database']} (gunicorn --workers {args.workers}, {args.clients} clients, {args.seconds:.0f} s each) ==")
        print(f"/healthz            {h['rps']:8.1f} req/s   p50 {h['p50_ms']:7.2f} ms   p99 {h['p99_ms']:7.2f} ms")
        print(
            f"order lifecycle     {lc['rps']:8.1f} req/s   p50 {lc['p50_ms']:7.2f} ms   p99 {lc['p99_ms']:7.2f} ms   "
            f"{lc['orders_per_s']:.2f} orders/s ({lc['orders']} orders, {lc['flagged_and_approved']} flagged and approved)"
        )
        print(f"per request, lifecycle costs {r['per_request_cost_vs_healthz']}x /healthz")
        for name, v in lc["steps"].items():
            print(f"  {name:10s} p50 {v['p50_ms']:7.2f} ms   p99 {v['p99_ms']:7.2f} ms")
        print(
            f"dispatch suggestion, 500 caregivers ({s['ranked']} ranked shown, {s['excluded']} excluded): "
            f"in-process p50 {s['in_process']['p50']} ms p99 {s['in_process']['p99']} ms; "
            f"HTTP p50 {s['http']['p50_ms']} ms p99 {s['http']['p99_ms']} ms"
        )
    print("\n" + json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
