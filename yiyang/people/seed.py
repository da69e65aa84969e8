"""A synthetic, realistic elder population for Lishui: the demo's 2,000 and the city's 550,000 from one code path.

Assumptions (stated because the reference data is incomplete; see yiyang/regions/data/README or
../shared/data/README.md):
- County weights are the 2020 census 60+ residents. 莲都, 缙云, 遂昌 have counts; 青田 has a share
  (18.84% of 509,053). 松阳, 云和, 景宁, 龙泉 have residents only and 庆元 nothing: the city's 60+
  total (532,500, plan text) minus the known counties is spread over those five by resident
  population, 庆元 taking the derived 142,551 residents (city total minus the others).
- Within a county, townships have no published older-population figures: a street (街道) weighs
  2, a town (镇) 1, a township (乡) 0.6 (urban streets are denser; mountain 乡 are small).
- Age pyramid: the 7th census national 60+ distribution by 5-year band (27.8% 60-64 … 0.05% 100+),
  women's share rising with age (49% at 60-64 to 68% at 95+).
- Categories (shares of 60+, Zhejiang orders of magnitude): 低保 3%, 低边 1.5%, 特困 0.8%,
  失能 2.5% / 半失能 5% rising steeply with age, 失智 1.5% (60-79) / 8% (80+), 计划生育特殊家庭 0.5%,
  重点优抚对象 1%. 高龄 is derived from age.
- Living arrangement: alone 12%, empty nest 45%, with family 40%, institution 3% (more alone and
  in institutions after 85).
- ID numbers: 70% carry the county's current area code, 25% the former 丽水地区 code (3325xx),
  5% another province's; all with a valid birth date and check character, and unique.
- Coordinates: the township's point (WGS-84) plus a normal offset of about 2 km.
Names, numbers, phones and addresses are synthetic.
"""

import csv
import io
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from yiyang.people import crypto
from yiyang.people.idnumber import make_id_number
from yiyang.people.models import (
    CONTACT_PHONE_FIELD,
    ID_FIELD,
    PHONE_FIELD,
    Category,
    Elder,
    ElderCategory,
    ElderContact,
    LivingArrangement,
)
from yiyang.regions.models import Level, Region

FULL_SCALE = 550_000
DEMO_SCALE = 2_000 / FULL_SCALE
CITY_60_PLUS = 532_500
POPULATION_CSV = Path(__file__).resolve().parent.parent / "regions" / "data" / "lishui_county_population.csv"
DERIVED_RESIDENTS = {"331126": 142_551}  # 庆元: city total minus the other counties (not a published figure)

OLD_PREFECTURE_CODES = {
    "331102": "332501",
    "331181": "332502",
    "331121": "332522",
    "331125": "332523",
    "331126": "332525",
    "331122": "332526",
    "331123": "332527",
    "331124": "332528",
    "331127": "332529",
}
OTHER_PROVINCE_CODES = ["330102", "330302", "330702", "350721", "362329", "340103", "510122", "430104"]

AGE_BANDS = [  # (from, to inclusive, share, share of women)
    (60, 64, 27.8, 0.49),
    (65, 69, 28.0, 0.50),
    (70, 74, 18.8, 0.51),
    (75, 79, 11.7, 0.53),
    (80, 84, 7.7, 0.56),
    (85, 89, 4.3, 0.60),
    (90, 94, 1.6, 0.64),
    (95, 99, 0.4, 0.68),
    (100, 104, 0.05, 0.75),
]

SURNAMES = "叶吴陈李周刘潘王徐朱雷蓝钟金毛杨张林郑何胡季梅项蒋程练应汤严谢夏罗吕兰柳鲍华傅章余沈黄邱董范宋邹卢郭曾池赖包"
MALE_NAMES = [
    "建国",
    "国庆",
    "德明",
    "土根",
    "水生",
    "金福",
    "根土",
    "福生",
    "志强",
    "明华",
    "春生",
    "有才",
    "永福",
    "长根",
    "和平",
    "国华",
    "文华",
    "关土",
    "松林",
    "正义",
    "进财",
    "新民",
    "金土",
    "春林",
    "庆丰",
    "火根",
    "寿根",
    "石林",
    "樟根",
    "跃进",
]
FEMALE_NAMES = [
    "桂英",
    "秀英",
    "玉兰",
    "月娥",
    "菊花",
    "金花",
    "春花",
    "彩凤",
    "美华",
    "素珍",
    "翠英",
    "爱莲",
    "雪梅",
    "凤英",
    "秀兰",
    "小花",
    "月英",
    "兰香",
    "金娥",
    "美兰",
    "春娥",
    "桂花",
    "玉珍",
    "银花",
    "菊英",
    "彩英",
    "爱华",
    "秀珍",
    "冬梅",
    "巧英",
]
CHILD_NAMES = [
    "伟",
    "芳",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀",
    "霞",
    "平",
    "刚",
    "燕",
    "辉",
    "玲",
    "华",
    "飞",
]
ROADS = [
    "解放街",
    "中山街",
    "人民路",
    "府前路",
    "大众街",
    "城北路",
    "江滨路",
    "新华路",
    "溪口路",
    "桥头街",
    "后街",
    "上村",
    "下村",
    "中村",
    "岭头",
    "垟心",
    "坑口",
    "岙里",
]


@dataclass
class TownshipSlot:
    region_id: int
    name: str
    county_code: str
    lng: float | None
    lat: float | None


@dataclass
class SeedElder:
    name: str
    gender: str
    birth_date: date
    id_number: str
    phone: str
    region: TownshipSlot
    address: str
    living_arrangement: str
    lng: float | None
    lat: float | None
    categories: list[str] = field(default_factory=list)
    contacts: list[tuple[str, str, str, bool]] = field(default_factory=list)  # name, relation, phone, guardian


def county_weights() -> dict[str, float]:
    """60+ residents per county code (see the module's assumptions)."""
    known: dict[str, float] = {}
    residents_only: dict[str, float] = {}
    with POPULATION_CSV.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            code, residents, older = row["code"], row["resident_2020"].strip(), row["age60_plus_2020"].strip()
            if older.endswith("%") and residents:
                known[code] = int(residents) * float(older.rstrip("%")) / 100
            elif older:
                known[code] = float(older)
            elif residents:
                residents_only[code] = float(residents)
            elif code in DERIVED_RESIDENTS:
                residents_only[code] = float(DERIVED_RESIDENTS[code])
    remainder = max(CITY_60_PLUS - sum(known.values()), 0)
    total_residents = sum(residents_only.values()) or 1
    for code, residents in residents_only.items():
        known[code] = remainder * residents / total_residents
    return known


def _township_weight(name: str) -> float:
    if name.endswith("街道"):
        return 2.0
    if name.endswith("镇"):
        return 1.0
    return 0.6


def township_slots() -> tuple[list[TownshipSlot], list[float]]:
    weights = county_weights()
    counties = {r.code: r for r in Region.objects.filter(level=Level.COUNTY, code__in=weights)}
    slots: list[TownshipSlot] = []
    slot_weights: list[float] = []
    for code, county in counties.items():
        townships = list(Region.objects.filter(level=Level.TOWNSHIP, parent=county).order_by("code"))
        if not townships:
            continue
        raw = [_township_weight(t.name) for t in townships]
        for township, w in zip(townships, raw, strict=True):
            lng, lat = (township.lng, township.lat) if township.lat is not None else (county.lng, county.lat)
            slots.append(TownshipSlot(township.pk, township.name, code, lng, lat))
            slot_weights.append(weights[code] * w / sum(raw))
    return slots, slot_weights


class Generator:
    def __init__(self, *, rng: random.Random, today: date, taken: set[str]):
        self.rng = rng
        self.today = today
        self.taken = taken  # blind indexes already in the database or generated
        self.slots, weights = township_slots()
        self.cum_weights = list(itertools.accumulate(weights))
        self.band_cum_weights = list(itertools.accumulate(b[2] for b in AGE_BANDS))

    def _birth(self) -> tuple[date, bool]:
        low, high, _, women = self.rng.choices(AGE_BANDS, cum_weights=self.band_cum_weights)[0]
        age = self.rng.randint(low, high)
        born = self.today - timedelta(days=age * 365 + self.rng.randint(0, 364) + age // 4)
        return born, self.rng.random() < women

    def _mobile(self) -> str:
        return (
            self.rng.choice(["139", "138", "137", "135", "158", "159", "150", "188", "187", "182"])
            + f"{self.rng.randint(0, 99_999_999):08d}"
        )

    def _id(self, county: str, born: date, female: bool) -> str:
        roll = self.rng.random()
        area = county if roll < 0.70 else OLD_PREFECTURE_CODES.get(county, county) if roll < 0.95 else self.rng.choice(OTHER_PROVINCE_CODES)
        for _ in range(50):
            seq = self.rng.randrange(0, 500) * 2 + (0 if female else 1)
            number = make_id_number(area, born, seq)
            bidx = crypto.blind_index(number, field=ID_FIELD)
            if bidx not in self.taken:
                self.taken.add(bidx)
                return number
        raise RuntimeError("could not find a free ID number sequence")  # 50 collisions in 500 slots: practically impossible

    def one(self) -> SeedElder:
        rng = self.rng
        slot = rng.choices(self.slots, cum_weights=self.cum_weights)[0]
        born, female = self._birth()
        age = self.today.year - born.year
        surname = rng.choice(SURNAMES)
        name = surname + rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        roll = rng.random()
        if age >= 85:
            living = (
                LivingArrangement.ALONE
                if roll < 0.18
                else LivingArrangement.EMPTY_NEST
                if roll < 0.50
                else LivingArrangement.INSTITUTION
                if roll < 0.58
                else LivingArrangement.WITH_FAMILY
            )
        else:
            living = (
                LivingArrangement.ALONE
                if roll < 0.11
                else LivingArrangement.EMPTY_NEST
                if roll < 0.57
                else LivingArrangement.INSTITUTION
                if roll < 0.59
                else LivingArrangement.WITH_FAMILY
            )
        categories = []
        for category, share in (
            (Category.DIBAO, 0.03),
            (Category.DIBIAN, 0.015),
            (Category.TEKUN, 0.008),
            (Category.FAMILY_PLANNING, 0.005),
            (Category.PRIORITY_ENTITLED, 0.01),
        ):
            if rng.random() < share:
                categories.append(category)
        frailty = 1 + max(age - 70, 0) / 6  # disability rises steeply with age
        r = rng.random()
        if r < 0.012 * frailty:
            categories.append(Category.DISABLED)
        elif r < 0.036 * frailty:
            categories.append(Category.PARTIALLY_DISABLED)
        if rng.random() < (0.08 if age >= 80 else 0.015):
            categories.append(Category.DEMENTIA)
        if Category.DIBAO in categories and Category.DIBIAN in categories:
            categories.remove(Category.DIBIAN)
        phone_roll = rng.random()
        phone = self._mobile() if phone_roll < 0.6 else f"0578{rng.randint(2_000_000, 8_999_999)}" if phone_roll < 0.8 else ""
        contacts = []
        if living != LivingArrangement.INSTITUTION or rng.random() < 0.7:
            for i in range(1 if rng.random() < 0.6 else 2):
                child = surname + rng.choice(CHILD_NAMES) + ("" if rng.random() < 0.5 else rng.choice(CHILD_NAMES))
                guardian = i == 0 and Category.DEMENTIA in categories
                contacts.append((child, "child", self._mobile(), guardian))
        if Category.TEKUN in categories and not contacts:
            contacts.append((rng.choice(SURNAMES) + rng.choice(CHILD_NAMES) + "书记", "village_cadre", self._mobile(), False))
        lng = lat = None
        if slot.lat is not None:
            lng, lat = round(slot.lng + rng.gauss(0, 0.02), 6), round(slot.lat + rng.gauss(0, 0.018), 6)
        address = f"{slot.name} {rng.choice(ROADS)} {rng.randint(1, 199)}号"
        return SeedElder(
            name=name,
            gender="female" if female else "male",
            birth_date=born,
            id_number=self._id(slot.county_code, born, female),
            phone=phone,
            region=slot,
            address=address,
            living_arrangement=living,
            lng=lng,
            lat=lat,
            categories=categories,
            contacts=contacts,
        )

    def stream(self, count: int) -> Iterator[SeedElder]:
        for _ in range(count):
            yield self.one()


ELDER_COLUMNS = [
    "created_at", "updated_at", "name", "gender", "birth_date", "residence_region_id", "hukou_region_id", "address",
    "living_arrangement", "status", "id_number_enc", "id_number_bidx", "phone_enc", "phone_bidx", "lng", "lat",
    "status_reason", "age_exception_reason",
]  # fmt: skip
CATEGORY_COLUMNS = ["created_at", "updated_at", "elder_id", "category", "since", "source"]
CONTACT_COLUMNS = ["created_at", "updated_at", "elder_id", "name", "relation", "is_guardian", "is_emergency", "phone_enc", "phone_bidx"]


def _elder_row(e: SeedElder, now) -> tuple:
    id_bidx = crypto.blind_index(e.id_number, field=ID_FIELD)
    return (
        now, now, e.name, e.gender, e.birth_date, e.region.region_id, e.region.region_id, e.address, e.living_arrangement, "active",
        crypto.encrypt(e.id_number, field=ID_FIELD), id_bidx, crypto.encrypt(e.phone, field=PHONE_FIELD),
        crypto.blind_index(e.phone, field=PHONE_FIELD) if e.phone else "", e.lng, e.lat, "", "",
    )  # fmt: skip


def _copy(cursor, table: str, columns: list[str], rows: list[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _write_chunk(chunk: list[SeedElder], since: date) -> None:
    now = timezone.now()
    elder_rows = [_elder_row(e, now) for e in chunk]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as django_cursor:
                cursor = django_cursor.cursor  # the psycopg cursor: COPY streams rows without per-row statements
                _copy(cursor, Elder._meta.db_table, ELDER_COLUMNS, elder_rows)
                bidxs = [row[11] for row in elder_rows]
                cursor.execute(f"SELECT id_number_bidx, id FROM {Elder._meta.db_table} WHERE id_number_bidx = ANY(%s)", [bidxs])  # noqa: S608 (model's table name)
                ids = dict(cursor.fetchall())
                category_rows = [
                    (now, now, ids[row[11]], c, since, "seed") for e, row in zip(chunk, elder_rows, strict=True) for c in e.categories
                ]
                contact_rows = [
                    (now, now, ids[row[11]], name, relation, guardian, True, crypto.encrypt(phone, field=CONTACT_PHONE_FIELD), crypto.blind_index(phone, field=CONTACT_PHONE_FIELD))
                    for e, row in zip(chunk, elder_rows, strict=True)
                    for name, relation, phone, guardian in e.contacts
                ]  # fmt: skip
                _copy(cursor, ElderCategory._meta.db_table, CATEGORY_COLUMNS, category_rows)
                _copy(cursor, ElderContact._meta.db_table, CONTACT_COLUMNS, contact_rows)
            return
        # Elsewhere (SQLite): plain executemany, several times faster than bulk_create at this volume.
        ops = connection.ops
        stamp = ops.adapt_datetimefield_value(now)
        adapted = [(stamp, stamp, *row[2:4], ops.adapt_datefield_value(row[4]), *row[5:]) for row in elder_rows]
        with connection.cursor() as cursor:
            cursor.executemany(_insert_sql(Elder._meta.db_table, ELDER_COLUMNS), adapted)
            ids: dict[str, int] = {}
            bidxs = [row[11] for row in elder_rows]
            for start in range(0, len(bidxs), 900):
                part = bidxs[start : start + 900]
                cursor.execute(
                    f"SELECT id_number_bidx, id FROM {Elder._meta.db_table} WHERE id_number_bidx IN ({', '.join(['%s'] * len(part))})",  # noqa: S608
                    part,
                )
                ids.update(cursor.fetchall())
            day = ops.adapt_datefield_value(since)
            cursor.executemany(
                _insert_sql(ElderCategory._meta.db_table, CATEGORY_COLUMNS),
                [(stamp, stamp, ids[row[11]], c, day, "seed") for e, row in zip(chunk, elder_rows, strict=True) for c in e.categories],
            )
            cursor.executemany(
                _insert_sql(ElderContact._meta.db_table, CONTACT_COLUMNS),
                [
                    (stamp, stamp, ids[row[11]], name, relation, guardian, True, crypto.encrypt(phone, field=CONTACT_PHONE_FIELD), crypto.blind_index(phone, field=CONTACT_PHONE_FIELD))
                    for e, row in zip(chunk, elder_rows, strict=True)
                    for name, relation, phone, guardian in e.contacts
                ],
            )  # fmt: skip


def _insert_sql(table: str, columns: list[str]) -> str:
    # Table and column names come from the models and constants above, never from input.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608


def seed_population(*, scale: float, random_seed: int = 20260101, chunk_size: int = 5_000, progress=None) -> int:
    """Generate round(550,000 × scale) elders and insert them in streamed chunks. Returns the number inserted."""
    count = round(FULL_SCALE * scale)
    if count <= 0:
        return 0
    taken = set(Elder.objects.exclude(id_number_bidx=None).values_list("id_number_bidx", flat=True).iterator(chunk_size=20_000))
    generator = Generator(rng=random.Random(random_seed), today=timezone.localdate(), taken=taken)
    if not generator.slots:
        raise RuntimeError("no townships loaded: run `yiyang load_regions` first")
    since = timezone.localdate().replace(month=1, day=1)
    done = 0
    chunk: list[SeedElder] = []
    for elder in generator.stream(count):
        chunk.append(elder)
        if len(chunk) >= chunk_size:
            _write_chunk(chunk, since)
            done += len(chunk)
            chunk = []
            if progress:
                progress(done, count)
    if chunk:
        _write_chunk(chunk, since)
        done += len(chunk)
        if progress:
            progress(done, count)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Fresh statistics after a bulk load, or the planner keeps estimating an empty table.
        with connection.cursor() as cursor:
            for model in (Elder, ElderCategory, ElderContact):
                cursor.execute(f"ANALYZE {model._meta.db_table}")  # noqa: S608 (model's table name)
    return done


def as_csv(elders: list[SeedElder]) -> str:
    """The generator's output as an import file (used by tests and to make sample import files)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "身份证号", "联系电话", "居住乡镇代码", "居住地址", "居住状况", "类别"])
    for e in elders:
        writer.writerow(
            [
                e.name,
                e.id_number,
                e.phone,
                Region.objects.get(pk=e.region.region_id).code,
                e.address,
                e.living_arrangement,
                ";".join(e.categories),
            ]
        )
    return out.getvalue()
