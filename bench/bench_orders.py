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
    # Planner statistics, as a database in service has them (autovacuum would gather them later; without
    # them PostgreSQL nests loops over the 500 caregivers' certificates, ten times slower).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
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
    return {"requests": len(lat), "elapsed": elapsed, "rps": round(len(lat) / elapsed, 1), "latencies": lat}


# Server CPU: what the gunicorn workers (and, on PostgreSQL, their database backends) spend ----------------

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class ServerCpu:
    """CPU seconds of the server's processes: gunicorn workers, plus the PostgreSQL backends of the bench database."""

    def __init__(self, server_pid: int, admin_url: str | None, dbname: str | None):
        self.server_pid, self.admin_url, self.dbname = server_pid, admin_url, dbname

    def pids(self) -> list[int]:
        pids = _children(self.server_pid)
        if self.dbname:
            out = subprocess.run(
                ["psql", self.admin_url, "-Atqc", f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.dbname}'"],
                capture_output=True,
                text=True,
                check=False,
            )
            pids += [int(x) for x in out.stdout.split() if x.isdigit()]
        return pids

    def snapshot(self) -> dict[int, float]:
        return {pid: cpu for pid in self.pids() if (cpu := _cpu_seconds(pid)) is not None}

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        # A process that started during the phase counts from zero; one that ended is lost (rare: connections persist).
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _machine_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the whole machine so far, from /proc/stat; iowait counts as idle."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]


def measured(cpu: ServerCpu, run) -> dict:
    before, machine_before, client_before = cpu.snapshot(), _machine_ticks(), time.process_time()
    result = run()
    result["client_cpu_s"] = time.process_time() - client_before
    after = cpu.snapshot()
    result["server_cpu_s"] = ServerCpu.spent(before, after)
    database = set(after) - set(_children(cpu.server_pid))
    result["database_cpu_s"] = ServerCpu.spent(
        {p: c for p, c in before.items() if p in database}, {p: c for p, c in after.items() if p in database}
    )
    machine = [after - then for after, then in zip(_machine_ticks(), machine_before, strict=True)]
    # Below ~90 %, requests wait on something other than the CPU (a lock, the database's write turn).
    result["machine_busy"] = (machine[0] - machine[1]) / machine[0] if machine[0] else 0.0
    return result


def lifecycle_state(clients: int) -> dict:
    """What the lifecycle rounds of one run share: each client's order count and virtual clock."""
    now = datetime.now(UTC)
    return {
        "tomorrow": now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2),
        "n": [0] * clients,
        # A virtual clock per caregiver, so that visits never overlap (the audit would flag them). It
        # starts far enough back for some 4,000 visits each: a device time may not lie in the future.
        "clock": [now - timedelta(days=180) + timedelta(minutes=i) for i in range(clients)],
    }


def bench_lifecycle(port: int, info: dict, tokens: dict, clients: int, seconds: float, state: dict | None = None) -> dict:
    state = state or lifecycle_state(clients)
    stop = time.perf_counter() + seconds
    counts = [0] * clients
    flagged = [0] * clients
    per_step: dict[str, list[float]] = {}
    lock = threading.Lock()
    tomorrow = state["tomorrow"]
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
        clock = state["clock"][i]
        n = state["n"][i]
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
        state["clock"][i], state["n"][i] = clock, n
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
        "elapsed": elapsed,
        "orders_per_s": round(orders / elapsed, 2),
        "requests": len(all_latencies),
        "rps": round(len(all_latencies) / elapsed, 1),
        "p50_ms": pct(all_latencies, 50),
        "p99_ms": pct(all_latencies, 99),
        "latencies": all_latencies,
        "per_step": per_step,
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
                "--threads",
                str(args.threads),
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
            cpu = ServerCpu(server.pid, admin_url, dbname)
            state = lifecycle_state(args.clients)
            bench_healthz(port, args.clients, 2)  # warm-up
            bench_lifecycle(port, info, tokens, args.clients, 2, state)
            # Alternate the two, so that the load of other jobs on the machine weighs on both alike.
            rounds = []
            for _ in range(args.rounds):
                h = measured(cpu, lambda: bench_healthz(port, args.clients, args.seconds / args.rounds))
                lc = measured(cpu, lambda: bench_lifecycle(port, info, tokens, args.clients, args.seconds / args.rounds, state))
                rounds.append((h, lc))
            healthz, lifecycle = combine([h for h, _ in rounds]), combine([lc for _, lc in rounds])
            ratios = [h["requests"] / h["elapsed"] / (lc["requests"] / lc["elapsed"]) for h, lc in rounds]
            suggest = bench_suggest_http(port, info, tokens["dispatcher_qt"])
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        return {
            "database": kind,
            "healthz": healthz,
            "lifecycle": lifecycle,
            "per_request_cost_vs_healthz": round(healthz["rps"] / lifecycle["rps"], 2) if lifecycle["rps"] else None,
            "ratio_per_round": [round(r, 2) for r in ratios],
            "rps_per_round": [(round(h["requests"] / h["elapsed"], 1), round(lc["requests"] / lc["elapsed"], 1)) for h, lc in rounds],
            "server_cpu_ratio": round(lifecycle["server_cpu_ms"] / healthz["server_cpu_ms"], 2) if healthz["server_cpu_ms"] else None,
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


def combine(rounds: list[dict]) -> dict:
    """The rounds of one kind together: rates over their summed time, percentiles over all their requests."""
    elapsed = sum(r["elapsed"] for r in rounds)
    latencies = [x for r in rounds for x in r["latencies"]]
    out = {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "server_cpu_ms": round(1000 * sum(r["server_cpu_s"] for r in rounds) / max(1, len(latencies)), 2),
        "database_cpu_ms": round(1000 * sum(r["database_cpu_s"] for r in rounds) / max(1, len(latencies)), 2),
        "client_cpu_ms": round(1000 * sum(r["client_cpu_s"] for r in rounds) / max(1, len(latencies)), 2),
        "machine_busy_pct": round(100 * sum(r["machine_busy"] * r["elapsed"] for r in rounds) / elapsed, 1),
    }
    if "orders" in rounds[0]:
        steps: dict[str, list[float]] = {}
        for r in rounds:
            for name, values in r["per_step"].items():
                steps.setdefault(name, []).extend(values)
        out["orders"] = sum(r["orders"] for r in rounds)
        out["flagged_and_approved"] = sum(r["flagged_and_approved"] for r in rounds)
        out["orders_per_s"] = round(out["orders"] / elapsed, 2)
        out["steps"] = {k: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for k, v in steps.items()}
    return out


def _of_which_database(phase: dict) -> str:
    return f" ({phase['database_cpu_ms']:.2f} in PostgreSQL)" if phase["database_cpu_ms"] else ""


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
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker, as the demo runs it (1: sync workers)")
    parser.add_argument("--seconds", type=float, default=15, help="per kind of measurement, split over the rounds")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of /healthz and lifecycle measurements")
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
        print(
            f"\n== {r['database']} (gunicorn --workers {args.workers} --threads {args.threads}, {args.clients} clients, "
            f"{args.seconds:.0f} s each in {args.rounds} alternating rounds; load average {os.getloadavg()[0]:.1f}) =="
        )
        print(
            f"/healthz            {h['rps']:8.1f} req/s   p50 {h['p50_ms']:7.2f} ms   p99 {h['p99_ms']:7.2f} ms   "
            f"server CPU {h['server_cpu_ms']:.2f} ms/request{_of_which_database(h)}   client CPU {h['client_cpu_ms']:.2f} ms   machine {h['machine_busy_pct']:.0f} % busy"
        )
        print(
            f"order lifecycle     {lc['rps']:8.1f} req/s   p50 {lc['p50_ms']:7.2f} ms   p99 {lc['p99_ms']:7.2f} ms   "
            f"server CPU {lc['server_cpu_ms']:.2f} ms/request{_of_which_database(lc)}   client CPU {lc['client_cpu_ms']:.2f} ms   machine {lc['machine_busy_pct']:.0f} % busy   "
            f"{lc['orders_per_s']:.2f} orders/s ({lc['orders']} orders, {lc['flagged_and_approved']} flagged and approved)"
        )
        print(
            f"per request, lifecycle costs {r['per_request_cost_vs_healthz']}x /healthz in requests/s "
            f"(per round: {', '.join(f'{x} = {h_rps}/{l_rps}' for x, (h_rps, l_rps) in zip(r['ratio_per_round'], r['rps_per_round'], strict=True))}); "
            f"{r['server_cpu_ratio']}x in server CPU"
        )
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
