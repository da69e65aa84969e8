"""Plan cockpit benchmark: seed the platform at two or more scales, time every computed indicator.

For each scale, in a fresh database (one child process per scale, so Django is configured once each):
1. migrate, load Lishui's regions, `seed_population(scale=...)` (the registry's `yiyang seed --scale`);
2. add a year of monthly visit plans (every elder holding a special-difficulty category is due every
   month, about 70% visited), elder volunteers (5% of elders, time bank), and, when the institutions
   app is installed, one care home per township with beds, care workers and certificates;
3. time, beside a plain full-table count of the elders in the same run:
   - every computed indicator for the city, one definition at a time (`Definition.compute`);
   - every computed indicator for all 9 counties in one grouped query per measure (`compute_many`);
   - the same for the 9 counties one by one (9 × compute), to show what grouping saves;
   - the scheduled snapshot of one month (city + 9 counties + every township, every indicator).
The last line prints how each cost grows with the scale.

    uv run python bench/bench_indicators.py --db postgres --scales 0.1,1.0
    uv run python bench/bench_indicators.py --db sqlite --scales 0.01,0.05
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python bench/bench_indicators.py

Aim (issue 8): all indicators for every county in under 2 s at Lishui's scale (550,000 elders) on PostgreSQL.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(fn, repeat: int = 3) -> float:
    """Best of `repeat` runs, in seconds (the first run also warms the database cache)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _seed_visits(months: list) -> int:
    """A year of rule items, inserted set-based (INSERT ... SELECT) like the visits app's monthly job would."""
    from django.db import connection
    from django.utils import timezone

    from yiyang.people.models import Elder, ElderCategory
    from yiyang.regions.models import Level, Region
    from yiyang.visits.models import VisitPlan, VisitPlanItem

    townships = list(Region.objects.filter(level=Level.TOWNSHIP).values_list("pk", flat=True))
    VisitPlan.objects.bulk_create([VisitPlan(month=m, region_id=t) for m in months for t in townships], batch_size=2000)
    item, plan, elder, cat, region = (
        VisitPlanItem._meta.db_table,
        VisitPlan._meta.db_table,
        Elder._meta.db_table,
        ElderCategory._meta.db_table,
        Region._meta.db_table,
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        for m in months:
            cursor.execute(
                f"""
                INSERT INTO {item} (created_at, updated_at, plan_id, elder_id, month, county_id, township_id, kind, status,
                                    groups, required_visits, due_by, reason, source, visit_count)
                SELECT %s, %s, p.id, e.id, %s, r.parent_id, r.id, 'rule', 'open', '[]', 1, %s, '', '',
                       CASE WHEN (e.id + %s) %% 10 < 7 THEN 1 ELSE 0 END
                FROM {elder} e
                JOIN {region} r ON r.id = e.residence_region_id
                JOIN {plan} p ON p.region_id = r.id AND p.month = %s
                WHERE e.status = 'active' AND EXISTS (SELECT 1 FROM {cat} c WHERE c.elder_id = e.id AND c.ended IS NULL)
                """,  # noqa: S608  (table names come from the models, values are parameters)
                [now, now, m, m.replace(day=28), m.month, m],
            )
    return VisitPlanItem.objects.count()


def _seed_volunteers(share: float) -> int:
    from datetime import date

    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role
    from yiyang.people.models import Elder
    from yiyang.timebank.models import Volunteer

    officer = User.objects.get(username="bench-officer")
    rows = list(Elder.objects.order_by("pk").values_list("pk", "birth_date", "residence_region_id")[:: max(1, round(1 / share))])
    users = User.objects.bulk_create([User(username=f"bench-vol-{pk}", role=Role.VOLUNTEER) for pk, _b, _r in rows], batch_size=2000)
    Volunteer.objects.bulk_create(
        [
            Volunteer(user=u, name=u.username, birth_date=b or date(1955, 1, 1), region_id=r, registered_by=officer)
            for u, (_pk, b, r) in zip(users, rows, strict=True)
        ],
        batch_size=2000,
    )
    return len(rows)


def _seed_institutions(scale: float) -> dict:
    """One care home per township: beds (a third nursing-type), care workers, most of them certified."""
    from datetime import date

    from yiyang.institutions.models import Bed, BedType, Certificate, CertificateKind, Institution, InstitutionKind, Staff, StaffRole
    from yiyang.regions.models import Level, Region

    beds_per_home = max(10, round(300 * scale))
    staff_per_home = max(2, round(30 * scale))
    homes = Institution.objects.bulk_create(
        [
            Institution(
                name=f"bench-home-{t.code}", kind=InstitutionKind.CARE_HOME, operation="public", region=t, smart_care_home=i % 9 == 0
            )
            for i, t in enumerate(Region.objects.filter(level=Level.TOWNSHIP))
        ]
    )
    Bed.objects.bulk_create(
        [
            Bed(institution=h, code=str(n), bed_type=BedType.NURSING if n % 3 == 0 else BedType.GENERAL)
            for h in homes
            for n in range(beds_per_home)
        ],
        batch_size=5000,
    )
    staff = Staff.objects.bulk_create(
        [Staff(institution=h, name=f"w{n}", role=StaffRole.CARE_WORKER) for h in homes for n in range(staff_per_home)], batch_size=5000
    )
    Certificate.objects.bulk_create(
        [
            Certificate(staff=s, kind=CertificateKind.CARE_WORKER, number=f"C{s.pk}", issued_on=date(2022, 1, 1))
            for n, s in enumerate(staff)
            if n % 5
        ],
        batch_size=5000,
    )
    return {"institutions": len(homes), "beds": len(homes) * beds_per_home, "staff": len(staff)}


def child(scale: float) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    from datetime import date

    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role
    from yiyang.people.models import Elder
    from yiyang.people.seed import seed_population
    from yiyang.plan.indicators import all_definitions
    from yiyang.plan.operations import snapshot_take
    from yiyang.plan.periods import Period
    from yiyang.regions.models import Level, Region
    from yiyang.regions.operations import regions_load_lishui

    out: dict = {"scale": scale, "db": connection.vendor}
    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    regions_load_lishui()
    out["migrate_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    out["elders"] = seed_population(scale=scale)
    User.objects.create(username="bench-officer", role=Role.CITY_OFFICER, is_superuser=True)
    today = timezone.localdate()
    months = [Period(today.year, today.month)]
    while len(months) < 12:
        months.append(months[-1].previous())
    month_starts = [date(p.year, p.month, 1) for p in months]
    if apps.is_installed("yiyang.visits"):
        out["visit_items"] = _seed_visits(month_starts)
    if apps.is_installed("yiyang.timebank"):
        out["volunteers"] = _seed_volunteers(0.05)
    if apps.is_installed("yiyang.institutions"):
        out.update(_seed_institutions(scale))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    out["seed_s"] = round(time.perf_counter() - t, 1)

    definitions = all_definitions()
    out["indicators"] = [d.indicator_no for d in definitions]
    city = Region.objects.get(code="331100")
    counties = list(Region.objects.filter(level=Level.COUNTY).order_by("code"))
    period = months[1]  # last month: a complete month of visits

    out["count_elders_s"] = round(_timed(lambda: Elder.objects.count()), 4)
    out["city_all_s"] = round(_timed(lambda: [d.compute(city, period) for d in definitions]), 4)
    out["counties_grouped_s"] = round(_timed(lambda: [d.compute_many(counties, period) for d in definitions]), 4)
    out["counties_one_by_one_s"] = round(_timed(lambda: [d.compute(c, period) for d in definitions for c in counties]), 4)
    for d in definitions:
        out[f"ind{d.indicator_no}_counties_s"] = round(_timed(lambda d=d: d.compute_many(counties, period)), 4)
    t = time.perf_counter()
    snap = snapshot_take(period=str(period))
    out["snapshot_month_s"] = round(time.perf_counter() - t, 2)
    out["snapshot_rows"] = snap["written"]
    return out


def run_scale(args, scale: float) -> dict:
    env = dict(os.environ)
    name = f"yy_bench_plan_{uuid.uuid4().hex[:8]}"
    base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
    else:
        tmp = tempfile.mkdtemp(prefix="yy-bench-plan-")
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        result = subprocess.run([sys.executable, __file__, "--child", str(scale)], env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.stderr.write(result.stderr[-4000:])
            raise SystemExit(f"scale {scale} failed")
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        if args.db == "postgres" and not args.keep:
            import psycopg

            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--scales", default="0.1,1.0", help="comma-separated fractions of 550,000 elders")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return
    results = []
    for scale in [float(s) for s in args.scales.split(",")]:
        r = run_scale(args, scale)
        results.append(r)
        print(
            f"{r['db']:>10} scale {r['scale']:<5} elders {r['elders']:>8,} visit items {r.get('visit_items', 0):>9,} "
            f"indicators {r['indicators']}  count(elders) {r['count_elders_s']:.4f}s  city {r['city_all_s']:.4f}s  "
            f"9 counties grouped {r['counties_grouped_s']:.4f}s (one by one {r['counties_one_by_one_s']:.4f}s)  "
            f"snapshot of a month ({r['snapshot_rows']} rows) {r['snapshot_month_s']}s",
            flush=True,
        )
    if len(results) > 1:
        a, b = results[0], results[-1]
        grow = b["elders"] / max(a["elders"], 1)
        print(f"elders x{grow:.1f}: ", end="")
        for key in ("count_elders_s", "city_all_s", "counties_grouped_s", "counties_one_by_one_s", "snapshot_month_s"):
            print(f"{key} x{b[key] / max(a[key], 1e-6):.1f}  ", end="")
        print()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
