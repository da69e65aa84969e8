"""core.write_batch: an order step's writes reach PostgreSQL in one statement, and nothing is reordered."""

import tempfile
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg.pq import Trace

from tests.homecare.conftest import HOME, window
from tests.homecare.helpers import place
from yiyang.audit.models import AuditEvent
from yiyang.audit.operations import audit_record
from yiyang.core.prepared import new_row, row_insert, row_update
from yiyang.core.write_batch import batched_transaction, key_of, writes_batched
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


def test_a_check_out_writes_once_after_its_reads_and_the_payments(postgres, personas, elder, offerings, caregiver):
    order = ops.order_assign(
        order=place(elder, offerings["clean-home"].item, personas["operator"]), caregiver=caregiver, actor=personas["dispatcher"]
    )
    phone, start = caregiver.user, timezone.now() - timedelta(minutes=90)
    ops.order_check_in(order=order.pk, actor=phone, lat=HOME[0], lng=HOME[1], device_time=start)
    for task in order.item.tasks:
        ops.order_task_record(order=order.pk, actor=phone, task_code=task["code"], outcome="done", device_time=start)
    with CaptureQueriesContext(connection) as queries:
        paid = ops.order_check_out(order=order.pk, actor=phone, lat=HOME[0], lng=HOME[1], elder_confirmed=True)
    assert paid.status == "paid"
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert writes(queries.captured_queries) == [sql[-1]]  # one statement, after every read (the payment's too)
    from yiyang.subsidies.models import Spend

    spend = Spend.objects.get(order_ref=f"order:{order.pk}")
    assert AuditEvent.objects.get(action="subsidy.spend", detail__order_ref=spend.order_ref).object_id == str(spend.pk)


def test_a_read_of_other_tables_goes_ahead_of_queued_inserts(postgres, personas, elder, offerings, provider):
    from yiyang.homecare.models import Provider

    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_batched():
        moved = row_insert(transition(order), batchable=True)
        event = audit_record(actor=personas["operator"], action="order.note", obj=order)
        Provider.objects.select_for_update().get(pk=provider.pk)
        assert moved.pk is None and event.pk is None  # still queued
        assert OrderTransition.objects.filter(pk__gte=0, action="note").count() == 1  # a read of their table sends them
    sql = [q["sql"] for q in queries.captured_queries]
    assert [s.split()[0] for s in sql if s.startswith(("SELECT", "WITH"))][:3] == ["SELECT", "WITH", "SELECT"]


@pytest.mark.parametrize("queued_first", ["an update", "an insert with a unique key"])
def test_other_queued_writes_go_before_any_read(postgres, personas, elder, offerings, provider, queued_first):
    from yiyang.homecare.models import Provider, TaskOutcome

    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_batched():
        if queued_first == "an update":
            order.note = "先写"
            row_update(order, fields=("note", "updated_at"), batchable=True)
        else:
            now = timezone.now()
            row_insert(TaskOutcome(order=order, task_code="sweep", outcome="done", device_time=now, received_at=now), batchable=True)
        Provider.objects.select_for_update().get(pk=provider.pk)
    sql = [q["sql"].split()[0] for q in queries.captured_queries if q["sql"].startswith(("SELECT", "WITH", "INSERT", "UPDATE"))]
    assert sql[:2] in (["UPDATE", "SELECT"], ["INSERT", "SELECT"])


def test_a_savepoint_rolled_back_drops_what_was_queued_after_it(postgres, personas, elder, offerings):
    from django.db import DataError

    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with transaction.atomic(), writes_batched():
        kept = row_insert(transition(order, "kept"), batchable=True)
        with pytest.raises(DataError), transaction.atomic():
            row_insert(transition(order, "dropped"), batchable=True)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")  # fails while the insert waits behind it
        after = row_insert(transition(order, "after"), batchable=True)
    assert set(OrderTransition.objects.filter(order=order).values_list("action", flat=True)) == {"create", "kept", "after"}
    assert kept.pk and after.pk


@pytest.mark.django_db
def test_on_sqlite_writes_are_made_at_once(personas, elder, offerings):
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL run checks the batching")
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with transaction.atomic(), writes_batched():
        moved = row_insert(transition(order), batchable=True)
        assert moved.pk is not None


# A new row's key, before its insert is sent -------------------------------------------------------


def new_order(elder, offering, actor, **fields) -> Order:
    start, end = window()
    return Order(
        provider=offering.provider,
        elder=elder,
        item=offering.item,
        window_start=start,
        window_end=end,
        service_date=start.date(),
        price_fen=offering.price_fen,
        requested_by=actor,
        **fields,
    )


def placed_with_its_rows(elder, offering, actor, **fields) -> tuple[Order, OrderTransition, AuditEvent]:
    """An order, its first transition and its audit row, as order_create writes them."""
    order = row_insert(new_order(elder, offering, actor, **fields), batchable=True)
    created = row_insert(
        new_row(OrderTransition, order_id=key_of(order), action="create", from_status="", to_status=order.status, at=timezone.now()),
        batchable=True,
    )
    event = audit_record(actor=actor, action="order.create", obj=order)
    return order, created, event


def test_a_new_rows_key_stands_in_for_it_in_the_same_statement(postgres, personas, elder, offerings):
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_batched():
        order, created, event = placed_with_its_rows(elder, offerings["clean-home"], personas["operator"])
        assert order.pk is None  # not sent yet
    assert len(writes(queries.captured_queries)) == 1
    assert OrderTransition.objects.get(pk=created.pk).order_id == order.pk
    assert AuditEvent.objects.get(pk=event.pk).object_id == str(order.pk)


def test_a_statement_run_at_once_with_a_queued_key_sends_its_insert_first(postgres, personas, elder, offerings):
    with transaction.atomic(), writes_batched():
        order = row_insert(new_order(elder, offerings["clean-home"], personas["operator"]), batchable=True)
        created = row_insert(
            new_row(OrderTransition, order_id=key_of(order), action="create", from_status="", to_status="new", at=timezone.now())
        )
        assert order.pk is not None and created.pk is not None
    assert OrderTransition.objects.get(pk=created.pk).order_id == order.pk


def test_the_rows_standing_in_for_a_key_get_it_when_it_is_known(postgres, personas, elder, offerings):
    with transaction.atomic(), writes_batched():
        order, created, event = placed_with_its_rows(elder, offerings["clean-home"], personas["operator"])
        assert repr(created.order_id) == "<key of a queued homecare.Order row>"  # not the statement and its values
    assert (created.order_id, event.object_id) == (order.pk, str(order.pk))


def test_a_key_stands_only_in_statements_whose_values_are_all_parameters(postgres, personas, elder, offerings):
    from yiyang.core.write_batch import QueuedKey, _with_keys, _Write

    insert = _Write('INSERT INTO "t" ("a") VALUES (%s) RETURNING "id"', ["x"], Order, returns=lambda key: None)
    for sql, params in (
        ("INSERT INTO u (a, b) VALUES (%s, '%%s')", [QueuedKey(insert)]),
        ("INSERT INTO u (a, b) VALUES (%s, 1)", [QueuedKey(insert), 2]),
    ):
        with pytest.raises(ValueError, match="every value is a parameter"):
            _with_keys(_Write(sql, params, Order, returns=None), {id(insert): 0})
    sql, params = _with_keys(
        _Write("INSERT INTO u (a, b) VALUES (%s, %s)", [QueuedKey(insert, as_text=True), 2], Order, returns=None), {id(insert): 0}
    )
    assert (sql, params) == ("INSERT INTO u (a, b) VALUES (CAST((SELECT * FROM w0) AS text), %s)", [2])


def test_a_key_of_a_row_rolled_back_to_a_savepoint_says_so(postgres, personas, elder, offerings):
    with transaction.atomic(), writes_batched():
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            order = row_insert(new_order(elder, offerings["clean-home"], personas["operator"]), batchable=True)
            1 / 0  # noqa: B018
        with pytest.raises(ValueError, match="rolled back to a savepoint"):
            row_insert(new_row(OrderTransition, order_id=key_of(order), action="x", from_status="", to_status="", at=timezone.now()))


def test_a_row_never_saved_has_no_key(db, personas, elder, offerings):
    with pytest.raises(ValueError, match="never saved"):
        key_of(new_order(elder, offerings["clean-home"], personas["operator"]))


# A transaction that sends nothing before its writes ----------------------------------------------


@contextmanager
def wire(connection):
    """What the connection sends to PostgreSQL in the block: the libpq protocol trace's lines from the client."""
    sent: list[str] = []
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()
            trace.seek(0)
            sent.extend(line for line in trace.read().decode().splitlines() if line.startswith("F"))


@pytest.fixture
def transactional_postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("writes are batched on PostgreSQL")


def test_an_order_placed_goes_as_one_statement_without_begin_or_commit(restore_regions, transactional_postgres, personas, elder, offerings):
    committed = []
    with wire(connection) as sent, batched_transaction():
        order, created, event = placed_with_its_rows(elder, offerings["clean-home"], personas["operator"])
        transaction.on_commit(lambda: committed.append(order.pk))
    assert sum(line.split("\t")[2] == "Execute" for line in sent) == 1
    assert not [line for line in sent if "Query" in line]  # no BEGIN, no COMMIT
    assert committed == [order.pk]
    assert OrderTransition.objects.get(pk=created.pk).order_id == order.pk
    assert AuditEvent.objects.get(pk=event.pk).object_id == str(order.pk)

    # And through the operation, as the API places it: the reads before, then the one statement.
    with wire(connection) as sent:
        placed = place(elder, offerings["meal-delivery"].item, personas["operator"], idempotency_key="wire-1")
    assert not [line for line in sent if "Query" in line]
    assert Order.objects.get(pk=placed.pk).transitions.get().action == "create"


def test_an_order_refused_by_the_database_leaves_nothing(restore_regions, transactional_postgres, personas, elder, offerings):
    from django.db import DataError

    operator, offering = personas["operator"], offerings["clean-home"]
    row_insert(new_order(elder, offering, operator, idempotency_key="twice"))
    transitions, events = OrderTransition.objects.count(), AuditEvent.objects.count()
    with pytest.raises(IntegrityError), batched_transaction():  # its first write refused
        placed_with_its_rows(elder, offering, operator, idempotency_key="twice")
    with pytest.raises(DataError), batched_transaction():  # its last write refused, after the order and its transition
        order, _created, _event = placed_with_its_rows(elder, offering, operator, idempotency_key="last")
        audit_record(actor=operator, action="x" * 500, obj=order)
    assert (Order.objects.count(), OrderTransition.objects.count(), AuditEvent.objects.count()) == (1, transitions, events)
    with batched_transaction():  # the connection goes on
        placed_with_its_rows(elder, offering, operator, idempotency_key="once")
    assert Order.objects.count() == 2


def test_a_connection_lost_as_the_order_leaves_reports_djangos_error(restore_regions, transactional_postgres, personas, elder, offerings):
    import psycopg
    from django.db import OperationalError

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with pytest.raises(OperationalError), batched_transaction():  # Django's, as for any statement
        placed_with_its_rows(elder, offerings["clean-home"], personas["operator"])
        with psycopg.connect(**{**connection.get_connection_params(), "context": None}, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert not Order.objects.exists()  # on a new connection


def test_a_placed_order_through_the_backstop_of_its_key(restore_regions, transactional_postgres, personas, elder, offerings, monkeypatch):
    from yiyang.homecare import operations as homecare_operations

    operator, item = personas["operator"], offerings["clean-home"].item
    first = place(elder, item, operator, idempotency_key="race")
    real_first = homecare_operations.ORDER_BY_IDEMPOTENCY_KEY.first
    looks = []

    def a_retry_racing_past_the_read(**values):
        looks.append(values)
        return None if len(looks) == 1 else real_first(**values)

    monkeypatch.setattr(homecare_operations.ORDER_BY_IDEMPOTENCY_KEY, "first", a_retry_racing_past_the_read)
    start, end = window()
    again, created = ops.order_create(elder=elder, item=item, window_start=start, window_end=end, actor=operator, idempotency_key="race")
    assert (again.pk, created, len(looks)) == (first.pk, False, 2)  # refused by the unique key, then found
    assert Order.objects.count() == 1 and OrderTransition.objects.filter(order=first).count() == 1


def test_a_batch_with_an_update_keeps_its_transaction(restore_regions, transactional_postgres, personas, elder, offerings):
    # An update's missing row is found after its statement: only a transaction can still undo the rest.
    gone = place(elder, offerings["clean-home"].item, personas["operator"])
    Order.objects.filter(pk=gone.pk).delete()
    with wire(connection) as sent, pytest.raises(Order.NotUpdated), batched_transaction():
        placed_with_its_rows(elder, offerings["meal-delivery"], personas["operator"])
        gone.note = "已删除"
        row_update(gone, fields=("note", "updated_at"), batchable=True)
    assert 'Query\t "BEGIN"' in "\n".join(sent)
    assert not Order.objects.exists()


def test_inside_a_larger_transaction_the_writes_wait_for_its_end(restore_regions, transactional_postgres, personas, elder, offerings):
    with wire(connection) as sent, pytest.raises(ValueError), transaction.atomic():
        with batched_transaction():
            placed_with_its_rows(elder, offerings["clean-home"], personas["operator"])
        raise ValueError("the larger transaction fails after the order")
    assert 'Query\t "BEGIN"' in "\n".join(sent)
    assert not Order.objects.exists()


def test_a_transaction_that_read_first_sends_its_writes_inside_it(restore_regions, transactional_postgres, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    with wire(connection) as sent, batched_transaction():
        Order.objects.select_for_update().get(pk=order.pk)
        placed_with_its_rows(elder, offerings["meal-delivery"], personas["operator"])
    queries = [line for line in sent if "Query" in line]
    assert 'Query\t "BEGIN"' in queries[0] and 'Query\t "COMMIT"' in queries[-1]
