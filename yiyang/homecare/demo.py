"""Demo data for home care: the menu, offerings, caregivers, and a few weeks of orders in every state.

Orders go through the real operations (create, assign, check in, tasks, check out, audit, rate,
cancel); orders meant to lie in the past are then moved back in time as a whole (window, visit
times, transitions), so what the pages show is what the operations produce.
"""

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from yiyang.homecare import operations as ops
from yiyang.homecare.catalogue import catalogue_seed
from yiyang.homecare.models import (
    Caregiver,
    Certificate,
    Order,
    OrderStatus,
    OrderTransition,
    Provider,
    ProviderOffering,
    ServiceCategory,
    ServiceItem,
    TaskOutcome,
)
from yiyang.homecare.queries import elder_home

DEMO_CAREGIVERS = [
    # name, skills (category codes), certificates (kind, level, years valid; negative = expired), volunteer
    ("王秀兰", ["bath", "clean", "medical", "emergency", "rehab"], [("care_worker", "高级", 2)], False),
    ("陈建平", ["meal", "clean", "mobility", "emergency"], [("care_worker", "中级", 1), ("health_cert", "", 1)], False),
    ("李美芳", ["meal", "clean", "comfort"], [("health_cert", "", 1)], False),
    ("吴志强", ["medical", "mobility", "emergency", "bath"], [("care_worker", "中级", -1)], False),  # expired: not dispatched for 助浴
    ("郑丽娟", ["rehab", "medical"], [("rehab", "", 3), ("nurse", "", 2)], False),
    ("黄晓燕", ["comfort", "clean"], [("social_worker", "中级", 2)], False),
    ("叶国华", ["meal", "mobility"], [("health_cert", "", 1)], False),
    ("潘玉梅", ["bath", "clean", "meal"], [("care_worker", "初级", 1), ("health_cert", "", 1)], False),
]


def _cert(caregiver: Caregiver, kind: str, level: str, years: int) -> None:
    expires = timezone.localdate() + timedelta(days=365 * years if years > 0 else -30)
    Certificate.objects.get_or_create(caregiver=caregiver, kind=kind, defaults={"level": level, "expires_on": expires})


def _near(point: tuple[float, float], rng: random.Random, metres: float = 1500) -> tuple[float, float]:
    return (point[0] + rng.uniform(-metres, metres) / 111_195, point[1] + rng.uniform(-metres, metres) / 98_000)


@transaction.atomic
def demo_homecare(*, provider: Provider, dispatcher=None, caregiver_user=None, volunteer_user=None, seed: int = 96345) -> dict:
    """Idempotent: the menu and caregivers are completed; orders are made only once."""
    rng = random.Random(seed)
    catalogue_seed()
    items = {i.code: i for i in ServiceItem.objects.select_related("category")}
    for item in items.values():
        # Providers price around the guide: this one 5% under on meals, at guide elsewhere.
        price = item.guide_price_fen * 95 // 100 if item.category.code == "meal" else item.guide_price_fen
        ProviderOffering.objects.get_or_create(provider=provider, item=item, defaults={"price_fen": price})
    centre = (provider.region.lat or 28.45, provider.region.lng or 119.91)
    all_skills = list(ServiceCategory.objects.all())
    caregivers: list[Caregiver] = []
    if caregiver_user is not None:
        cg, created = Caregiver.objects.get_or_create(
            user=caregiver_user,
            defaults={
                "provider": provider,
                "name": caregiver_user.display_name.replace("护理员 ", "") or "周丽",
                "home_lat": centre[0] + 0.004,
                "home_lng": centre[1] + 0.012,
                "work_start": time(7),
                "work_end": time(20),
                "work_days": [0, 1, 2, 3, 4, 5, 6],
            },
        )
        if created:
            cg.skills.set(all_skills)
            for kind in ("care_worker", "health_cert"):
                _cert(cg, kind, "中级" if kind == "care_worker" else "", 2)
        caregivers.append(cg)
    if volunteer_user is not None:
        vol, created = Caregiver.objects.get_or_create(
            user=volunteer_user,
            defaults={
                "provider": provider,
                "name": volunteer_user.display_name.replace("志愿者 ", "") or "刘洋",
                "is_volunteer": True,
                "home_lat": centre[0] - 0.006,
                "home_lng": centre[1] + 0.004,
                "work_start": time(8),
                "work_end": time(18),
                "work_days": [5, 6],
            },
        )
        if created:
            vol.skills.set([c for c in all_skills if c.code in ("comfort", "mobility", "meal")])
            _cert(vol, "health_cert", "", 1)
        caregivers.append(vol)
    for i, (name, skills, certs, volunteer) in enumerate(DEMO_CAREGIVERS, start=1):
        home = _near(centre, rng, 4000)
        cg, created = Caregiver.objects.get_or_create(
            provider=provider,
            name=name,
            defaults={
                "home_lat": home[0],
                "home_lng": home[1],
                "is_volunteer": volunteer,
                "work_start": time(8),
                "work_end": time(18),
                "user": _phone_account(f"caregiver-{i}", name, provider),
            },
        )
        if created:
            cg.skills.set([c for c in all_skills if c.code in skills])
            for kind, level, years in certs:
                _cert(cg, kind, level, years)
        caregivers.append(cg)
    for n, cg in enumerate(caregivers, start=1):
        if not cg.phone_enc:
            # Made-up mobile numbers (1390578xxxx), so the masked phone and its logged reveal have something to show.
            cg.set_phone(f"1390578{n:04d}")
            cg.save(update_fields=["phone_enc", "phone_bidx", "updated_at"])
    if Order.objects.filter(provider=provider).exists():
        return {"orders": 0, "caregivers": len(caregivers)}
    return {"orders": _demo_orders(provider, items, caregivers, dispatcher, rng), "caregivers": len(caregivers)}


def _phone_account(username: str, name: str, provider: Provider):
    """Every caregiver checks in with a phone, so each has an account (no password until one is set)."""
    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=Role.CAREGIVER, display_name=f"护理员 {name}", provider=provider, is_demo=True)
        user.set_unusable_password()
        user.save()
    return user


def _elders(provider: Provider) -> list:
    from yiyang.people.models import Elder, ElderLink, ElderStatus

    area = Q(pk__in=[])
    for region in provider.service_regions.all():
        area |= Q(residence_region__path__startswith=region.path)
    linked = list(
        Elder.objects.filter(area, status=ElderStatus.ACTIVE, pk__in=ElderLink.objects.values("elder_id")).select_related(
            "residence_region"
        )
    )
    others = list(
        Elder.objects.filter(area, status=ElderStatus.ACTIVE)
        .exclude(pk__in=[e.pk for e in linked])
        .select_related("residence_region")
        .order_by("pk")[:40]
    )
    return linked + others


def _operator():
    from yiyang.accounts.models import User

    return User.objects.filter(username="operator").first()


def _requester(elder, operator):
    from yiyang.people.models import ElderLink

    link = ElderLink.objects.filter(elder=elder).select_related("user").first()
    return link.user if link else operator


def _demo_orders(provider: Provider, items: dict, caregivers: list[Caregiver], dispatcher, rng: random.Random) -> int:
    elders = _elders(provider)
    if not elders:
        return 0
    operator = _operator()
    officer = _officer(provider)
    staff = [c for c in caregivers if c.user_id is not None and not c.is_volunteer]
    caregiver = staff[0] if staff else None  # the demo 'caregiver' login comes first
    volunteer = next((c for c in caregivers if c.is_volunteer and c.user_id), None)
    made = 0
    # Three weeks of finished visits, a few a day.
    menu = ["meal-delivery", "clean-home", "bath-home", "comfort-chat", "med-medicine", "mobility-walk", "nursing-basic", "med-vitals"]
    today = timezone.localdate()
    for days_ago in range(21, 0, -1):
        day = today - timedelta(days=days_ago)
        for n in range(rng.randint(3, 6)):
            elder = elders[(days_ago * 7 + n) % len(elders)]
            code = rng.choice(menu)
            if volunteer and code in ("comfort-chat", "mobility-walk") and rng.random() < 0.5:
                who = volunteer
            else:
                who = caregiver if (caregiver and rng.random() < 0.35) else None
            outcome = rng.choices(["good", "short", "far", "unconfirmed", "not_home", "cancel"], weights=[70, 8, 5, 8, 4, 5])[0]
            made += _past_order(elder, items[code], day, 8 + n * 2, who, outcome, provider, dispatcher, operator, officer, rng)
    # Today and tomorrow: the dispatcher's queue and the caregiver's phone.
    made += _current_orders(elders, items, provider, dispatcher, operator, caregiver, volunteer, rng)
    made += _demo_recurrences(elders, items, provider, operator)
    _demo_expiring_certificate(provider)
    return made


def _demo_recurrences(elders, items, provider: Provider, operator) -> int:
    """Standing orders for the recurrences pages: meals on official working days, a Friday bath, one paused."""
    from yiyang.core.errors import DomainError
    from yiyang.homecare.provider_operations import recurrence_pause

    tomorrow = timezone.localdate() + timedelta(days=1)
    plans = [
        # elder index, item, weekdays, working days only, window, note, paused
        (0, "meal-delivery", [0, 1, 2, 3, 4], True, (time(11), time(12)), "少盐少油", False),
        (1 % len(elders), "bath-home", [4], False, (time(14), time(15, 30)), "浴室有防滑垫", False),
        (2 % len(elders), "clean-home", [1], False, (time(9), time(11)), "长辈住院期间暂停", True),
    ]
    made = 0
    for index, code, weekdays, working_days, (start, end), note, paused in plans:
        try:
            recurrence = ops.recurrence_create(
                elder=elders[index],
                item=items[code],
                provider=provider,
                weekdays=weekdays,
                working_days_only=working_days,
                skip_holidays=True,
                start_time=start,
                end_time=end,
                starts_on=tomorrow,
                note=note,
                actor=operator,
            )
            if paused:
                recurrence_pause(recurrence=recurrence, actor=operator)
            else:
                made += len(ops.recurrence_generate(recurrence=recurrence, until=tomorrow + timedelta(days=6), actor=operator))
        except DomainError:
            continue  # e.g. the official calendar does not cover next week yet: the demo goes on without it
    return made


def _demo_expiring_certificate(provider: Provider) -> None:
    """One certificate that expires within 30 days, so the caregivers page shows the warning."""
    soon = timezone.localdate() + timedelta(days=20)
    Certificate.objects.filter(caregiver__provider=provider, caregiver__name="潘玉梅", kind="health_cert").update(expires_on=soon)


def _officer(provider: Provider):
    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role

    county = provider.region.code[:6]
    return (
        User.objects.filter(username=f"county-{county}").first()
        or User.objects.filter(role=Role.COUNTY_OFFICER, regions__code=county).first()
        or User.objects.filter(role=Role.CITY_OFFICER).first()
    )


def _qualified(order: Order, preferred: Caregiver | None) -> Caregiver | None:
    from yiyang.homecare.queries import dispatch_suggestions, qualification_problem

    if (
        preferred is not None
        and qualification_problem(preferred, order.item, order.service_date) is None
        and preferred.skills.filter(pk=order.item.category_id).exists()
    ):
        return preferred
    ranked = dispatch_suggestions(order, limit=1).ranked
    return Caregiver.objects.get(pk=ranked[0].caregiver_id) if ranked else None


def _past_order(elder, item, day: date, hour: int, preferred, outcome, provider, dispatcher, operator, officer, rng) -> int:
    # Created for tomorrow at the same hour, run through the operations, then moved back to `day`.
    tomorrow = timezone.localdate() + timedelta(days=1)
    start = timezone.make_aware(datetime.combine(tomorrow, time(hour, rng.choice([0, 30]))))
    end = start + timedelta(minutes=max(60, item.standard_minutes + 30))
    order, _ = ops.order_create(
        elder=elder,
        item=item,
        provider=provider,
        window_start=start,
        window_end=end,
        actor=_requester(elder, operator),
        channel=rng.choice(["hotline", "hotline", "family", "worker"]),
        note=rng.choice(["", "", "请提前电话联系", "家里有狗，敲门稍等"]),
    )
    if outcome == "cancel":
        ops.order_cancel(order=order, actor=_requester(elder, operator), reason=rng.choice(["家属已安排", "长辈住院", "时间冲突"]))
        _shift(order, day)
        return 1
    ops.order_accept(order=order, actor=dispatcher)
    cg = _qualified(order, preferred)
    if cg is None:
        ops.order_cancel(order=order, actor=operator, reason="无可用护理员")
        _shift(order, day)
        return 1
    ops.order_assign(order=order, caregiver=cg, actor=dispatcher)
    home = elder_home(elder) or (28.45, 119.91)
    user = cg.user
    if outcome == "not_home":
        ops.order_start_travel(order=order, actor=user)
        ops.order_not_home(order=order, actor=user, lat=home[0] + 0.0002, lng=home[1], note="敲门无人应答，电话未接通")
        _shift(order, day)
        return 1
    minutes = item.standard_minutes + rng.randint(-5, 15)
    if outcome == "short":
        minutes = item.standard_minutes // 3
    where = _near(home, rng, 60) if outcome != "far" else (home[0] + 0.012, home[1])
    now = timezone.now()
    ops.order_start_travel(order=order, actor=user, device_time=now - timedelta(minutes=minutes + 20))
    ops.order_check_in(order=order, actor=user, lat=where[0], lng=where[1], device_time=now - timedelta(minutes=minutes))
    for task in item.tasks:
        outcome_code = "done" if task.get("required") or rng.random() < 0.7 else "not_done"
        ops.order_task_record(
            order=order, actor=user, task_code=task["code"], outcome=outcome_code, device_time=now - timedelta(minutes=max(1, minutes - 5))
        )
    ops.order_check_out(order=order, actor=user, lat=where[0], lng=where[1], device_time=now, elder_confirmed=outcome != "unconfirmed")
    order.refresh_from_db()
    if order.status == OrderStatus.FLAGGED and officer is not None and (outcome == "short" or rng.random() < 0.5):
        if outcome == "short":
            ops.order_audit_decide(order=order, actor=officer, approve=False, comment="服务时长不足，回访长辈确认未完成")
        else:
            ops.order_audit_decide(order=order, actor=officer, approve=True, comment="电话回访，长辈确认服务已完成")
    order.refresh_from_db()
    if order.status in (OrderStatus.PAID, OrderStatus.FLAGGED) and rng.random() < 0.6:
        score = rng.choices([5, 4, 3, 2, 1], weights=[55, 28, 9, 5, 3])[0]
        comment = {5: "很满意，服务周到", 4: "不错", 3: "一般", 2: "来晚了半小时", 1: "态度不好"}[score]
        ops.order_rate(order=order, actor=_requester(elder, operator), score=score, comment=comment)
    _shift(order, day)
    return 1


def _shift(order: Order, day: date) -> None:
    """Move an order and everything timed about it from its service date to `day`."""
    order.refresh_from_db()
    delta = timezone.make_aware(datetime.combine(day, time())) - timezone.make_aware(datetime.combine(order.service_date, time()))
    moved = {
        "window_start": order.window_start + delta,
        "window_end": order.window_end + delta,
        "service_date": day,
        "created_at": order.created_at + delta - timedelta(days=1),
    }
    # The visit happened at the window, not "now": put check-in/out inside it, keeping its length.
    if order.checkin_at:
        length = (order.checkout_at - order.checkin_at) if order.checkout_at else timedelta(0)
        visit_start = moved["window_start"] + timedelta(minutes=5)
        visit_delta = visit_start - order.checkin_at
        moved.update(checkin_at=visit_start, checkin_received_at=visit_start + timedelta(seconds=2))
        if order.checkout_at:
            moved.update(checkout_at=visit_start + length, checkout_received_at=visit_start + length + timedelta(seconds=2))
        if order.paid_at:
            moved["paid_at"] = order.paid_at + visit_delta
        if order.audited_at:
            moved["audited_at"] = moved.get("checkout_at", visit_start) + timedelta(hours=20)
        for outcome in TaskOutcome.objects.filter(order=order):
            TaskOutcome.objects.filter(pk=outcome.pk).update(
                device_time=outcome.device_time + visit_delta, received_at=outcome.received_at + visit_delta
            )
    Order.objects.filter(pk=order.pk).update(**moved)
    # Transitions: ordering steps the day before, visit steps at the visit, audit after it.
    anchor = moved["window_start"]
    for t in OrderTransition.objects.filter(order=order).order_by("pk"):
        if t.action in ("create",):
            at = moved["created_at"]
        elif t.action in ("accept",):
            at = moved["created_at"] + timedelta(minutes=12)
        elif t.action == "assign":
            at = moved["created_at"] + timedelta(minutes=40)
        elif t.action == "start_travel":
            at = anchor - timedelta(minutes=20)
        elif t.action in ("check_in", "not_home"):
            at = moved.get("checkin_received_at", anchor)
        elif t.action in ("check_out", "audit_pass", "audit_flag"):
            at = moved.get("checkout_received_at", anchor)
        elif t.action == "cancel":
            at = moved["created_at"] + timedelta(hours=3)
        else:  # officer decisions and rating confirmations
            at = moved.get("audited_at") or moved.get("checkout_received_at", anchor) + timedelta(hours=6)
        device = at - timedelta(seconds=2) if t.device_time else None
        OrderTransition.objects.filter(pk=t.pk).update(at=at, device_time=device)
    if hasattr(order, "rating"):
        type(order.rating).objects.filter(pk=order.rating.pk).update(created_at=moved.get("checkout_at", anchor) + timedelta(hours=5))


def _current_orders(elders, items, provider, dispatcher, operator, caregiver, volunteer, rng) -> int:
    made = 0
    now = timezone.localtime()
    tomorrow = timezone.localdate() + timedelta(days=1)

    def at_tomorrow(hh: int, mm: int = 0) -> datetime:
        return timezone.make_aware(datetime.combine(tomorrow, time(hh, mm)))

    plans = [
        # (window start, item, what to do): visits under way start now; the queue is for tomorrow's working hours.
        (now + timedelta(minutes=2), "nursing-basic", "in_service"),
        (now + timedelta(minutes=100), "meal-delivery", "en_route"),
        (at_tomorrow(8, 30), "clean-home", "assigned"),
        (at_tomorrow(14), "comfort-chat", "assigned"),
        (at_tomorrow(16), "bath-home", "assigned"),
        (at_tomorrow(9), "med-escort", "accepted"),
        (at_tomorrow(10), "clean-laundry", "requested"),
        (at_tomorrow(11), "meal-cooking", "requested"),
        (at_tomorrow(15), "rehab-training", "requested"),
        (now + timedelta(minutes=30), "emergency-visit", "overdue"),
    ]
    for i, (when, code, state) in enumerate(plans):
        elder = elders[i % len(elders)]
        item = items[code]
        start = when.replace(second=0, microsecond=0)
        order, _ = ops.order_create(
            elder=elder,
            item=item,
            provider=provider,
            window_start=start,
            window_end=start + timedelta(minutes=max(60, item.standard_minutes + 30)),
            actor=_requester(elder, operator),
            note=rng.choice(["", "请提前电话联系"]),
        )
        made += 1
        if state in ("requested", "overdue"):
            if state == "overdue":
                Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=3))
                ops.orders_flag_overdue()
            continue
        ops.order_accept(order=order, actor=dispatcher)
        if state == "accepted" or caregiver is None:
            continue
        ops.order_assign(order=order, caregiver=caregiver, actor=dispatcher)
        user = caregiver.user
        home = elder_home(elder) or (28.45, 119.91)
        if state in ("en_route", "in_service"):
            ops.order_start_travel(order=order, actor=user)
        if state == "in_service":
            ops.order_check_in(order=order, actor=user, lat=home[0] + 0.0003, lng=home[1], device_time=timezone.now())
            ops.order_task_record(order=order, actor=user, task_code=item.tasks[0]["code"], outcome="done")
    if volunteer is not None:
        start = (now + timedelta(days=(5 - now.weekday()) % 7 or 7)).replace(hour=9, minute=30, second=0, microsecond=0)
        order, _ = ops.order_create(
            elder=elders[0],
            item=items["comfort-chat"],
            provider=provider,
            window_start=start,
            window_end=start + timedelta(minutes=90),
            actor=operator,
            note="陪长辈聊聊天，读读报",
        )
        ops.order_assign(order=order, caregiver=volunteer, actor=dispatcher)
        made += 1
    return made
