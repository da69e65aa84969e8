"""Pages of the subsidies: programmes (officers), vouchers (family and elders), settlements, flags."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.accounts.scope import scope_of
from yiyang.core.errors import DomainError
from yiyang.people.models import Category, ElderLink, LivingArrangement
from yiyang.regions.models import Level, Region
from yiyang.subsidies import operations as ops
from yiyang.subsidies import queries, rules
from yiyang.subsidies.export import settlement_xlsx
from yiyang.subsidies.models import GrantRun, Settlement, service_categories

RULE_ROWS = 5
TIER_ROWS = 4
TIER_CONDITION_ROWS = 3


def _need(user, capability: str) -> None:
    if not can(user, capability):
        raise Http404


# The programme form: condition rows named like the error fields ("rule.2.value" -> "rule-2-value").


def _regions_for(user):
    scope = scope_of(user)
    regions = Region.objects.filter(level__in=[Level.CITY, Level.COUNTY, Level.TOWNSHIP])
    if not scope.everything:
        regions = regions.filter(_paths_q(scope.region_paths))
    return regions.order_by("path")


def _paths_q(paths):
    from django.db.models import Q

    q = Q(pk__in=[])
    for p in paths:
        q |= Q(path__startswith=p)
    return q


def _parse_conditions(post, prefix: str, rows: int) -> list[dict]:
    out = []
    for i in range(rows):
        fact = post.get(f"{prefix}-{i}-fact", "").strip()
        if not fact:
            continue
        value = post.get(f"{prefix}-{i}-value", "").strip()
        spec = rules.FACTS.get(fact)
        if spec is not None and spec.kind in ("int", "grade") and value.isdigit():
            value = int(value)
        out.append({"fact": fact, "op": post.get(f"{prefix}-{i}-op", "").strip(), "value": value})
    return out


def _yuan_to_fen(text: str):
    try:
        amount = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return text
    fen = amount * 100
    return int(fen) if fen == fen.to_integral_value() else text


def _form_data(post) -> dict:
    tiers = []
    for t in range(TIER_ROWS):
        amount = post.get(f"tiers-{t}-amount_fen", "").strip()
        label = post.get(f"tiers-{t}-label", "").strip()
        conditions = _parse_conditions(post, f"tiers-{t}-all", TIER_CONDITION_ROWS)
        if not amount and not label and not conditions:
            continue
        tiers.append({"key": post.get(f"tiers-{t}-key", "").strip(), "label": label, "all": conditions, "amount_fen": _yuan_to_fen(amount)})
    return {
        "name": post.get("name", ""),
        "funding_source": post.get("funding_source", ""),
        "region_code": post.get("region", ""),
        "starts_on": post.get("starts_on", ""),
        "ends_on": post.get("ends_on", "") or None,
        "rule": _parse_conditions(post, "rule", RULE_ROWS),
        "tiers": tiers,
        "categories": post.getlist("categories"),
        "carry_over": post.get("carry_over") == "on",
    }


def _rows(conditions: list[dict], prefix: str, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        c = conditions[i] if i < len(conditions) else {}
        value = c.get("value", "")
        rows.append(
            {
                "name": f"{prefix}-{i}",
                "fact": c.get("fact", ""),
                "op": c.get("op", ""),
                "value": ",".join(value) if isinstance(value, list) else value,
            }
        )
    return rows


def _form_context(user, data: dict, error: DomainError | None, preview=None, programme=None) -> dict:
    tiers = list(data.get("tiers") or [])
    tier_rows = []
    for t in range(TIER_ROWS):
        tier = tiers[t] if t < len(tiers) else {}
        amount = tier.get("amount_fen", "")
        tier_rows.append(
            {
                "name": f"tiers-{t}",
                "key": tier.get("key", ""),
                "label": tier.get("label", ""),
                "amount": (Decimal(amount) / 100).normalize() if isinstance(amount, int) else amount,
                "conditions": _rows(tier.get("all") or [], f"tiers-{t}-all", TIER_CONDITION_ROWS),
            }
        )
    return {
        "programme": programme,
        "data": data,
        "rule_rows": _rows(data.get("rule") or [], "rule", RULE_ROWS),
        "tier_rows": tier_rows,
        "facts": rules.FACTS.values(),
        "ops": rules.OPS_LABELS.items(),
        "regions": _regions_for(user),
        "categories": service_categories(),
        "error": error,
        "error_name": error.field.replace(".", "-") if error and error.field else "",
        "preview": preview,
    }


def _programme_data(programme) -> dict:
    return {
        "name": programme.name,
        "funding_source": programme.funding_source,
        "region_code": programme.region.code,
        "starts_on": programme.starts_on.strftime("%Y-%m"),
        "ends_on": programme.ends_on.strftime("%Y-%m") if programme.ends_on else "",
        "rule": programme.rule,
        "tiers": programme.tiers,
        "categories": programme.categories,
        "carry_over": programme.carry_over,
    }


@login_required
def programme_list(request: HttpRequest) -> HttpResponse:
    _need(request.user, "subsidy.programme.view")
    programmes = queries.programmes_visible_to(request.user).order_by("status", "-starts_on", "name")
    return render(
        request, "subsidies/programme_list.html", {"programmes": programmes, "may_create": can(request.user, "subsidy.programme.manage")}
    )


@login_required
def programme_form(request: HttpRequest, programme_id: int | None = None) -> HttpResponse:
    _need(request.user, "subsidy.programme.manage")
    programme = None
    if programme_id is not None:
        programme = queries.programme_for(request.user, programme_id)
        if programme is None or not queries.may_manage(request.user, programme):
            raise Http404
    if request.method != "POST":
        data = _programme_data(programme) if programme else {"starts_on": ops.current_period().strftime("%Y-%m"), "tiers": [{}]}
        return render(request, "subsidies/programme_form.html", _form_context(request.user, data, None, programme=programme))
    data = _form_data(request.POST)
    try:
        clean = ops.programme_clean(actor=request.user, **data)
        if request.POST.get("action") == "preview":
            period = max(clean["starts_on"], ops.current_period())
            preview = ops.programme_preview(region_path=clean["region"].path, rule=clean["rule"], tiers=clean["tiers"], period=period)
            preview["region"] = clean["region"]
            return render(request, "subsidies/programme_form.html", _form_context(request.user, data, None, preview, programme))
        if programme is None:
            programme = ops.programme_create(actor=request.user, **data)
            messages.success(request, _("Programme saved as a draft. Check the preview, then activate it."))
        else:
            programme = ops.programme_update(programme=programme, actor=request.user, **data)
            messages.success(request, _("Programme saved."))
    except DomainError as exc:
        return render(request, "subsidies/programme_form.html", _form_context(request.user, data, exc, programme=programme), status=400)
    return redirect("subsidies:programme_detail", programme.pk)


@login_required
def programme_detail(request: HttpRequest, programme_id: int) -> HttpResponse:
    _need(request.user, "subsidy.programme.view")
    programme = queries.programme_for(request.user, programme_id)
    if programme is None:
        raise Http404
    period = ops.programme_next_period(programme)
    preview = ops.programme_preview(region_path=programme.region.path, rule=programme.rule, tiers=programme.tiers, period=period)
    context = {
        "programme": programme,
        "preview": preview,
        "next_period": period,
        "runs": GrantRun.objects.filter(programme=programme)[:24],
        "may_manage": queries.may_manage(request.user, programme),
        "may_grant": queries.may_manage(request.user, programme) and can(request.user, "subsidy.grant.run"),
        "rule_lines": rules.describe(programme.rule),
        "tiers": [{**t, "lines": rules.describe(t["all"])} for t in programme.tiers],
        "categories_text": "、".join(str(dict(service_categories()).get(c, c)) for c in programme.categories),
    }
    return render(request, "subsidies/programme_detail.html", context)


def _managed(request, programme_id: int):
    programme = queries.programme_for(request.user, programme_id)
    if programme is None or not queries.may_manage(request.user, programme):
        raise Http404
    return programme


@login_required
@require_POST
def programme_status(request: HttpRequest, programme_id: int) -> HttpResponse:
    _need(request.user, "subsidy.programme.manage")
    programme = _managed(request, programme_id)
    try:
        ops.programme_set_status(programme=programme, status=request.POST.get("status", ""), actor=request.user)
        messages.success(request, _("Programme status changed."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("subsidies:programme_detail", programme.pk)


@login_required
@require_POST
def programme_grant(request: HttpRequest, programme_id: int) -> HttpResponse:
    _need(request.user, "subsidy.grant.run")
    programme = _managed(request, programme_id)
    try:
        run, created = ops.grants_run_month(programme=programme, period=request.POST.get("period", ""), actor=request.user)
        if created:
            messages.success(request, _("Granted %(n)s elders for %(month)s.") % {"n": run.granted, "month": run.period.strftime("%Y-%m")})
        else:
            messages.info(request, _("That month was already granted; nothing was granted twice."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("subsidies:programme_detail", programme.pk)


# Family and elders --------------------------------------------------------------------


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """The elders linked to this account, each with the balance in big type."""
    _need(request.user, "subsidy.mine")
    links = ElderLink.objects.filter(user=request.user).select_related("elder")
    cards = [{"elder": link.elder, "balance": queries.elder_balance(link.elder)} for link in links]
    notes = queries.notifications_for(request.user)[:10]
    return render(request, "subsidies/mine.html", {"cards": cards, "notes": notes})


@login_required
def elder_vouchers(request: HttpRequest, elder_id: int) -> HttpResponse:
    elder = queries.elder_for_vouchers(request.user, elder_id)
    if elder is None:
        raise Http404
    names = dict(service_categories())
    living = dict(LivingArrangement.choices)
    held = dict(Category.choices)
    grants = []
    for g in queries.elder_grants(elder)[:12]:
        facts = g.facts
        text = [_("age %(n)s") % {"n": facts.get("age")}, str(living.get(facts.get("living_arrangement"), ""))]
        text += [str(held.get(c, c)) for c in facts.get("categories", [])]
        grants.append({"grant": g, "why": ops.explain(g), "facts_text": "、".join(t for t in text if t)})
    balance = queries.elder_balance(elder)
    for p in balance["programmes"]:
        p["category_names"] = "、".join(str(names.get(c, c)) for c in p["categories"])
    statement = [{"entry": e, "signed": queries.signed_for_elder(e)} for e in queries.elder_statement(elder)[:50]]
    context = {"elder": elder, "balance": balance, "grants": grants, "statement": statement}
    return render(request, "subsidies/elder_vouchers.html", context)


# Settlements ---------------------------------------------------------------------------


@login_required
def settlements(request: HttpRequest) -> HttpResponse:
    _need(request.user, "subsidy.settle")
    from yiyang.homecare.queries import providers_visible_to

    providers = providers_visible_to(request.user).order_by("name")
    provider = None
    preview = None
    error = None
    month = request.GET.get("period") or ops.current_period().strftime("%Y-%m")
    if request.GET.get("provider"):
        provider = (
            queries.provider_for_settlement(request.user, int(request.GET["provider"])) if request.GET["provider"].isdigit() else None
        )
        if provider is None:
            raise Http404
        try:
            preview = ops.settlement_preview(provider=provider, period=month)
            preview["closed"] = Settlement.objects.filter(provider=provider, period=preview["period"]).first()
        except DomainError as exc:
            error = exc
    closed = queries.settlements_visible_to(request.user)[:50]
    context = {"providers": providers, "provider": provider, "month": month, "preview": preview, "closed": closed, "error": error}
    return render(request, "subsidies/settlements.html", context, status=400 if error else 200)


@login_required
@require_POST
def settlement_close(request: HttpRequest) -> HttpResponse:
    _need(request.user, "subsidy.settle")
    provider_id = request.POST.get("provider", "")
    provider = queries.provider_for_settlement(request.user, int(provider_id)) if provider_id.isdigit() else None
    if provider is None:
        raise Http404
    month = request.POST.get("period", "")
    try:
        settlement = ops.settlement_close(provider=provider, period=month, actor=request.user)
        messages.success(request, _("Month closed: %(total)s yuan to pay.") % {"total": f"{settlement.total_fen / 100:.2f}"})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('subsidies:settlements')}?{urlencode({'provider': provider.pk, 'period': month})}")


@login_required
def settlement_download(request: HttpRequest, settlement_id: int) -> HttpResponse:
    _need(request.user, "subsidy.settle")
    settlement = queries.settlements_visible_to(request.user).filter(pk=settlement_id).first()
    if settlement is None:
        raise Http404
    response = HttpResponse(settlement_xlsx(settlement), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="settlement-{settlement.provider_id}-{settlement.period:%Y-%m}.xlsx"'
    return response


# Flags ---------------------------------------------------------------------------------------


@login_required
def flags(request: HttpRequest) -> HttpResponse:
    _need(request.user, "subsidy.flag.review")
    error = None
    if request.method == "POST":
        flag = (
            queries.flags_visible_to(request.user)
            .filter(pk=request.POST.get("flag", "0") if request.POST.get("flag", "").isdigit() else 0)
            .first()
        )
        if flag is None:
            raise Http404
        try:
            ops.flag_review(flag=flag, note=request.POST.get("note", ""), actor=request.user)
            messages.success(request, _("Review recorded."))
            return redirect("subsidies:flags")
        except DomainError as exc:
            error = {"flag": flag.pk, "error": exc}
    open_flags = queries.flags_visible_to(request.user).filter(reviewed_at__isnull=True)[:200]
    return render(request, "subsidies/flags.html", {"flags": open_flags, "error": error}, status=400 if error else 200)
