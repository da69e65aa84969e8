"""Loading a plan's tables (shared/plan/*.csv) as reference data, like the regions.

Called by the data migration with the historical models, so that every database (the demo's, the
tests') has the plan; idempotent (update_or_create on the plan's own numbers). Values are kept as
printed: "/" is no value, a target stays in its wording and is parsed when read.
"""

import csv
from decimal import Decimal
from pathlib import Path

from yiyang.plan.targets import doubtful_target_reason, parse_number_as_printed, parse_target

DATA_DIR = Path(__file__).resolve().parent / "data"

PLANS = [
    # code, name, base year, target year, current, indicators file, tasks file, projects file
    ("2021-2025", "丽水市养老服务体系建设“十四五”规划（2021—2025年）", 2020, 2025, True, "indicators_2021_2025.csv"),
    ("2016-2020", "丽水市“十三五”老龄事业发展规划（2016—2020年）", 2015, 2020, False, "indicators_2016_2020.csv"),
]
YUAN_100M_IN_FEN = 100_000_000 * 100


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _text(value: str) -> str:
    value = (value or "").strip()
    return "" if value == "/" else value


def load_plans(*, Plan, Indicator, MajorTask, KeyProject, data_dir: Path = DATA_DIR) -> dict[str, int]:
    counts = {"indicators": 0, "tasks": 0, "projects": 0}
    for code, name, base_year, target_year, current, indicators_file in PLANS:
        plan, _ = Plan.objects.update_or_create(
            code=code, defaults={"name": name, "base_year": base_year, "target_year": target_year, "is_current": current}
        )
        for row in _rows(data_dir / indicators_file):
            baseline_text = _text(row.get("baseline_2020") or row.get("actual_2015") or "")
            target_text = _text(row.get("target_2025_as_written") or row.get("target_2020_as_written") or "")
            baseline = parse_number_as_printed(baseline_text)
            target = parse_target(target_text, baseline=baseline)  # unknown wording fails the load, loudly
            unit = (row.get("unit") or "").strip()
            Indicator.objects.update_or_create(
                plan=plan,
                no=int(row["no"]),
                defaults={
                    "category": (row.get("category") or "").strip(),
                    "name": row["indicator"].strip(),
                    "unit": unit,
                    "baseline_text": baseline_text,
                    "baseline": baseline,
                    "target_text": target_text,
                    "final_text": _text(row.get("actual_2020") or "") if code == "2016-2020" else "",
                    "responsible_unit": (row.get("responsible_unit") or "").strip(),
                    "note": (row.get("note") or "").strip(),
                    "flagged": bool(doubtful_target_reason(unit=unit, baseline=baseline, target=target)),
                },
            )
            counts["indicators"] += 1
        if not current:
            continue
        for row in _rows(data_dir / "major_tasks_2021_2025.csv"):
            MajorTask.objects.update_or_create(
                plan=plan,
                no=int(row["no"]),
                defaults={
                    "category": row["category"].strip(),
                    "title": row["task"].strip(),
                    "due_year": int(row["due_year"]),
                    "lead_unit": row["lead_unit"].strip(),
                    "lead_unit_inferred": row["lead_unit_inferred"].strip() == "yes",
                },
            )
            counts["tasks"] += 1
        for row in _rows(data_dir / "key_projects_2021_2025.csv"):
            KeyProject.objects.update_or_create(
                plan=plan,
                seq=int(row["seq"]),
                defaults={
                    "no_as_printed": int(row["no_as_printed"]),
                    "title": row["project"].strip(),
                    "nature": row["nature"].strip(),
                    "planned_investment_fen": int(Decimal(row["investment_100m_yuan"]) * YUAN_100M_IN_FEN),
                    "due_year": int(row["due_year"]),
                    "lead_unit": row["lead_unit"].strip(),
                    "lead_unit_inferred": row["lead_unit_inferred"].strip() == "yes",
                },
            )
            counts["projects"] += 1
    return counts
