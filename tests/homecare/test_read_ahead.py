"""On SQLite an operation reads its order ahead of the write turn, then only the order's row under it.

Outside a test's wrapping transaction (these tests are transactional), as in production.
"""

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from tests.factories import persona
from tests.homecare.conftest import HOME, make_caregiver
from tests.homecare.helpers import place, serve
from yiyang.accounts.roles import Role
from yiyang.core.errors import StateConflict
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Order

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the read-ahead is SQLite's: PostgreSQL reads under the row lock")


def statements_inside_the_transaction(queries) -> list[str]:
    sql = [q["sql"] for q in queries]
    start = next(i for i, s in enumerate(sql) if s.startswith("BEGIN"))
    return sql[start + 1 :]


def test_a_lifecycle_reads_ahead_and_ends_as_before(restore_regions, transactional_db, personas, elder, offerings, caregiver):
    operator, dispatcher = personas["operator"], personas["dispatcher"]
    order = place(elder, offerings["clean-home"].item, operator)
    ahead = ops.read_ahead(order.pk, dispatcher)
    assert isinstance(ahead, ops.ReadAhead) and ahead.order.elder.name == elder.name

    with CaptureQueriesContext(connection) as queries:
        assigned = ops.order_assign(order=order.pk, caregiver=caregiver.pk, actor=dispatcher, viewer=dispatcher)
    inside = statements_inside_the_transaction(queries.captured_queries)
    order_reads = [s for s in inside if s.startswith("SELECT") and 'FROM "homecare_order"' in s and "people_elder" not in s]
    assert order_reads and not any("people_elder" in s for s in inside)  # the joined read came before the turn
    assert assigned.status == "assigned" and assigned.caregiver == caregiver and assigned.elder.residence_region_id

    paid = serve(Order.objects.get(pk=order.pk), caregiver, dispatcher=dispatcher)
    assert paid.status == "paid" and paid.copay_fen == paid.price_fen and paid.elder.name == elder.name
    rating = ops.order_rate(order=paid.pk, actor=operator, score=2, comment="来晚了", viewer=operator)
    assert rating.order.status == "paid" and rating.follow_up_open
    with pytest.raises(StateConflict) as refused:
        ops.order_rate(order=paid.pk, actor=operator, score=5, viewer=operator)
    assert refused.value.code == "already_rated"  # the rating written after the read ahead is seen under the turn


def test_what_changed_after_the_read_ahead_is_what_counts(
    restore_regions, transactional_db, personas, elder, offerings, caregiver, provider
):
    operator, dispatcher = personas["operator"], personas["dispatcher"]
    order = ops.order_assign(order=place(elder, offerings["clean-home"].item, operator), caregiver=caregiver, actor=dispatcher)
    ahead = ops.read_ahead(order.pk, dispatcher)

    # Meanwhile another dispatcher gives the visit to someone else.
    other = make_caregiver(provider, name="另一位护理员", user=persona(Role.CAREGIVER, provider=provider, username="p-caregiver-2"))
    ops.order_assign(order=order.pk, caregiver=other, actor=dispatcher)

    with transaction.atomic():
        now = ops._locked(ahead, dispatcher)
    assert now.caregiver_id == other.pk and now.caregiver.name == "另一位护理员"  # not the caregiver read ahead
    assert now.elder is ahead.order.elder and now.item is ahead.order.item  # the unchanged ones are kept

    # And a cancellation in between wins over a check-in read ahead of it.
    real_read_ahead = ops.read_ahead

    def cancelled_meanwhile(order_ref, viewer=None):
        found = real_read_ahead(order_ref, viewer)
        ops.read_ahead = real_read_ahead  # once
        ops.order_cancel(order=order.pk, actor=operator, reason="家属取消")
        return found

    ops.read_ahead = cancelled_meanwhile
    try:
        with pytest.raises(StateConflict) as refused:
            ops.order_check_in(order=order.pk, actor=other.user, lat=HOME[0], lng=HOME[1])
    finally:
        ops.read_ahead = real_read_ahead
    assert refused.value.code == "illegal_transition" and Order.objects.get(pk=order.pk).status == "cancelled"


def test_an_order_out_of_scope_is_refused_before_any_transaction(restore_regions, transactional_db, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    outsider = personas["other_county_officer"]  # 青田县; the elder lives in 莲都区
    with CaptureQueriesContext(connection) as queries, pytest.raises(Http404):
        ops.order_cancel(order=order.pk, actor=outsider, reason="x", viewer=outsider)
    assert not any(q["sql"].startswith("BEGIN") for q in queries.captured_queries)
    assert Order.objects.get(pk=order.pk).status == "requested"
