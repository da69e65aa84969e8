"""Monthly grant and settlement benchmark: seed the registry at a scale, time the set-based grant and a settlement.

For each scale, in a fresh database (one child process per scale, so Django is configured once each):
1. migrate, load Lishui's regions, `seed_population(scale=...)` (the registry's `yiyang seed --scale`);
2. define a city-wide programme whose tiers cover about a third of the elders
   (特困/低保/低边/失能/半失能/失智 300 yuan, living alone 200 yuan, 80+ 100 yuan);
3. time the preview count, the grant (set-based: one filter, bulk inserts), and the grant run again (idempotent);
4. pay --orders voucher spends spread over 10 providers (one transaction each, like real payments);
5. time closing the month for every provider, and a ledger recomputation (ledger_check).

    uv run python bench/bench_grants.py --db postgres --scales 0.1,1.0
    uv run python bench/bench_grants.py --db sqlite --scales 0.02,0.1
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python bench/bench_grants.py

Figures and the command are recorded in bench/README-subsidies.md.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(scale: float, orders: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role
    from yiyang.homecare.models import Provider
    from yiyang.people.models import Elder
    from yiyang.people.seed import seed_population
    from yiyang.regions.models import Region
    from yiyang.regions.operations import regions_load_lishui
    from yiyang.subsidies.ledger import ledger_check
    from yiyang.subsidies.models import Account, AccountKind, Entry, Grant
    from yiyang.subsidies.operations import (
        current_period,
        grants_run_month,
        programme_create,
        programme_preview,
        programme_set_status,
        settlement_close,
        vouchers_spend,
    )

    out: dict = {"scale": scale, "db": connection.vendor}
    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    regions_load_lishui()
    out["migrate_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    out["elders"] = seed_population(scale=scale)
    out["seed_s"] = round(time.perf_counter() - t, 1)

    officer = User.objects.create(username="bench-officer", role=Role.CITY_OFFICER, is_superuser=True)
    officer.regions.set(Region.objects.filter(code="331100"))
    tiers = [
        {
            "key": "hardship",
            "label": "特困/低保/低边/失能",
            "all": [{"fact": "category", "op": "any", "value": ["tekun", "dibao", "dibian", "disabled", "partially_disabled", "dementia"]}],
            "amount_fen": 30000,
        },
        {"key": "alone", "label": "独居", "all": [{"fact": "living_arrangement", "op": "in", "value": ["alone"]}], "amount_fen": 20000},
        {"key": "oldest", "label": "高龄", "all": [{"fact": "age", "op": "gte", "value": 80}], "amount_fen": 10000},
    ]
    programme = programme_create(
        actor=officer,
        name="居家养老服务补贴",
        funding_source="福彩公益金",
        region_code="331100",
        starts_on="2020-01",
        rule=[{"fact": "age", "op": "gte", "value": 60}],
        tiers=tiers,
        categories=["meal", "clean", "bath"],
    )
    programme = programme_set_status(programme=programme, status="active", actor=officer)
    period = current_period()

    t = time.perf_counter()
    preview = programme_preview(region_path=programme.region.path, rule=programme.rule, tiers=programme.tiers, period=period)
    out["preview_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    run, created = grants_run_month(programme=programme, period=period, actor=officer)
    grant_s = time.perf_counter() - t
    assert created and run.granted == preview["count"], (run.granted, preview["count"])
    out.update(
        eligible=run.granted,
        grant_s=round(grant_s, 2),
        elders_per_s=round(out["elders"] / grant_s),
        grants_per_s=round(run.granted / grant_s),
    )
    t = time.perf_counter()
    again, created_again = grants_run_month(programme=programme, period=period, actor=officer)
    out["regrant_s"] = round(time.perf_counter() - t, 3)
    assert not created_again and Grant.objects.count() == run.granted

    region = Region.objects.get(code="331100")
    providers = [Provider.objects.create(name=f"bench-provider-{i}", region=region) for i in range(10)]
    elder_ids = list(Grant.objects.values_list("elder_id", flat=True)[: orders * 2])
    rng = random.Random(7)
    picked = rng.sample(elder_ids, min(orders, len(elder_ids)))
    elders = {e.pk: e for e in Elder.objects.filter(pk__in=picked)}
    t = time.perf_counter()
    covered = 0
    for n, pk in enumerate(picked):
        covered += vouchers_spend(
            elder=elders[pk],
            order_ref=f"bench:{n}",
            category="meal",
            amount_fen=rng.choice([1500, 3000, 8000]),
            actor=officer,
            provider=providers[n % 10],
        )
    spend_s = time.perf_counter() - t
    out.update(orders=len(picked), spend_s=round(spend_s, 2), spends_per_s=round(len(picked) / spend_s), covered_fen=covered)

    t = time.perf_counter()
    total = 0
    for provider in providers:
        total += settlement_close(provider=provider, period=period, actor=officer).total_fen
    out["settle_10_providers_s"] = round(time.perf_counter() - t, 2)
    assert total == covered, (total, covered)
    assert Account.objects.filter(kind=AccountKind.PROVIDER, balance__gt=0).count() == 0

    t = time.perf_counter()
    report = ledger_check(Account, Entry)
    out["ledger_check_s"] = round(time.perf_counter() - t, 2)
    out["ledger_ok"] = report.ok
    out["entries"] = report.entries
    return out


def run_scale(args, scale: float) -> dict:
    env = dict(os.environ)
    name = f"yy_bench_grants_{uuid.uuid4().hex[:8]}"
    if args.db == "postgres":
        import psycopg

        base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
    else:
        tmp = tempfile.mkdtemp(prefix="yy-bench-")
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(scale), "--orders", str(args.orders)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
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
    parser.add_argument("--orders", type=int, default=2000, help="voucher spends before the settlement")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.orders)))
        return
    results = []
    for scale in [float(s) for s in args.scales.split(",")]:
        r = run_scale(args, scale)
        results.append(r)
        print(
            f"{r['db']:>10} scale {r['scale']:<5} elders {r['elders']:>8,}  eligible {r['eligible']:>8,}  "
            f"preview {r['preview_s']:>6}s  grant {r['grant_s']:>7}s ({r['elders_per_s']:>8,} elders/s, {r['grants_per_s']:>7,} grants/s)  "
            f"re-grant {r['regrant_s']}s  spends {r['spends_per_s']}/s  settle 10 providers {r['settle_10_providers_s']}s  "
            f"ledger check {r['ledger_check_s']}s ok={r['ledger_ok']}",
            flush=True,
        )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
