"""The pages: hotline console, dispatcher board, caregiver view, elder view, audit queue, order detail."""

from datetime import timedelta

from django.utils import timezone

from tests.homecare.conftest import HOME
from tests.homecare.helpers import place, serve
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Order


def test_hotline_finds_the_elder_and_places_an_order(client, personas, elder, offerings):
    client.force_login(personas["operator"])
    page = client.get("/homecare/hotline/", {"q": elder.name[:2]})
    assert page.status_code == 200
    html = page.content.decode()
    assert elder.name in html and 'name="item"' in html
    day = (timezone.localdate() + timedelta(days=1)).isoformat()
    r = client.post(
        f"/homecare/hotline/?elder={elder.pk}",
        {
            "elder": elder.pk,
            "item": "meal-delivery",
            "date": day,
            "start": "11:00",
            "end": "11:30",
            "note": "少盐",
            "idempotency_key": "form-1",
        },
    )
    order = Order.objects.get()
    assert r.status_code == 302 and r.url == f"/homecare/orders/{order.pk}/"
    assert order.channel == "hotline" and order.note == "少盐" and order.idempotency_key == "form-1"
    # A double click posts the same form again: still one order.
    client.post(
        f"/homecare/hotline/?elder={elder.pk}",
        {"elder": elder.pk, "item": "meal-delivery", "date": day, "start": "11:00", "end": "11:30", "idempotency_key": "form-1"},
    )
    assert Order.objects.count() == 1


def test_hotline_form_errors_are_next_to_the_field(client, personas, elder, offerings):
    client.force_login(personas["operator"])
    r = client.post(
        f"/homecare/hotline/?elder={elder.pk}",
        {"elder": elder.pk, "item": "meal-delivery", "date": "2020-01-01", "start": "11:00", "end": "11:30"},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="id_start" name="start" type="time" value="11:00" required aria-invalid="true" aria-describedby="start-err"' in html
    r = client.post(
        f"/homecare/hotline/?elder={elder.pk}",
        {"elder": elder.pk, "item": "meal-delivery", "date": "tomorrow", "start": "11:00", "end": "11:30"},
    )
    assert r.status_code == 400 and 'aria-describedby="date-err"' in r.content.decode()
    assert not Order.objects.exists()


def test_hotline_is_not_for_caregivers_and_elders_out_of_scope_are_404(client, personas, elder, offerings, elders):
    client.force_login(personas["caregiver"])
    assert client.get("/homecare/hotline/").status_code == 404
    client.force_login(personas["worker"])  # 紫金街道 only
    assert client.get(f"/homecare/hotline/?elder={elders['qingtian'].pk}").status_code == 404


def test_dispatch_board_suggests_and_assigns(client, personas, elder, offerings, caregiver, django_assert_max_num_queries):
    order = place(elder, offerings["bath-home"].item, personas["operator"])
    client.force_login(personas["dispatcher"])
    page = client.get("/homecare/dispatch/")
    assert page.status_code == 200 and caregiver.name in page.content.decode()
    r = client.post(f"/homecare/orders/{order.pk}/assign/", {"caregiver": caregiver.pk, "next": "/homecare/dispatch/"})
    assert r.status_code == 302 and r.url == "/homecare/dispatch/"
    order.refresh_from_db()
    assert order.status == "assigned" and order.caregiver == caregiver
    for hour in (13, 15, 17):
        place(elder, offerings["clean-home"].item, personas["operator"], hour=hour)
    with django_assert_max_num_queries(60):
        assert client.get("/homecare/dispatch/").status_code == 200


def test_caregiver_view_lists_todays_visits_with_tasks(client, personas, elder, offerings, caregiver):
    start = timezone.localtime() + timedelta(minutes=20)
    order, _ = ops.order_create(
        elder=elder, item=offerings["bath-home"].item, window_start=start, window_end=start + timedelta(hours=1), actor=personas["operator"]
    )
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    client.force_login(personas["caregiver"])
    page = client.get("/homecare/visits/")
    html = page.content.decode()
    assert page.status_code == 200
    assert elder.name in html and "协助洗浴" in html and 'data-action="check-in"' in html and "visits.js" in html
    assert client.get("/homecare/visits/sw.js").status_code == 200
    client.force_login(personas["operator"])
    assert client.get("/homecare/visits/").status_code == 404


def test_elder_view_orders_and_rates(client, personas, elder, offerings, caregiver):
    client.force_login(personas["elder"])
    page = client.get("/homecare/my/")
    assert page.status_code == 200 and "送餐上门" in page.content.decode()
    day = (timezone.localdate() + timedelta(days=2)).isoformat()
    r = client.post("/homecare/my/", {"item": "clean-home", "date": day, "slot": "morning", "idempotency_key": "e-1"})
    assert r.status_code == 302
    order = Order.objects.get()
    assert order.channel == "elder" and timezone.localtime(order.window_start).hour == 9
    r = client.post("/homecare/my/", {"item": "", "date": day, "slot": "morning"})
    assert r.status_code == 400 and Order.objects.count() == 1
    serve(order, caregiver, dispatcher=personas["dispatcher"])
    assert 'name="score"' in client.get("/homecare/my/").content.decode()
    r = client.post(f"/homecare/orders/{order.pk}/rate/", {"score": "5", "comment": "好", "next": "/homecare/my/"})
    assert r.status_code == 302 and order.rating.score == 5


def test_order_detail_shows_the_timeline_and_evv(client, personas, elder, offerings, caregiver):
    order = serve(
        place(elder, offerings["clean-home"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"], minutes=30
    )
    client.force_login(personas["county_officer"])
    html = client.get(f"/homecare/orders/{order.pk}/").content.decode()
    for text in (elder.name, caregiver.name, "居家保洁", f"{HOME[0]:.5f}"):
        assert text in html
    assert html.count("<li><time datetime=") == 5  # requested, assigned, in service, completed, flagged
    r = client.post(f"/homecare/orders/{order.pk}/approve/", {"comment": "回访确认"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == "paid"
    client.force_login(personas["other_county_officer"])
    assert client.get(f"/homecare/orders/{order.pk}/").status_code == 404
    assert client.post(f"/homecare/orders/{order.pk}/approve/", {"comment": "x"}).status_code == 404
