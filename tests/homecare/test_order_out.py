"""order_out builds the lifecycle's answer without validating it: it must send what validation gives."""

import pytest
from django.test import RequestFactory

from tests.homecare.conftest import HOME
from tests.homecare.helpers import place, serve
from yiyang.api import api
from yiyang.homecare import operations as ops
from yiyang.homecare.api import OrderOut, order_out
from yiyang.homecare.models import Order


def validated(order: Order) -> bytes:
    # What ninja sends for a view that returns the order: the schema validated, dumped, then rendered.
    return api.renderer.render(None, OrderOut.model_validate(order).model_dump(), response_status=200).encode()


def orders_in_every_state(personas, elder, offerings, caregiver) -> list[Order]:
    item = offerings["clean-home"].item
    op, dispatcher, phone = personas["operator"], personas["dispatcher"], caregiver.user
    requested = place(elder, item, op, note="门口有台阶")
    assigned = ops.order_assign(order=place(elder, item, op, days=2), caregiver=caregiver, actor=dispatcher)
    serving = ops.order_check_in(
        order=ops.order_assign(order=place(elder, item, op, days=3), caregiver=caregiver, actor=dispatcher),
        actor=phone,
        lat=HOME[0],
        lng=HOME[1] + 0.001,
    )
    cancelled = ops.order_cancel(order=place(elder, item, op, days=4), actor=op, reason="家属已安排")
    not_home = ops.order_not_home(
        order=ops.order_assign(order=place(elder, item, op, days=5), caregiver=caregiver, actor=dispatcher),
        actor=phone,
        lat=HOME[0],
        lng=HOME[1],
    )
    paid = serve(place(elder, item, op, days=6), caregiver, dispatcher=dispatcher)
    flagged = serve(place(elder, item, op, days=7), caregiver, dispatcher=dispatcher, minutes=3, confirmed=False)
    rated = ops.order_rate(order=paid.pk, actor=op, score=2, comment="来晚了").order
    return [requested, assigned, serving, cancelled, not_home, flagged, rated]


@pytest.mark.django_db
def test_the_built_answer_equals_the_validated_one_in_every_state(personas, elder, offerings, caregiver):
    orders = orders_in_every_state(personas, elder, offerings, caregiver)
    assert {o.status for o in orders} >= {"requested", "assigned", "in_service", "cancelled", "not_home", "flagged", "paid"}
    assert any(o.audit_flags for o in orders)
    request = RequestFactory().post("/api/v1/orders")
    for order in orders:
        fresh = Order.objects.get(pk=order.pk)
        for instance in (order, fresh):  # as the operation returns it, and as read again
            # Byte for byte: the same fields in the same order, the same formats of times and numbers.
            assert order_out(request, instance).content == validated(instance), order.status


@pytest.mark.django_db
def test_the_api_answers_with_the_built_answer(personas, elder, offerings, caregiver, client, api_client):
    order = serve(place(elder, offerings["clean-home"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"])
    response = client.post(
        f"/api/v1/orders/{order.pk}/rate", {"score": 5}, content_type="application/json", **api_client(personas["operator"])
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert response.content == validated(Order.objects.get(pk=order.pk))
    assert set(body) == set(OrderOut.model_fields)
