"""Reading civil-affairs spreadsheets (.xlsx, .csv) and importing them row by row.

Files arrive the way they really do: Chinese headers (with a few spellings), CSV saved by Excel
in GB18030 or UTF-8 with a BOM, ID numbers that Excel turned into numbers, dates as dates or text.
Each row goes through the same operation as the registration form, so no rule is written twice;
a bad row is reported (row, column, reason) and the others go on. The error report never repeats
cell values: it would otherwise be a second copy of the personal data.
"""

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError
from yiyang.people import crypto
from yiyang.people.idnumber import parse_id_number
from yiyang.people.models import ID_FIELD, Category, Elder, ImportJob, ImportKind, ImportStatus, LivingArrangement

MAX_ROWS = 600_000
PROGRESS_EVERY = 50
INLINE_BYTES = 64 * 1024  # smaller files import during the request; larger ones in the background

# Header spellings -> field. Matching ignores spaces, brackets and case.
HEADERS = {
    "name": ["姓名", "name", "老人姓名"],
    "id_number": ["身份证号", "身份证号码", "公民身份号码", "id_number", "idnumber", "证件号码"],
    "phone": ["联系电话", "电话", "手机", "手机号", "phone"],
    "residence_region": ["居住乡镇代码", "居住乡镇", "乡镇（街道）", "乡镇街道", "乡镇", "residence_region", "township"],
    "hukou_region": ["户籍乡镇代码", "户籍乡镇", "hukou_region"],
    "address": ["居住地址", "现住址", "地址", "address"],
    "living_arrangement": ["居住状况", "居住情况", "living_arrangement"],
    "categories": ["类别", "人员类别", "categories"],
    "gender": ["性别", "gender"],
    "birth_date": ["出生日期", "birth_date"],
    "age_exception_reason": ["未满60周岁原因", "低龄原因", "age_exception_reason"],
    # Reconciliation files
    "date": ["死亡日期", "迁出日期", "变动日期", "日期", "date"],
    "to_region": ["迁入乡镇代码", "迁入乡镇", "迁入地", "to_region"],
    "allowance": ["救助类别", "保障类别", "allowance"],
    "allowance_status": ["状态", "保障状态", "allowance_status"],
}
REQUIRED = {
    ImportKind.ELDERS: ["name", "id_number", "residence_region"],
    ImportKind.DEATHS: ["id_number", "date"],
    ImportKind.HUKOU_MOVES: ["id_number", "to_region"],
    ImportKind.ALLOWANCE: ["id_number", "allowance", "allowance_status"],
}
LIVING_WORDS = {
    "独居": LivingArrangement.ALONE,
    "空巢": LivingArrangement.EMPTY_NEST,
    "与家人同住": LivingArrangement.WITH_FAMILY,
    "与子女同住": LivingArrangement.WITH_FAMILY,
    "同住": LivingArrangement.WITH_FAMILY,
    "机构": LivingArrangement.INSTITUTION,
    "入住机构": LivingArrangement.INSTITUTION,
    "养老机构": LivingArrangement.INSTITUTION,
}
CATEGORY_WORDS = {
    "特困": Category.TEKUN,
    "特困人员": Category.TEKUN,
    "低保": Category.DIBAO,
    "低边": Category.DIBIAN,
    "低保边缘": Category.DIBIAN,
    "失能": Category.DISABLED,
    "半失能": Category.PARTIALLY_DISABLED,
    "失智": Category.DEMENTIA,
    "计划生育特殊家庭": Category.FAMILY_PLANNING,
    "计生特殊家庭": Category.FAMILY_PLANNING,
    "重点优抚对象": Category.PRIORITY_ENTITLED,
    "优抚对象": Category.PRIORITY_ENTITLED,
}
GENDER_WORDS = {"男": "male", "女": "female", "male": "male", "female": "female"}


class FileError(DomainError):
    """The file as a whole cannot be read (format, encoding, missing columns)."""


def _key(header: object) -> str:
    return re.sub(r"[\s()（）*]", "", str(header or "")).lower()


LOOKUP = {_key(spelling): field for field, spellings in HEADERS.items() for spelling in spellings}


def read_rows(name: str, content: bytes) -> tuple[list[str], Iterator[tuple[int, list[object]]]]:
    """The header row and an iterator of (spreadsheet row number, cells)."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file; all mean "not a readable workbook"
            raise FileError(_("This is not a readable .xlsx workbook."), field="file", code="file_unreadable") from exc
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        return header, ((i, list(r)) for i, r in enumerate(rows, start=2))
    if lower.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise FileError(_("The CSV file is neither UTF-8 nor GB18030 text."), field="file", code="file_encoding")
        if "\x00" in text:
            raise FileError(_("The CSV file contains binary data."), field="file", code="file_unreadable")
        reader = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(reader, [])]
        return header, ((i, list(r)) for i, r in enumerate(reader, start=2))
    raise FileError(_("Upload an .xlsx or .csv file."), field="file", code="file_type")


def map_columns(header: list[str], kind: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        field = LOOKUP.get(_key(title))
        if field and field not in columns:
            columns[field] = index
    missing = [f for f in REQUIRED[kind] if f not in columns]
    if missing:
        names = ", ".join(HEADERS[f][0] for f in missing)
        raise FileError(_("The file has no column for: %(names)s.") % {"names": names}, field="file", code="missing_columns")
    return columns


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell_id_number(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Excel keeps 15 significant digits: an 18-digit number stored as a number has lost its last digits.
        raise DomainError(
            _("The ID number was stored as a number and lost digits; format the column as text."), field="id_number", code="id_as_number"
        )
    return _text(value)


def cell_date(value: object, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    try:
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        raise DomainError(_("Enter a date as YYYY-MM-DD."), field=field)


def cell_categories(value: object) -> list[str]:
    words = [w for w in re.split(r"[;；,，、/\s]+", _text(value)) if w]
    out = []
    for word in words:
        category = CATEGORY_WORDS.get(word) or (word if word in Category.values else None)
        if category is None:
            raise DomainError(_("Unknown category: %(c)s.") % {"c": word[:20]}, field="categories")
        out.append(category)
    return out


def cell_living(value: object) -> str:
    text = _text(value)
    if not text:
        return LivingArrangement.WITH_FAMILY
    found = LIVING_WORDS.get(text) or (text if text in LivingArrangement.values else None)
    if found is None:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": "独居, 空巢, 与家人同住, 机构"}, field="living_arrangement")
    return found


def cell_region(value: object, field: str, *, under=None):
    """A township by statistical code or by name (a name must be unique within the county or city)."""
    from yiyang.regions.models import Level, Region

    text = _text(value)
    if not text:
        return None
    regions = Region.objects.filter(level__in=[Level.TOWNSHIP, Level.VILLAGE])
    found = regions.filter(code=text).first() if text.isdigit() else None
    if found is None and not text.isdigit():
        matches = regions.filter(name=text)
        if under:
            matches = matches.filter(path__startswith=under)
        found = matches.first() if matches.count() == 1 else None
    if found is None:
        raise DomainError(_("Unknown township: use its 9-digit code or its exact name."), field=field, code="unknown_region")
    return found


def import_file_store(*, actor, kind: str, name: str, content: bytes) -> ImportJob:
    """Check the file can be read and has the columns, keep it, and create the job."""
    from yiyang.accounts.roles import can

    if not can(actor, "elder.import"):
        raise DomainError(_("Your role may not do this."), code="forbidden", status=403)
    if kind not in ImportKind.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ImportKind.values)}, field="kind")
    if not content:
        raise FileError(_("The file is empty."), field="file", code="file_empty")
    header, rows = read_rows(name, content)
    map_columns(header, kind)
    total = sum(1 for _ in rows)
    if total > MAX_ROWS:
        raise FileError(_("At most %(n)s rows per file.") % {"n": MAX_ROWS}, field="file", code="file_too_large")
    safe_name = re.sub(r"[^\w.\-]+", "_", name)[-100:] or "upload"
    with transaction.atomic():
        job = ImportJob(kind=kind, original_name=name[:255], total_rows=total, created_by=actor)
        job.file.save(safe_name, ContentFile(content), save=False)
        job.save()
    return job


def _field_column(columns: dict[str, int], header: list[str], field: str | None) -> str:
    if field and field in columns:
        return header[columns[field]]
    # A column the file does not have: name it as a civil-affairs file would.
    return HEADERS[field][0] if field in HEADERS else (field or "")


def import_run(job_id: int) -> ImportJob:
    """Process a stored job's rows. Safe to run once: a job that is not queued is left alone."""
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.RUNNING, updated_at=timezone.now()
        )
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job
    try:
        with job.file.open("rb") as handle:
            content = handle.read()
        header, rows = read_rows(job.original_name, content)
        columns = map_columns(header, job.kind)
        handler = ROW_HANDLERS[job.kind]
        for number, cells in rows:
            if not any(_text(c) for c in cells):
                job.processed_rows += 1
                continue
            values = {f: (cells[i] if i < len(cells) else None) for f, i in columns.items()}
            try:
                outcome = handler(job, number, values)
            except DomainError as exc:
                job.error_count += 1
                job.errors.append({"row": number, "column": _field_column(columns, header, exc.field), "reason": exc.message})
            else:
                setattr(job, f"{outcome}_count", getattr(job, f"{outcome}_count") + 1)
            job.processed_rows += 1
            if job.processed_rows % PROGRESS_EVERY == 0:
                ImportJob.objects.filter(pk=job.pk).update(processed_rows=job.processed_rows, updated_at=timezone.now())
        job.status = ImportStatus.DONE
    except DomainError as exc:
        job.status, job.message = ImportStatus.FAILED, exc.message[:255]
    except Exception:
        # A bug must not leave the job "running" forever: mark it failed, then let the worker log the error.
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, message="internal error", finished_at=timezone.now())
        raise
    job.finished_at = timezone.now()
    # The upload is the only clear-text copy of the numbers: once read, it goes (counts and errors stay).
    if job.file:
        job.file.delete(save=False)
    job.file = ""
    with transaction.atomic():
        job.save()
        regions = list(job.created_by.regions.all()[:2])
        audit_record(
            actor=job.created_by,
            action="elder.import",
            obj=job,
            # One region for the access log's scope; a user of several regions is seen by the city.
            region=regions[0] if len(regions) == 1 else None,
            purpose=job.get_kind_display(),
            detail={
                "kind": job.kind,
                "file": job.original_name,
                "count": job.created_count + job.proposed_count,
                "unchanged": job.unchanged_count,
                "errors": job.error_count,
            },
        )
    return job


def _existing(number: str) -> Elder | None:
    return Elder.objects.select_related("residence_region").filter(id_number_bidx=crypto.blind_index(number, field=ID_FIELD)).first()


def _elder_row(job: ImportJob, number: int, values: dict) -> str:
    from yiyang.people.operations import ElderInput, _duplicate, elder_register
    from yiyang.people.queries import elder_for

    actor = job.created_by
    id_number = parse_id_number(cell_id_number(values.get("id_number"))).number
    existing = _existing(id_number)
    if existing is not None:
        # Re-importing the same file changes nothing: a number already registered and visible is skipped.
        if elder_for(actor, existing.pk) is not None:
            return "unchanged"
        raise _duplicate(actor, existing)
    gender_text = _text(values.get("gender"))
    if gender_text and gender_text not in GENDER_WORDS:
        raise DomainError(_("Write 男 or 女."), field="gender")
    data = ElderInput(
        name=_text(values.get("name")),
        id_number=id_number,
        residence_region=cell_region(values.get("residence_region"), "residence_region"),
        hukou_region=cell_region(values.get("hukou_region"), "hukou_region"),
        gender=GENDER_WORDS.get(gender_text),
        birth_date=cell_date(values.get("birth_date"), "birth_date"),
        phone=_text(values.get("phone")),
        address=_text(values.get("address")),
        living_arrangement=cell_living(values.get("living_arrangement")),
        categories=cell_categories(values.get("categories")),
        age_exception_reason=_text(values.get("age_exception_reason")),
    )
    if data.residence_region is None:
        raise DomainError(_("Enter the township."), field="residence_region", code="required")
    elder_register(data=data, actor=actor, source=f"import:{job.pk}")
    return "created"


def _reconciliation_row(job: ImportJob, number: int, values: dict) -> str:
    from yiyang.people.operations import reconciliation_propose

    return reconciliation_propose(job=job, row=number, values=values)


ROW_HANDLERS = {
    ImportKind.ELDERS: _elder_row,
    ImportKind.DEATHS: _reconciliation_row,
    ImportKind.HUKOU_MOVES: _reconciliation_row,
    ImportKind.ALLOWANCE: _reconciliation_row,
}


def error_file(job: ImportJob) -> str:
    """The bad rows as CSV (UTF-8 with BOM, so Excel shows the Chinese): row, column, reason."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Column"), _("Reason")])
    for error in job.errors:
        writer.writerow([error["row"], error["column"], error["reason"]])
    return out.getvalue()


def import_start(*, actor, kind: str, name: str, content: bytes, background: bool | None = None) -> ImportJob:
    """Store the file and import it: small files at once, large ones by the background worker (progress on the job)."""
    job = import_file_store(actor=actor, kind=kind, name=name, content=content)
    if background is None:
        background = len(content) > INLINE_BYTES
    if background:
        from yiyang.people.tasks import import_run_task

        transaction.on_commit(lambda: import_run_task.enqueue(job.pk))
    else:
        job = import_run(job.pk)
    return job
