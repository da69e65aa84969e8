"""The lifecycle's per-order reads stay on an index that skips history.

A caregiver serves thousands of visits a year and the hotline places every order, so a read that walks
"all of this caregiver's (or requester's) orders" grows slower every day: the bench saw assignment and
check-out cost 50 % more after two thousand orders. Each read here must use the index made for it, which
reaches only the few rows that can match (visits that end after this one starts, and so on).
"""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.homecare.conftest import make_caregiver
from yiyang.homecare.models import Order, OrderStatus
from yiyang.homecare.queries import CAREGIVER_CLASH, CHEAPEST_OFFERING, ORDER_BY_IDEMPOTENCY_KEY, VISITS_OVERLAPPING, path_prefixes


def plan_of(sql: str, params) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def history(personas, elder, offerings):
    """A caregiver with 300 past visits, all placed by the operator with an idempotency key."""
    caregiver = make_caregiver(offerings["clean-home"].provider, name="老护理员")
    item = offerings["clean-home"].item
    start = timezone.now() - timedelta(days=400)
    Order.objects.bulk_create(
        Order(
            provider=offerings["clean-home"].provider,
            elder=elder,
            item=item,
            caregiver=caregiver,
            requested_by=personas["operator"],
            idempotency_key=f"key-{n}",
            status=OrderStatus.PAID,
            window_start=start + timedelta(days=n),
            window_end=start + timedelta(days=n, hours=1),
            service_date=(start + timedelta(days=n)).date(),
            checkin_at=start + timedelta(days=n),
            checkout_at=start + timedelta(days=n, hours=1),
            price_fen=item.guide_price_fen,
        )
        for n in range(300)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE homecare_order")
    return caregiver


@pytest.mark.django_db
def test_each_per_order_read_uses_its_index(personas, elder, history):
    now = timezone.now()
    cases = [
        (ORDER_BY_IDEMPOTENCY_KEY, {"requested_by_id": personas["operator"].pk, "key": "key-7"}, "order_idempotency_key_unique"),
        (
            CAREGIVER_CLASH,
            {"caregiver_id": history.pk, "order_id": 1, "start": now, "end": now + timedelta(hours=1)},
            "order_caregiver_window_end",
        ),
        (
            VISITS_OVERLAPPING,
            {"caregiver_id": history.pk, "order_id": 1, "checkin_at": now, "checkout_at": now + timedelta(hours=1)},
            "order_caregiver_checkout",
        ),
    ]
    with transaction.atomic():
        for query, values, index in cases:
            plan = plan_of(*query.sql_for(**values))
            assert index in plan, (query.name, plan)


@pytest.mark.django_db
def test_the_cheapest_offering_reads_only_offerings_of_the_item(elder, offerings):
    item = offerings["clean-home"].item
    prefixes = tuple(path_prefixes(elder.residence_region.path))
    sql, params = CHEAPEST_OFFERING.sql_for(item_id=item.pk, prefixes=prefixes)
    # The covering subquery is limited to the item too, so it never walks the whole city's menu.
    assert sql.count('"item_id" = ') == 2, sql
    found = CHEAPEST_OFFERING.first(item_id=item.pk, prefixes=prefixes)
    assert found == offerings["clean-home"]


@pytest.mark.django_db
def test_the_idempotency_lookup_still_finds_the_earlier_order(personas, elder, history):
    found = ORDER_BY_IDEMPOTENCY_KEY.first(requested_by_id=personas["operator"].pk, key="key-7")
    assert found is not None and found.idempotency_key == "key-7"
    assert ORDER_BY_IDEMPOTENCY_KEY.first(requested_by_id=personas["operator"].pk, key="") is None
    assert ORDER_BY_IDEMPOTENCY_KEY.first(requested_by_id=personas["worker"].pk, key="key-7") is None


@pytest.mark.django_db
def test_the_overlap_check_still_finds_the_overlapping_visits(history):
    visits = list(Order.objects.filter(caregiver=history).order_by("window_start")[:3])
    found = VISITS_OVERLAPPING.fetch(
        caregiver_id=history.pk,
        order_id=visits[1].pk,
        checkin_at=visits[0].checkin_at + timedelta(minutes=30),
        checkout_at=visits[2].checkout_at - timedelta(minutes=30),
    )
    assert sorted(v.pk for v in found) == [visits[0].pk, visits[2].pk]
