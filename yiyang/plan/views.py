"""Cockpit pages: parse, call a query or an operation, render. Out of scope is 404."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.shortcuts import render as django_render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.plan import exports, operations, queries
from yiyang.plan.charts import chart_for, echarts_option
from yiyang.plan.models import Indicator, IndicatorValue, KeyProject, MajorTask, Plan, ProgressUpdate, ProvincialAverage, Source, WorkStatus
from yiyang.plan.periods import Period
from yiyang.plan.trend import STATUS_LABELS


def render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Every cockpit page knows what the user may do (menus show only what works)."""
    user = request.user
    context["caps"] = {c: can(user, f"plan.{c}") for c in ("view", "enter", "approve", "manage", "report")}
    return django_render(request, template, context, status=status)


def _kind(kind: str) -> type[MajorTask] | type[KeyProject]:
    if kind == "tasks":
        return MajorTask
    if kind == "projects":
        return KeyProject
    raise Http404


def _need(request: HttpRequest, capability: str) -> None:
    if not can(request.user, capability):
        raise Http404


def _region(request: HttpRequest):
    region = queries.region_for(request.user, request.GET.get("region") or request.POST.get("region"))
    if region is None:
        raise Http404
    return region


def _plan(request: HttpRequest) -> Plan:
    code = request.GET.get("plan")
    plan = Plan.objects.filter(code=code).first() if code else queries.current_plan()
    if plan is None:
        raise Http404
    return plan


def _crumbs(user, region) -> list:
    """The region's ancestors the user may see (a county officer's trail starts at their county)."""
    visible = set(queries.regions_visible_to(user).values_list("pk", flat=True))
    return [r for r in [*region.ancestors(), region] if r.pk in visible]


@login_required
def cockpit(request: HttpRequest) -> HttpResponse:
    _need(request, "plan.view")
    plan = _plan(request)
    region = _region(request)
    rows = queries.indicator_rows(plan=plan, region=region)
    summary = {key: 0 for key in STATUS_LABELS}
    for r in rows:
        summary[r.assessment.status] += 1
    children = queries.regions_visible_to(request.user).filter(parent=region).order_by("code")
    context = {
        "plan": plan,
        "plans": Plan.objects.all(),
        "region": region,
        "crumbs": _crumbs(request.user, region),
        "children": children,
        "rows": rows,
        "summary": [(STATUS_LABELS[k][0], STATUS_LABELS[k][1], v, k) for k, v in summary.items()],
        "chart": {
            "kind": "summary",
            "labels": [str(STATUS_LABELS[k][1]) for k in summary],
            "symbols": [STATUS_LABELS[k][0] for k in summary],
            "values": list(summary.values()),
        },
        "is_history": not plan.is_current,
    }
    return render(request, "plan/cockpit.html", context)


@login_required
def indicator_detail(request: HttpRequest, plan_code: str, no: int) -> HttpResponse:
    indicator = queries.indicator_for(request.user, plan_code, no)
    if indicator is None:
        raise Http404
    region = _region(request)
    by = request.GET.get("by")
    if by not in ("month", "year"):
        by = None
    row = queries.indicator_rows(plan=indicator.plan, region=region, by=by, indicators=[indicator])[0]
    spec = chart_for(row, target_year=indicator.plan.target_year)
    latest_period = row.latest_row.period if row.latest_row else None
    values = (
        IndicatorValue.objects.filter(indicator=indicator, region=region).select_related("entered_by", "approved_by").order_by("-period")
    )
    context = {
        "indicator": indicator,
        "region": region,
        "crumbs": _crumbs(request.user, region),
        "row": row,
        "by": "month" if row.monthly else "year",
        "option": echarts_option(spec),
        "chart_rows": [(label, v) for label, v in zip(spec.labels, spec.values, strict=True) if v is not None],
        "has_values": any(v is not None for v in spec.values),
        "values": values[:60],
        "children": queries.children_values(indicator=indicator, region=region, period=latest_period),
        "latest_period": latest_period,
        "definition": indicator.definition,
        "averages": ProvincialAverage.objects.filter(indicator=indicator).order_by("period"),
        "can_enter": can(request.user, "plan.enter") and indicator.source == Source.REPORTED and indicator.plan.is_current,
        "can_manage": can(request.user, "plan.manage"),
        "this_year": timezone.localdate().year,
    }
    return render(request, "plan/indicator_detail.html", context)


@login_required
def indicator_rows_behind(request: HttpRequest, plan_code: str, no: int) -> HttpResponse:
    """The elders or institutions behind a computed number, within the user's scope."""
    _need(request, "plan.approve")  # officers only: the rows are personal data
    indicator = queries.indicator_for(request.user, plan_code, no)
    if indicator is None or indicator.definition is None:
        raise Http404
    region = _region(request)
    try:
        period = Period.parse(request.GET.get("period") or str(Period.month_of(timezone.localdate())))
    except DomainError:
        raise Http404
    part = request.GET.get("part", "numerator")
    if part not in queries.DRILL_PARTS:
        raise Http404
    rows = queries.drilldown(request.user, indicator=indicator, region=region, period=period, part=part)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "plan/rows_behind.html",
        {"indicator": indicator, "region": region, "period": period, "page": page, "kind": indicator.definition.rows_kind, "part": part},
    )


def _entry_context(request, *, form: dict, errors: dict) -> dict:
    indicators = queries.indicators_to_enter(request.user, queries.current_plan())
    regions = queries.regions_visible_to(request.user).order_by("path")
    return {"indicators": indicators, "regions": regions, "form": form, "errors": errors}


@login_required
def value_entry(request: HttpRequest) -> HttpResponse:
    _need(request, "plan.enter")
    form = {
        "indicator": request.GET.get("indicator", ""),
        "region": request.GET.get("region", ""),
        "period": request.GET.get("period", str(timezone.localdate().year - 1)),
        "value": "",
        "note": "",
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in ("indicator", "region", "period", "value", "note")}
        plan = queries.current_plan()
        indicator = (
            Indicator.objects.filter(plan=plan, pk=form["indicator"]).select_related("plan").first()
            if form["indicator"].isdigit()
            else None
        )
        region = queries.regions_visible_to(request.user).filter(code=form["region"]).first()
        if indicator is None:
            errors["indicator"] = _("Choose an indicator.")
        if region is None:
            errors["region"] = _("Choose a region you are responsible for.")
        if not errors:
            try:
                operations.value_submit(
                    indicator=indicator, region=region, period=form["period"], value=form["value"], note=form["note"], actor=request.user
                )
            except DomainError as exc:
                errors[exc.field or "general"] = exc.message
            else:
                messages.success(request, _("The value was submitted for approval by the level above."))
                return redirect(f"{reverse('plan:indicator', args=[plan.code, indicator.no])}?region={region.code}")
    status = 400 if errors else 200
    return render(request, "plan/value_entry.html", _entry_context(request, form=form, errors=errors), status=status)


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    _need(request, "plan.approve")
    pending = [v for v in queries.values_to_approve(request.user) if operations.may_approve(request.user, v)]
    return render(request, "plan/approvals.html", {"pending": pending})


@login_required
@require_POST
def approval_decide(request: HttpRequest, value_id: int) -> HttpResponse:
    _need(request, "plan.approve")
    value = queries.values_to_approve(request.user).filter(pk=value_id).first()
    if value is None:
        raise Http404
    try:
        if request.POST.get("decision") == "approve":
            operations.value_approve(value=value, actor=request.user)
            messages.success(request, _("Approved."))
        else:
            operations.value_reject(value=value, reason=request.POST.get("reason", ""), actor=request.user)
            messages.success(request, _("Returned for correction."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("plan:approvals")


@login_required
@require_POST
def provincial_average(request: HttpRequest, plan_code: str, no: int) -> HttpResponse:
    _need(request, "plan.manage")
    indicator = queries.indicator_for(request.user, plan_code, no)
    if indicator is None:
        raise Http404
    try:
        operations.provincial_average_set(
            indicator=indicator,
            period=request.POST.get("period", ""),
            value=request.POST.get("value", ""),
            source_note=request.POST.get("source_note", ""),
            actor=request.user,
        )
        messages.success(request, _("The provincial average was saved."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('plan:indicator', args=[plan_code, no])}?region={request.POST.get('region', '')}")


def _work_items(model):
    return list(
        model.objects.filter(plan=queries.current_plan())
        .select_related("lead_unit_confirmed_by")
        .prefetch_related(Prefetch("updates", queryset=ProgressUpdate.objects.select_related("by").order_by("-as_of", "-pk")))
    )


@login_required
def work_list(request: HttpRequest, kind: str) -> HttpResponse:
    _need(request, "plan.view")
    model = _kind(kind)
    items = _work_items(model)
    today = timezone.localdate()
    show = request.GET.get("show", "")
    if show == "overdue":
        items = [i for i in items if i.is_overdue(today)]
    elif show == "inferred":
        items = [i for i in items if i.lead_unit_unconfirmed]
    for i in items:
        i.overdue = i.is_overdue(today)
        if kind == "projects":
            i.planned_yi, i.invested_yi = exports._yi(i.planned_investment_fen), exports._yi(i.invested_fen)
    totals = {}
    if kind == "projects":
        totals = {
            "planned": exports._yi(sum(i.planned_investment_fen for i in items)),
            "invested": exports._yi(sum(i.invested_fen for i in items)),
        }
    return render(
        request,
        "plan/work_list.html",
        {
            "kind": kind,
            "items": items,
            "today": today,
            "show": show,
            "totals": totals,
            "overdue_count": sum(i.is_overdue(today) for i in items),
        },
    )


@login_required
def work_detail(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _need(request, "plan.view")
    model = _kind(kind)
    item = model.objects.filter(pk=pk, plan=queries.current_plan()).first()
    if item is None:
        raise Http404
    errors: dict[str, str] = {}
    form = {"as_of": timezone.localdate().isoformat(), "status": item.status, "text": "", "investment": ""}
    if request.method == "POST":
        _need(request, "plan.manage")
        if request.POST.get("action") == "confirm_lead":
            try:
                operations.lead_unit_confirm(item=item, lead_unit=request.POST.get("lead_unit", ""), actor=request.user)
                messages.success(request, _("The lead unit is confirmed."))
                return redirect("plan:work_detail", kind=kind, pk=pk)
            except DomainError as exc:
                errors[exc.field or "lead_unit"] = exc.message
        else:
            form = {k: request.POST.get(k, "").strip() for k in ("as_of", "status", "text", "investment")}
            try:
                as_of = date.fromisoformat(form["as_of"])
            except ValueError:
                errors["as_of"] = _("Enter the date as YYYY-MM-DD.")
            investment_fen = 0
            if form["investment"]:
                try:
                    # Entered in 10,000 yuan (万元), stored in fen.
                    amount = operations.parse_amount(form["investment"], field="investment")
                    investment_fen = int((amount * 1_000_000).to_integral_value())
                except DomainError as exc:
                    errors["investment"] = exc.message
            if not errors:
                try:
                    operations.progress_add(
                        item=item,
                        as_of=as_of,
                        status=form["status"],
                        text=form["text"],
                        investment_fen=investment_fen,
                        evidence=request.FILES.get("evidence"),
                        actor=request.user,
                    )
                    messages.success(request, _("Progress recorded."))
                    return redirect("plan:work_detail", kind=kind, pk=pk)
                except DomainError as exc:
                    errors[exc.field or "general"] = exc.message
    updates = item.updates.select_related("by").order_by("-as_of", "-pk")
    return render(
        request,
        "plan/work_detail.html",
        {
            "kind": kind,
            "item": item,
            "updates": updates,
            "errors": errors,
            "form": form,
            "statuses": WorkStatus.choices,
            "today": timezone.localdate(),
            "can_manage": can(request.user, "plan.manage"),
            "planned_yi": exports._yi(getattr(item, "planned_investment_fen", 0)),
            "invested_yi": exports._yi(getattr(item, "invested_fen", 0)),
        },
        status=400 if errors else 200,
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def export_xlsx(request: HttpRequest, table: str) -> HttpResponse:
    _need(request, "plan.view")
    today = timezone.localdate()
    if table == "indicators":
        plan = _plan(request)
        region = _region(request)
        data = exports.indicator_table(queries.indicator_rows(plan=plan, region=region), region=region)
        name = f"indicators-{plan.code}-{region.code}.xlsx"
    elif table == "tasks":
        data = exports.task_table(_work_items(MajorTask), today=today)
        name = "major-tasks.xlsx"
    elif table == "projects":
        data = exports.project_table(_work_items(KeyProject), today=today)
        name = "key-projects.xlsx"
    elif table == "values":
        plan = queries.current_plan()
        rows = queries.values_entered_visible(request.user)
        data = (
            [_("Indicator"), _("Region"), _("Period"), _("Value"), _("Status"), _("Reporting unit"), _("Entered by"), _("Entered at"), _("Approved by"), _("Approved at")],
            [
                [
                    f"{v.indicator.no}. {v.indicator.name}", v.region.name, v.period, v.value, v.get_status_display(), v.reporting_unit,
                    str(v.entered_by or ""), v.entered_at and timezone.localtime(v.entered_at).strftime("%Y-%m-%d %H:%M"),
                    str(v.approved_by or ""), v.approved_at and timezone.localtime(v.approved_at).strftime("%Y-%m-%d %H:%M"),
                ]
                for v in rows
            ],
        )  # fmt: skip
        name = "reported-values.xlsx"
    else:
        raise Http404
    return _download(exports.xlsx_bytes(table, data), XLSX, name)


@login_required
def evaluation_report(request: HttpRequest, kind: str) -> HttpResponse:
    _need(request, "plan.report")
    if kind not in ("midterm", "final"):
        raise Http404
    plan = queries.current_plan()
    region = _region(request)
    default = date(2023, 12, 31) if kind == "midterm" else date(plan.target_year, 12, 31)
    try:
        as_of = date.fromisoformat(request.GET["as_of"]) if request.GET.get("as_of") else default
    except ValueError:
        return render(request, "plan/report_form.html", {"region": region, "error": _("Enter the date as YYYY-MM-DD.")}, status=400)
    rows = queries.indicator_rows(plan=plan, region=region, as_of=as_of)
    content = exports.evaluation_docx(
        plan=plan, region=region, kind=kind, as_of=as_of, rows=rows, tasks=_work_items(MajorTask), projects=_work_items(KeyProject)
    )
    return _download(content, DOCX, f"plan-{kind}-{region.code}-{as_of.isoformat()}.docx")


@login_required
def evidence(request: HttpRequest, update_id: int) -> FileResponse:
    _need(request, "plan.view")
    update = ProgressUpdate.objects.filter(pk=update_id).exclude(evidence="").first()
    if update is None:
        raise Http404
    return FileResponse(update.evidence.open("rb"), as_attachment=True, filename=update.evidence.name.rsplit("/", 1)[-1])
