from collections import Counter

from yiyang.homecare.demo import demo_homecare
from yiyang.homecare.models import Caregiver, Order, OrderTransition, ServiceCategory


def test_demo_has_orders_in_every_resting_state(personas, elders, provider, django_assert_max_num_queries):
    from tests.factories import ElderFactory, region

    for i in range(12):
        ElderFactory(name=f"演示长辈{i}", residence_region=region("331102002"))
    result = demo_homecare(
        provider=provider, dispatcher=personas["dispatcher"], caregiver_user=personas["caregiver"], volunteer_user=personas["volunteer"]
    )
    assert ServiceCategory.objects.count() == 8
    assert Caregiver.objects.filter(provider=provider).count() == 10
    assert Caregiver.objects.get(user=personas["caregiver"]).orders.exists()
    states = Counter(Order.objects.values_list("status", flat=True))
    # `completed` never rests: the automatic audit follows check-out in the same transaction.
    for status in ("requested", "accepted", "assigned", "en_route", "in_service", "flagged", "paid", "rejected", "cancelled", "not_home"):
        assert states[status] > 0, (status, states)
    assert result["orders"] == Order.objects.count() > 60
    assert Order.objects.filter(overdue_at__isnull=False).exists()
    # Every order's history starts with its creation and is in time order.
    for order in Order.objects.all()[:50]:
        times = list(OrderTransition.objects.filter(order=order).order_by("pk").values_list("at", flat=True))
        assert times == sorted(times), order.pk
    assert demo_homecare(provider=provider, dispatcher=personas["dispatcher"])["orders"] == 0  # idempotent
    # Every caregiver has a (made-up) phone, stored encrypted and shown masked.
    for caregiver in Caregiver.objects.filter(provider=provider):
        assert caregiver.phone_enc and "1390578" not in caregiver.phone_enc
        assert caregiver.reveal_phone().startswith("1390578") and "****" in caregiver.phone_masked

