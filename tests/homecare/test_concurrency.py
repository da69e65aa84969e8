"""Two dispatchers assign one caregiver to overlapping visits at the same moment: exactly one wins.

Real concurrent transactions on PostgreSQL (one connection per thread). On SQLite the suite skips
this test; IMMEDIATE transactions serialise writers there by construction.
"""

import functools
import os
import threading
import time
from urllib.parse import urlparse

import pytest
from django.db import connection, connections, transaction

from tests.homecare.helpers import place, serve
from tests.services import require_service
from yiyang.core.errors import DomainError
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Order, Rating


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        url = urlparse(os.environ.get("YIYANG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/"))
        require_service("PostgreSQL", url.hostname or "127.0.0.1", url.port or 5432)
        pytest.skip("runs when the suite runs on PostgreSQL (DATABASE_URL=postgres://…)")


def side_by_side(*calls) -> None:
    """Run each call in a thread of its own (its own connection), and wait for all."""
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)


def test_concurrent_assignments_of_one_caregiver(postgres, restore_regions, transactional_db, personas, elder, offerings, caregiver):
    for _ in range(5):  # several rounds: a race that is lost once in a while still shows
        first = place(elder, offerings["clean-home"].item, personas["operator"], hour=9)
        second = place(elder, offerings["comfort-chat"].item, personas["operator"], hour=10)  # overlaps 10:00-10:30
        barrier = threading.Barrier(2)
        outcomes: dict[int, str] = {}

        def assign(order: Order, barrier=barrier, outcomes=outcomes) -> None:
            try:
                barrier.wait(timeout=10)
                ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
                outcomes[order.pk] = "assigned"
            except DomainError as exc:
                outcomes[order.pk] = exc.code
            finally:
                connections.close_all()

        side_by_side(*(functools.partial(assign, o) for o in (first, second)))
        assert sorted(outcomes.values()) == ["assigned", "caregiver_busy"], outcomes
        assert Order.objects.filter(pk__in=[first.pk, second.pk], caregiver=caregiver, status="assigned").count() == 1
        Order.objects.filter(pk__in=[first.pk, second.pk]).update(status="cancelled")


def test_two_ratings_of_one_order_at_once(postgres, restore_regions, transactional_db, personas, elder, offerings, caregiver):
    """The second rating waits for the order's lock; then the first one is there: 409, not a 500."""
    order = serve(place(elder, offerings["clean-home"].item, personas["operator"], hour=9), caregiver, dispatcher=personas["dispatcher"])
    outcomes: dict[str, str] = {}
    first_holds_the_lock = threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                ops.order_rate(order=order.pk, actor=personas["operator"], score=5)
                first_holds_the_lock.set()
                time.sleep(0.5)  # the second one starts waiting for the order meanwhile
            outcomes["first"] = "rated"
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_holds_the_lock.wait(timeout=10)
            ops.order_rate(order=order.pk, actor=personas["operator"], score=4)
            outcomes["second"] = "rated"
        except DomainError as exc:
            outcomes["second"] = exc.code
        finally:
            connections.close_all()

    side_by_side(first, second)
    assert outcomes == {"first": "rated", "second": "already_rated"}, outcomes
    assert Rating.objects.filter(order=order).count() == 1 and Rating.objects.get(order=order).score == 5


def test_a_check_out_sees_the_task_recorded_while_it_waited_for_the_order(
    postgres, restore_regions, transactional_db, personas, elder, offerings, caregiver
):
    """The last task's request holds the order's lock; the check-out waits for it, then must find the task."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.homecare.conftest import HOME

    user = caregiver.user
    order = place(elder, offerings["clean-home"].item, personas["operator"], hour=9)
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    end = timezone.now()
    start = end - timedelta(minutes=order.item.standard_minutes)
    ops.order_check_in(order=order, actor=user, lat=HOME[0], lng=HOME[1], device_time=start)
    required = [t["code"] for t in order.item.tasks if t.get("required")]
    assert len(required) >= 2
    for code in required[:-1]:
        ops.order_task_record(order=order, actor=user, task_code=code, outcome="done", device_time=start + timedelta(minutes=1))
    holding = threading.Event()
    outcomes: dict[str, object] = {}

    def waiting_for_the_lock() -> bool:
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0]:
                    return True
                time.sleep(0.02)
        return False

    def last_task() -> None:
        try:
            with transaction.atomic():
                ops.order_task_record(
                    order=order.pk, actor=user, task_code=required[-1], outcome="done", device_time=start + timedelta(minutes=2)
                )
                holding.set()
                outcomes["check_out_waited"] = waiting_for_the_lock()
        finally:
            connections.close_all()

    def check_out() -> None:
        try:
            holding.wait(timeout=10)
            ops.order_check_out(order=order.pk, actor=user, lat=HOME[0], lng=HOME[1], device_time=end, elder_confirmed=True)
            outcomes["check_out"] = "done"
        except DomainError as exc:
            outcomes["check_out"] = exc.code
        finally:
            connections.close_all()

    side_by_side(last_task, check_out)
    assert outcomes == {"check_out_waited": True, "check_out": "done"}, outcomes
