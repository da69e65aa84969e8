"""Tables of the cockpit as .xlsx (openpyxl) and the evaluation report as .docx (python-docx).

Every table is built once as (headers, rows) by a `*_table` function; the page, the .xlsx and
the report all render those same rows.
"""

import io
from datetime import date

from django.utils.translation import gettext as _

from yiyang.plan.charts import chart_for, render_png
from yiyang.plan.models import KeyProject, MajorTask, Plan
from yiyang.plan.queries import IndicatorRow
from yiyang.plan.targets import fmt_number
from yiyang.regions.models import Region

Table = tuple[list[str], list[list]]


def _latest(row: IndicatorRow) -> str:
    a = row.assessment
    return _("no data") if a.latest is None else f"{fmt_number(a.latest, 2)} ({a.latest_period})"


def indicator_table(rows: list[IndicatorRow], *, region: Region) -> Table:
    headers = [
        _("No."), _("Category"), _("Indicator"), _("Unit"), _("Base value (2020, city)"), _("Target as written"),
        _("Target read as"), _("Current value"), _("Projected to target year"), _("Status"), _("Source"), _("Responsible unit"), _("Flag"),
    ]  # fmt: skip
    out = []
    for r in rows:
        ind = r.indicator
        a = r.assessment
        out.append(
            [
                ind.no,
                ind.category,
                ind.name,
                ind.unit,
                ind.baseline_text or "/",
                ind.target_text or "/",
                r.target.describe() if r.applies else _("set for the whole city"),
                _latest(r),
                "" if a.projected is None else fmt_number(a.projected, 2),
                f"{a.symbol} {a.label}" + (f" ({a.reason})" if a.reason else ""),
                _("computed") if r.source == "computed" else _("reported"),
                ind.responsible_unit,
                ind.flag_message if ind.flagged else "",
            ]
        )
    return headers, out


def task_table(tasks: list[MajorTask], *, today: date) -> Table:
    headers = [_("No."), _("Category"), _("Task"), _("Due"), _("Lead unit"), _("Status"), _("Overdue"), _("Latest progress")]
    out = []
    for t in tasks:
        latest = t.updates.all()[0] if t.updates.all() else None
        out.append(
            [
                t.no,
                t.category,
                t.title,
                t.due_year,
                t.lead_unit + (f" ({_('inferred, not confirmed')})" if t.lead_unit_unconfirmed else ""),
                t.get_status_display(),
                _("OVERDUE") if t.is_overdue(today) else "",
                f"{latest.as_of:%Y-%m-%d} {latest.text}" if latest else "",
            ]
        )
    return headers, out


def _yi(fen: int) -> str:
    """Fen to 亿元 (100 million yuan), as the plan prints investment."""
    return fmt_number(fen / 10_000_000_000, 4)


def project_table(projects: list[KeyProject], *, today: date) -> Table:
    headers = [
        _("No."), _("No. as printed"), _("Project"), _("Nature"), _("Planned investment (100 million yuan)"),
        _("Invested (100 million yuan)"), _("Invested %"), _("Due"), _("Lead unit"), _("Status"), _("Overdue"),
    ]  # fmt: skip
    out = []
    for p in projects:
        share = "" if not p.planned_investment_fen else fmt_number(p.invested_fen * 100 / p.planned_investment_fen, 1)
        out.append(
            [
                p.seq,
                p.no_as_printed,
                p.title,
                p.nature,
                _yi(p.planned_investment_fen),
                _yi(p.invested_fen),
                share,
                p.due_year,
                p.lead_unit + (f" ({_('inferred, not confirmed')})" if p.lead_unit_unconfirmed else ""),
                p.get_status_display(),
                _("OVERDUE") if p.is_overdue(today) else "",
            ]
        )
    return headers, out


def xlsx_bytes(title: str, table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    headers, rows = table
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([str(v) if v is not None and not isinstance(v, int | float) else v for v in row])
    ws.freeze_panes = "A2"
    for column in ws.columns:
        width = max(len(str(c.value or "")) for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(60, max(8, width * 1.6))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def gaps(rows: list[IndicatorRow], tasks: list[MajorTask], projects: list[KeyProject], *, today: date) -> list[str]:
    """What stands between the region and the plan: indicators off track or without data, overdue work."""
    out = []
    for r in rows:
        a = r.assessment
        if a.status == "off_track":
            out.append(
                _("Indicator %(no)s (%(name)s) is off track: projected %(p)s against the target “%(t)s”.")
                % {"no": r.indicator.no, "name": r.indicator.name, "p": fmt_number(a.projected, 2), "t": r.indicator.target_text}
            )
        elif a.status == "no_data" and r.applies:
            out.append(_("Indicator %(no)s (%(name)s) has no data.") % {"no": r.indicator.no, "name": r.indicator.name})
        if r.indicator.flagged:
            out.append(_("Indicator %(no)s: %(flag)s") % {"no": r.indicator.no, "flag": r.indicator.flag_message})
    for t in tasks:
        if t.is_overdue(today):
            out.append(_("Major task %(no)s (%(title)s), due %(y)s, is not completed.") % {"no": t.no, "title": t.title, "y": t.due_year})
    for p in projects:
        if p.is_overdue(today):
            out.append(_("Key project %(no)s (%(title)s), due %(y)s, is not completed.") % {"no": p.seq, "title": p.title, "y": p.due_year})
    return out


def evaluation_docx(
    *, plan: Plan, region: Region, kind: str, as_of: date, rows: list[IndicatorRow], tasks: list[MajorTask], projects: list[KeyProject]
) -> bytes:
    """The mid-term (2023) or final (2025) evaluation as an editable Word document."""
    from docx import Document
    from docx.shared import Cm, Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(10.5)
    title = _("Mid-term evaluation") if kind == "midterm" else _("Final evaluation")
    doc.add_heading(f"{plan.name} · {title}", level=0)
    doc.add_paragraph(_("Region: %(region)s · Data as of %(date)s") % {"region": region.full_name(), "date": as_of.isoformat()})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.assessment.label] = counts.get(r.assessment.label, 0) + 1
    doc.add_paragraph("; ".join(f"{k}: {v}" for k, v in counts.items()))

    def add_table(table: Table, *, widths_cm: list[float] | None = None) -> None:
        headers, body = table
        t = doc.add_table(rows=1, cols=len(headers))
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, headers, strict=True):
            cell.text = str(text)
            for run in cell.paragraphs[0].runs:
                run.font.bold = True
        for values in body:
            cells = t.add_row().cells
            for cell, value in zip(cells, values, strict=True):
                cell.text = "" if value is None else str(value)
        for row in t.rows:
            for cell in row.cells:
                for paragraph in cell.paragraphs:
                    for run in paragraph.runs:
                        run.font.size = Pt(8)

    doc.add_heading(_("1. Indicators"), level=1)
    headers, body = indicator_table(rows, region=region)
    keep = [0, 2, 3, 4, 5, 7, 8, 9, 10]
    add_table(([headers[i] for i in keep], [[r[i] for i in keep] for r in body]))

    doc.add_heading(_("2. Charts"), level=1)
    for r in rows:
        if not any(v is not None for _p, v in r.series):
            continue
        spec = chart_for(r, target_year=plan.target_year)
        doc.add_picture(io.BytesIO(render_png(spec)), width=Cm(15))

    doc.add_heading(_("3. Major tasks (Annex 1)"), level=1)
    add_table(task_table(tasks, today=as_of))
    doc.add_heading(_("4. Key projects (Annex 2)"), level=1)
    add_table(project_table(projects, today=as_of))
    doc.add_heading(_("5. Gaps"), level=1)
    found = gaps(rows, tasks, projects, today=as_of)
    for line in found or [_("No gaps found.")]:
        doc.add_paragraph(line, style="List Bullet")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
