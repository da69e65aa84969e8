"""core.write_batch: an order step's writes reach PostgreSQL in one statement, and nothing is reordered."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.homecare.conftest import HOME
from tests.homecare.helpers import place
from yiyang.audit.models import AuditEvent
from yiyang.audit.operations import audit_record
from yiyang.core.prepared import row_insert, row_update
from yiyang.core.write_batch import writes_batched
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Order, OrderTransition


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("writes are batched on PostgreSQL; the SQLite run checks that they are made at once")


def transition(order, action="note") -> OrderTransition:
    return OrderTransition(order_id=order.pk, action=action, from_status=order.status, to_status=order.status, at=timezone.now())


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "WITH"))]


def test_a_steps_writes_travel_in_one_statement(postgres, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_batched():
        moved = row_insert(transition(order), batchable=True)
        order.note = "改到下午"
        row_update(order, fields=("note", "updated_at"), batchable=True)
        event = audit_record(actor=personas["operator"], action="order.note", obj=order)
        assert moved.pk is None and event.pk is None  # not sent yet
    assert len(writes(queries.captured_queries)) == 1 and writes(queries.captured_queries)[0].startswith("WITH")
    assert OrderTransition.objects.filter(pk=moved.pk, action="note").exists()
    assert AuditEvent.objects.filter(pk=event.pk, action="order.note").exists()
    assert Order.objects.get(pk=order.pk).note == "改到下午"


def test_any_other_statement_sends_the_queue_first(postgres, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with transaction.atomic(), writes_batched():
        order.note = "先写后读"
        row_update(order, fields=("note", "updated_at"), batchable=True)
        assert Order.objects.get(pk=order.pk).note == "先写后读"
        moved = row_insert(transition(order), batchable=True)
        assert OrderTransition.objects.filter(order=order, action="note").count() == 1
        assert moved.pk is not None


def test_a_row_is_never_updated_twice_in_one_statement(postgres, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_batched():
        order.note = "第一次"
        row_update(order, fields=("note", "updated_at"), batchable=True)
        order.note = "第二次"
        row_update(order, fields=("note", "updated_at"), batchable=True)
    assert len(writes(queries.captured_queries)) == 2
    assert Order.objects.get(pk=order.pk).note == "第二次"


def test_an_update_of_a_vanished_row_is_reported_and_nothing_is_written(postgres, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    gone = Order.objects.get(pk=order.pk)
    gone.pk = 10**9
    with pytest.raises(Order.NotUpdated), transaction.atomic(), writes_batched():
        row_insert(transition(order), batchable=True)
        row_update(gone, fields=("note", "updated_at"), batchable=True)
    assert not OrderTransition.objects.filter(order=order, action="note").exists()


def test_an_error_before_the_end_sends_nothing(postgres, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with pytest.raises(ValueError), transaction.atomic(), writes_batched():
        row_insert(transition(order), batchable=True)
        raise ValueError("the step fails after its first write")
    assert not OrderTransition.objects.filter(order=order, action="note").exists()


def test_a_batch_belongs_inside_a_transaction(restore_regions, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("writes are batched on PostgreSQL")
    with pytest.raises(RuntimeError), writes_batched():
        pass


def test_a_check_in_writes_once_after_its_read(postgres, personas, elder, offerings, caregiver):
    order = ops.order_assign(
        order=place(elder, offerings["clean-home"].item, personas["operator"]), caregiver=caregiver, actor=personas["dispatcher"]
    )
    with CaptureQueriesContext(connection) as queries:
        ops.order_check_in(order=order.pk, actor=caregiver.user, lat=HOME[0], lng=HOME[1])
    assert len(writes(queries.captured_queries)) == 1
    assert OrderTransition.objects.filter(order=order, action="check_in").exists()
    assert AuditEvent.objects.filter(action="order.check_in", object_id=str(order.pk)).exists()
    assert Order.objects.get(pk=order.pk).status == "in_service"


@pytest.mark.django_db
def test_on_sqlite_writes_are_made_at_once(personas, elder, offerings):
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL run checks the batching")
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with transaction.atomic(), writes_batched():
        moved = row_insert(transition(order), batchable=True)
        assert moved.pk is not None
