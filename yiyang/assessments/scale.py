"""The GB/T 42195-2022 scale, loaded as data from data/ability_assessment_gbt42195.yaml.

Every number used in scoring (items, option scores, dimension maxima, level bands, the
coma override and the raise-one-grade conditions) comes from that file; nothing is
repeated here. The file's points marked UNVERIFIED / UNRESOLVED are configuration
(settings.YIYANG_ASSESSMENT, see `ScaleConfig`), defaulting to the file's own choice.

The version shown to assessors and stored on each assessment is the standard's code, the
file's schema version and the first 12 hex digits of the file's SHA-256, so that any
assessment can be traced to the exact definition it was scored with.
"""

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from django.conf import settings

SCALE_FILE = Path(__file__).resolve().parent / "data" / "ability_assessment_gbt42195.yaml"

# Which registry category (半失能 / 失能) each care level puts an elder in. Not part of GB/T 42195:
# a regional choice, here mild and moderate -> partially disabled, severe and complete -> disabled.
# settings.YIYANG_ASSESSMENT["disability_category_by_grade"] = {} switches the link off.
DEFAULT_DISABILITY_CATEGORY_BY_GRADE = {1: "partially_disabled", 2: "partially_disabled", 3: "disabled", 4: "disabled"}


@dataclass(frozen=True)
class Option:
    score: int
    text: str


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    definition: str
    max_score: int
    options: tuple[Option, ...]
    dimension: str
    note: str = ""

    @property
    def scores(self) -> frozenset[int]:
        return frozenset(o.score for o in self.options)

    @property
    def field_name(self) -> str:
        """A form/JSON-friendly key: B.1.1 -> b1_1."""
        return "b" + self.code[2:].replace(".", "_")


@dataclass(frozen=True)
class Dimension:
    code: str
    key: str
    name: str
    max_score: int
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Level:
    grade: int
    key: str
    name: str
    full_name: str
    min_total: int
    max_total: int


@dataclass(frozen=True)
class RaiseCondition:
    key: str
    text: str
    threshold: int | None = None
    window_days: int | None = None


@dataclass(frozen=True)
class ScaleConfig:
    """The choices the file leaves open (UNVERIFIED / UNRESOLVED) or that a region may make."""

    coma_target_grade: int
    raise_is_cumulative: bool
    care_risk_events_threshold: int
    validity_months: int
    due_warning_days: int
    # grade -> registry category the care level puts the elder in (people.Category value); a regional choice.
    disability_category_by_grade: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scale:
    code: str
    title: str
    schema_version: int
    digest: str
    dimensions: tuple[Dimension, ...]
    levels: tuple[Level, ...]
    raise_conditions: tuple[RaiseCondition, ...]
    cap_grade: int
    total_max: int
    file_defaults: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"{self.code} v{self.schema_version} ({self.digest})"

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for d in self.dimensions for item in d.items)

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    def level(self, grade: int) -> Level:
        return next(lv for lv in self.levels if lv.grade == grade)

    def band(self, total: int) -> Level:
        for lv in self.levels:
            if lv.min_total <= total <= lv.max_total:
                return lv
        raise ValueError(f"total {total} is outside every band of {self.version}")


def _parse(raw: bytes) -> Scale:
    data = yaml.safe_load(raw)
    dimensions = []
    for d in data["dimensions"]:
        items = tuple(
            Item(
                code=i["code"],
                name=i["name"],
                definition=i.get("definition", ""),
                max_score=int(i["max_score"]),
                options=tuple(Option(int(o["score"]), o["text"]) for o in i["options"]),
                dimension=d["key"],
                note=i.get("note", ""),
            )
            for i in d["items"]
        )
        if len(items) != d["item_count"] or sum(i.max_score for i in items) != d["max_score"]:
            raise ValueError(f"dimension {d['code']} does not add up in {SCALE_FILE.name}")
        dimensions.append(Dimension(code=d["code"], key=d["key"], name=d["name"], max_score=int(d["max_score"]), items=items))
    levels = tuple(
        Level(int(lv["grade"]), lv["key"], lv["name"], lv["full_name"], int(lv["min_total"]), int(lv["max_total"])) for lv in data["levels"]
    )
    overrides = data["overrides"]
    raises = tuple(
        RaiseCondition(r["key"], r["text"], r.get("threshold"), r.get("window_days")) for r in overrides["raise_one_grade_if_any"]
    )
    total_max = int(data["total"]["max_score"])
    if sum(d.max_score for d in dimensions) != total_max:
        raise ValueError(f"dimensions do not add up to the total in {SCALE_FILE.name}")
    care_risk = next((r for r in raises if r.key == "care_risk_events"), None)
    return Scale(
        code=data["standard"]["code"],
        title=data["standard"]["title_zh"],
        schema_version=int(data["schema_version"]),
        digest=hashlib.sha256(raw).hexdigest()[:12],
        dimensions=tuple(dimensions),
        levels=levels,
        raise_conditions=raises,
        cap_grade=int(overrides["cap_grade"]),
        total_max=total_max,
        file_defaults={
            "coma_target_grade": int(overrides["coma"]["target_grade"]),
            "raise_is_cumulative": bool(overrides["raise_is_cumulative"]),
            "care_risk_events_threshold": int(care_risk.threshold if care_risk and care_risk.threshold else 2),
        },
    )


@cache
def get_scale() -> Scale:
    return _parse(SCALE_FILE.read_bytes())


def get_config() -> ScaleConfig:
    """The file's defaults, overridden by settings.YIYANG_ASSESSMENT (a dict) where a region decides otherwise."""
    scale = get_scale()
    overrides = getattr(settings, "YIYANG_ASSESSMENT", {}) or {}
    values = {
        **scale.file_defaults,
        "validity_months": 12,
        "due_warning_days": 30,
        "disability_category_by_grade": DEFAULT_DISABILITY_CATEGORY_BY_GRADE,
        **overrides,
    }
    config = ScaleConfig(
        coma_target_grade=int(values["coma_target_grade"]),
        raise_is_cumulative=bool(values["raise_is_cumulative"]),
        care_risk_events_threshold=int(values["care_risk_events_threshold"]),
        validity_months=int(values["validity_months"]),
        due_warning_days=int(values["due_warning_days"]),
        disability_category_by_grade={int(k): v for k, v in (values["disability_category_by_grade"] or {}).items() if v},
    )
    grades = {lv.grade for lv in scale.levels}
    if config.coma_target_grade not in grades:
        raise ValueError(f"YIYANG_ASSESSMENT coma_target_grade must be one of {sorted(grades)}")
    if config.validity_months < 1:
        raise ValueError("YIYANG_ASSESSMENT validity_months must be at least 1")
    return config
