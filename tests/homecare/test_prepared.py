"""core.prepared on the order lifecycle: a query compiled once runs the SQL the ORM would, and finds the same rows."""

import pytest
from django.db import transaction
from django.db.models.signals import pre_save
from django.utils import timezone

from tests.homecare.conftest import HOME, make_caregiver
from tests.homecare.helpers import place, serve
from yiyang.audit.models import AuditEvent
from yiyang.core import prepared
from yiyang.core.prepared import PreparedQuery, row_insert, row_update
from yiyang.homecare.models import Order, OrderTransition, TaskOutcome
from yiyang.homecare.queries import (
    CAREGIVER_CLASH,
    CHEAPEST_OFFERING,
    ITEM_BY_CODE,
    ORDER_LOCKED,
    TASK_OUTCOMES,
    VISITS_OVERLAPPING,
    order_locked,
    orders_visible_to,
)
from yiyang.people.queries import elder_with_residence, elders_visible_to

ROLES = (
    "admin",
    "city_officer",
    "county_officer",
    "other_county_officer",
    "worker",
    "operator",
    "dispatcher",
    "caregiver",
    "assessor",
    "inspector",
    "reporter",
    "volunteer",
    "family",
    "elder",
)


def orm_sql(query: PreparedQuery, fixed: dict, values: dict) -> tuple[str, list]:
    sql, params = query.build(**fixed, **values).query.get_compiler(using="default").as_sql()
    return sql, list(params)


@pytest.mark.django_db
def test_bound_sql_is_what_the_orm_compiles_for_the_same_values(elder, offerings, caregiver):
    now = timezone.now()
    cases = [
        (ITEM_BY_CODE, {}, {"code": "clean-home"}),
        (ITEM_BY_CODE, {}, {"code": "50%_off\\"}),
        (TASK_OUTCOMES, {}, {"order_id": 7}),
        (CAREGIVER_CLASH, {}, {"caregiver_id": caregiver.pk, "order_id": 3, "start": now, "end": now + timezone.timedelta(hours=1)}),
        (VISITS_OVERLAPPING, {}, {"caregiver_id": 5, "order_id": 9, "checkin_at": now, "checkout_at": now}),
        (CHEAPEST_OFFERING, {}, {"item_id": 4, "prefixes": ("330000/", "330000/331100/", "330000/331100/331102/")}),
        (CHEAPEST_OFFERING, {}, {"item_id": 4, "prefixes": ("330000/",)}),
    ]
    scoped = {"may_view": True, "everything": False, "role": "operator", "sees_region_elders": True}
    for paths in (("330000/331100/",), ("330000/331100/331102/", "330000/331100/331121/")):
        cases.append((ORDER_LOCKED, scoped, {"order_id": 12, "region_paths": paths, "provider_id": None, "user_id": 3}))
    cases.append(
        (
            ORDER_LOCKED,
            {**scoped, "role": "dispatcher", "sees_region_elders": False},
            {"order_id": 1, "region_paths": (), "provider_id": 8, "user_id": 2},
        )
    )
    cases.append(
        (
            ORDER_LOCKED,
            {**scoped, "role": "family", "sees_region_elders": False},
            {"order_id": 1, "region_paths": (), "provider_id": None, "user_id": 2},
        )
    )
    # A check-out's and an assignment's reads travel with the order's locked read.
    caregiver_phone = {"order_id": 1, "region_paths": (), "provider_id": None, "user_id": 2}
    cases.append((ORDER_LOCKED, {**scoped, "role": "caregiver", "sees_region_elders": False}, {**caregiver_phone, "visit_end": now}))
    cases.append(
        (ORDER_LOCKED, {**scoped, "role": "dispatcher", "sees_region_elders": False}, {**caregiver_phone, "provider_id": 8, "clash_caregiver_id": 5})
    )
    with transaction.atomic():  # select_for_update compiles only inside a transaction
        for query, fixed, values in cases:
            assert query.sql_for(fixed=fixed, **values) == orm_sql(query, fixed, values), (query.name, values)


@pytest.mark.django_db
def test_the_scoped_order_lock_agrees_with_orders_visible_to_for_every_role(personas, elders, offerings, caregiver):
    mine = place(elders["liandu"], offerings["clean-home"].item, personas["operator"])
    serve(mine, caregiver, dispatcher=personas["dispatcher"])
    elsewhere = Order.objects.create(
        provider=offerings["clean-home"].provider,
        elder=elders["qingtian"],
        item=offerings["clean-home"].item,
        window_start=mine.window_start,
        window_end=mine.window_end,
        service_date=mine.service_date,
        price_fen=100,
    )
    for role in ROLES:
        user = personas[role]
        for order in (mine, elsewhere):
            expected = orders_visible_to(user).filter(pk=order.pk).exists()
            with transaction.atomic():
                found = order_locked(order.pk, viewer=user)
            assert (found is not None) == expected, (role, order.pk)
            if found is not None:
                # What the operations and the answer read, loaded in the same query.
                assert found.elder.residence_region.path and found.item.category.code and found.provider.name


@pytest.mark.django_db
def test_the_scoped_elder_read_agrees_with_elders_visible_to_for_every_role(personas, elders, offerings, caregiver):
    serve(place(elders["liandu"], offerings["clean-home"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"])
    for role in ROLES:
        for elder in elders.values():
            expected = elders_visible_to(personas[role]).filter(pk=elder.pk).exists()
            found = elder_with_residence(personas[role], elder.pk)
            assert (found is not None) == expected, (role, elder.name)
            if found is not None:
                assert found == elder and found.residence_region_id == elder.residence_region_id


@pytest.mark.django_db
def test_values_the_database_could_not_hold_find_nothing(personas, client, api_client):
    assert ORDER_LOCKED.fetch(fixed={"may_view": True, "everything": True, "role": "", "sees_region_elders": False}, order_id=2**70,
                              region_paths=(), provider_id=None, user_id=None) == []  # fmt: skip
    response = client.post(f"/api/v1/orders/{2**70}/check-in", {"lat": HOME[0], "lng": HOME[1]}, content_type="application/json",
                           **api_client(personas["caregiver"]))  # fmt: skip
    assert response.status_code == 404


@pytest.mark.django_db
def test_prepared_insert_and_update_write_what_save_writes(personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    by_save = OrderTransition.objects.create(
        order=order, action="x", from_status="a", to_status="b", actor=personas["operator"], at=order.created_at, reason="why"
    )
    by_insert = row_insert(
        OrderTransition(
            order=order, action="x", from_status="a", to_status="b", actor=personas["operator"], at=order.created_at, reason="why"
        )
    )
    assert by_insert.pk is not None and not by_insert._state.adding
    fields = ("order_id", "action", "from_status", "to_status", "actor_id", "at", "device_time", "reason")
    assert (
        OrderTransition.objects.filter(pk=by_insert.pk).values(*fields).get()
        == OrderTransition.objects.filter(pk=by_save.pk).values(*fields).get()
    )

    before = Order.objects.get(pk=order.pk).updated_at
    order.status, order.note = "accepted", "changed in memory only"
    row_update(order, fields=("status", "updated_at"))
    stored = Order.objects.get(pk=order.pk)
    assert stored.status == "accepted" and stored.note != "changed in memory only" and stored.updated_at > before

    ghost = Order(pk=order.pk + 1000)
    with pytest.raises(Order.NotUpdated):
        row_update(ghost, fields=("status",))

    event = row_insert(AuditEvent(action="test.prepared", object_type="x", detail={"k": "值"}))
    assert AuditEvent.objects.get(pk=event.pk).detail == {"k": "值"} and event.at is not None


@pytest.mark.django_db
def test_a_model_with_receivers_is_saved_through_save(personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.task_code)

    pre_save.connect(receiver, sender=TaskOutcome)
    try:
        now = timezone.now()
        row_insert(TaskOutcome(order=order, task_code="sweep", outcome="done", device_time=now, received_at=now))
    finally:
        pre_save.disconnect(receiver, sender=TaskOutcome)
    assert seen == ["sweep"]
    assert prepared._save_does_more(AuditEvent, inserting=True) is False  # its save() only refuses updates
    assert prepared._save_does_more(AuditEvent, inserting=False) is True


@pytest.mark.django_db
def test_a_clash_is_found_through_the_prepared_read(personas, elder, offerings, provider, menu):
    caregiver = make_caregiver(provider, name="王芳")
    first = place(elder, offerings["clean-home"].item, personas["operator"], hour=9)
    second = place(elder, offerings["clean-home"].item, personas["operator"], hour=9, minute=30)
    from yiyang.homecare import operations as ops

    ops.order_assign(order=first, caregiver=caregiver, actor=personas["dispatcher"])
    with transaction.atomic():
        clash = CAREGIVER_CLASH.first(caregiver_id=caregiver.pk, order_id=second.pk, start=second.window_start, end=second.window_end)
    assert clash == first


@pytest.mark.django_db
def test_a_value_inside_a_like_pattern_is_escaped_as_the_orm_escapes_it():
    from yiyang.regions.models import Region

    query = PreparedQuery(lambda *, prefix: Region.objects.filter(path__startswith=prefix).order_by("code"), name="test_like")
    for prefix in ("330000/331100/", "50%_off\\/"):
        assert query.sql_for(prefix=prefix) == orm_sql(query, {}, {"prefix": prefix})
    assert [r.code for r in query.fetch(prefix="330000/331100/331102/")] == list(
        Region.objects.filter(path__startswith="330000/331100/331102/").order_by("code").values_list("code", flat=True)
    )
    assert query.fetch(prefix="330000/331100/%") == []


@pytest.mark.django_db
def test_a_row_with_an_expression_is_saved_through_save_and_does_not_change_the_compiled_insert(personas, elder, offerings):
    from django.db.models.functions import Now

    order = place(elder, offerings["clean-home"].item, personas["operator"])
    by_expression = row_insert(OrderTransition(order=order, action="x", from_status="a", to_status="b", at=Now()))
    plain = row_insert(OrderTransition(order=order, action="y", from_status="a", to_status="b", at=order.created_at))
    stored = {t.action: t.at for t in OrderTransition.objects.filter(pk__in=[by_expression.pk, plain.pk])}
    assert stored["y"] == order.created_at and stored["x"] is not None


@pytest.mark.django_db
def test_prepared_values_skip_only_the_preparation_that_would_change_nothing():
    from datetime import date
    from decimal import Decimal

    from django.db import connection

    from yiyang.homecare.models import Rating
    from yiyang.subsidies.models import Spend

    samples = [None, "文本", "", 7, 0, -3, True, False, 1.5, timezone.now(), Decimal("1.5"), date(2026, 1, 2), {"a": [1]}, [1, "x"]]
    checked = 0
    for model in (OrderTransition, AuditEvent, TaskOutcome, Order, Rating, Spend):
        fields = [f for f in model._meta.local_concrete_fields if not f.generated]
        for field, kind in zip(fields, prepared._kinds(fields, connection), strict=True):
            if kind is None:
                continue  # Django's own preparation, always
            for value in samples:
                try:
                    expected = field.get_db_prep_save(value, connection=connection)
                except Exception:  # noqa: BLE001
                    continue  # not a value this field takes
                (got,) = prepared._prepared_values([field], [kind], [value], connection)
                # The same value of the same type: on PostgreSQL the type picks the prepared statement's signature.
                assert got == expected and type(got) is type(expected), (model.__name__, field.name, value, got, expected)
                checked += 1
    assert checked > 60


@pytest.mark.django_db
def test_instances_are_built_as_django_builds_them(personas, elder, offerings, caregiver):
    from django.db.models.signals import post_init

    order = serve(place(elder, offerings["clean-home"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"])

    def fields_of(o) -> dict:
        return {k: v for k, v in o.__dict__.items() if k != "_state"}

    def related(o) -> tuple:
        return (o.elder.name, o.elder.residence_region.path, o.item.code, o.item.category.code, o.provider.name, o.caregiver.name)

    with transaction.atomic():
        built = order_locked(order.pk)
    by_django = (
        orders_visible_to(personas["admin"])
        .select_related("elder__residence_region", "item__category", "provider", "caregiver")
        .get(pk=order.pk)
    )
    assert not built._state.adding and built._state.db == "default"
    assert {k: v for k, v in fields_of(built).items() if k in fields_of(by_django)} == {
        k: v for k, v in fields_of(by_django).items() if k in fields_of(built)
    }
    assert related(built) == related(by_django)

    # Someone watching construction: Django's own path, so that the receiver runs.
    seen = []

    def watch(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(watch, sender=Order)
    try:
        with transaction.atomic():
            again = order_locked(order.pk)
    finally:
        post_init.disconnect(watch, sender=Order)
    assert seen == [again]


@pytest.mark.django_db
def test_an_upsert_inserts_then_updates_the_same_row(personas, elder, offerings):
    from django.db.models.signals import post_save

    from yiyang.core.prepared import row_upsert

    order = place(elder, offerings["clean-home"].item, personas["operator"])

    def outcome(value: str) -> TaskOutcome:
        return TaskOutcome(order=order, task_code="sweep", outcome=value, device_time=timezone.now(), received_at=timezone.now())

    first = row_upsert(outcome("done"), unique=("order", "task_code"), update=("outcome", "received_at", "updated_at"))
    stored = TaskOutcome.objects.get(pk=first.pk)
    second = row_upsert(outcome("refused"), unique=("order", "task_code"), update=("outcome", "received_at", "updated_at"))
    assert second.pk == first.pk and TaskOutcome.objects.filter(order=order).count() == 1
    again = TaskOutcome.objects.get(pk=first.pk)
    assert again.outcome == "refused" and again.created_at == stored.created_at and again.updated_at >= stored.updated_at

    # A receiver of post_save: save() itself, after a read, so that it runs.
    seen = []

    def watch(sender, instance, **kwargs):
        seen.append(instance.outcome)

    post_save.connect(watch, sender=TaskOutcome)
    try:
        third = row_upsert(outcome("not_done"), unique=("order", "task_code"), update=("outcome", "received_at", "updated_at"))
    finally:
        post_save.disconnect(watch, sender=TaskOutcome)
    assert third.pk == first.pk and seen == ["not_done"] and TaskOutcome.objects.get(pk=first.pk).outcome == "not_done"


def test_a_new_row_is_the_instance_django_builds():
    from django.db.models.signals import post_init

    from yiyang.core.prepared import new_row
    from yiyang.subsidies.models import Spend

    at = timezone.now()
    for model, values in (
        (
            OrderTransition,
            {"order_id": 7, "action": "assign", "from_status": "requested", "to_status": "assigned", "actor_id": 3, "at": at},
        ),
        (AuditEvent, {"actor_id": None, "action": "order.rate", "object_type": "homecare.order", "object_id": "7", "detail": {"score": 5}}),
        (TaskOutcome, {"order_id": 7, "task_code": "sweep", "outcome": "done", "device_time": at, "received_at": at}),
        (Spend, {"order_ref": "order:7", "elder_id": 1, "provider_id": 2, "asked_fen": 3000}),
    ):
        built, by_django = new_row(model, **values), model(**values)
        assert type(built) is model and built.__dict__.keys() == by_django.__dict__.keys()
        assert {k: v for k, v in built.__dict__.items() if k != "_state"} == {k: v for k, v in by_django.__dict__.items() if k != "_state"}
        assert (built._state.adding, built._state.db) == (True, None)

    # Defaults are made for each row, not shared between rows.
    first, second = new_row(AuditEvent, action="a"), new_row(AuditEvent, action="b")
    assert first.detail == {} and first.detail is not second.detail

    # A related instance, an unknown name, a receiver of construction: Django's own constructor decides.
    with pytest.raises(TypeError):
        new_row(OrderTransition, order_id=1, no_such_field=2)
    seen = []

    def watch(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(watch, sender=AuditEvent)
    try:
        watched = new_row(AuditEvent, action="c")
    finally:
        post_init.disconnect(watch, sender=AuditEvent)
    assert seen == [watched]
