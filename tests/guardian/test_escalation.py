"""Escalation through the real django-tasks-db worker: family -> community worker -> 96345 console, on the timeline."""

import http.server
import json
import threading
import time

import pytest
from django.db import close_old_connections, connection
from django_tasks_db.management.commands import db_worker

from yiyang.core.errors import DomainError, StateConflict
from yiyang.guardian.models import Alert, AlertState, EscalationTarget, Notification, Outcome, TimelineKind
from yiyang.guardian.operations import alert_acknowledge, alert_record_action, alert_resolve, escalation_policy_set, events_ingest


@pytest.fixture
def run_worker(monkeypatch):
    """The real db_worker loop, in-process against the test database, until no task is ready."""

    def close_unless_in_test_transaction():
        if not connection.in_atomic_block:
            close_old_connections()

    monkeypatch.setattr(db_worker, "close_old_connections", close_unless_in_test_transaction)

    def run():
        worker = db_worker.Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        )
        worker.run()

    return run


@pytest.fixture
def elder(elders):
    return elders["liandu"]


def timeline(alert):
    return [(e.kind, e.data.get("target", "")) for e in alert.timeline.exclude(kind=TimelineKind.NOTIFICATION_SENT)]


def test_unacknowledged_critical_alert_escalates_to_family_then_worker_then_console(make_device, elder, personas, run_worker):
    escalation_policy_set(
        region=elder.residence_region.parent,  # a county-level policy applies to the township below it
        severity="critical",
        steps=[
            {"target": "family", "after_seconds": 0},
            {"target": "worker", "after_seconds": 1},
            {"target": "console", "after_seconds": 1},
        ],
        actor=personas["county_officer"],
    )
    dev = make_device(elder, "smoke")
    events_ingest(messages=[dev.incoming("smoke")])
    alert = Alert.objects.get()
    run_worker()
    assert timeline(alert) == [("opened", ""), ("escalated", "family")]
    family = Notification.objects.get(alert=alert, target=EscalationTarget.FAMILY)
    assert family.state == Notification.State.SENT and family.recipient == personas["family"]
    time.sleep(1.1)
    run_worker()
    assert timeline(alert)[-1] == ("escalated", "worker")
    assert Notification.objects.get(alert=alert, target=EscalationTarget.WORKER).recipient == personas["worker"]
    time.sleep(1.1)
    run_worker()
    alert.refresh_from_db()
    assert timeline(alert)[-1] == ("escalated", "console")
    assert alert.on_console_at is not None and alert.escalation_step == 3
    assert alert.timeline.filter(kind=TimelineKind.NOTIFICATION_SENT).count() == 3
    # The operator takes it from here.
    alert_acknowledge(alert=alert, actor=personas["operator"], note="接警")
    alert_record_action(alert=alert, actor=personas["operator"], action="called_119", note="已报119")
    alert_resolve(alert=alert, actor=personas["operator"], outcome=Outcome.REAL_EMERGENCY, note="厨房起火，已扑灭")
    alert.refresh_from_db()
    assert [k for k, _ in timeline(alert)][-3:] == ["acknowledged", "action", "resolved"]
    assert list(alert.transitions.values_list("from_state", "to_state")) == [
        ("", "open"),
        ("open", "acknowledged"),
        ("acknowledged", "resolved"),
    ]


def test_acknowledgement_stops_the_escalation(make_device, elder, personas, run_worker):
    escalation_policy_set(
        region=None,
        severity="critical",
        steps=[{"target": "family", "after_seconds": 0}, {"target": "worker", "after_seconds": 1}],
        actor=personas["admin"],
    )
    dev = make_device(elder, "sos")
    events_ingest(messages=[dev.incoming("sos")])
    alert = Alert.objects.get()
    run_worker()
    alert_acknowledge(alert=alert, actor=personas["worker"])
    time.sleep(1.1)
    run_worker()
    alert.refresh_from_db()
    assert alert.escalation_step == 1
    assert not Notification.objects.filter(target=EscalationTarget.WORKER).exists()


def test_no_family_contact_escalates_on_without_waiting(make_device, personas, run_worker):
    from tests.factories import ElderFactory

    lonely = ElderFactory(name="无亲属长辈")
    escalation_policy_set(
        region=None,
        severity="critical",
        steps=[{"target": "family", "after_seconds": 0}, {"target": "worker", "after_seconds": 600}],
        actor=personas["admin"],
    )
    dev = make_device(lonely, "fall")
    events_ingest(messages=[dev.incoming("fall")])
    run_worker()
    run_worker()
    assert [t for _, t in timeline(Alert.objects.get())] == ["", "family", "worker"]


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Hook.received.append(body)
        status = 500 if len(_Hook.received) <= _Hook.fail_first else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Hook.received, _Hook.fail_first = [], 0
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook
    server.shutdown()


def test_webhook_channel_retries_then_delivers(make_device, elder, personas, run_worker, webhook, settings):
    url, hook = webhook
    hook.fail_first = 1
    settings.GUARDIAN_NOTIFY_BACKOFF_SECONDS = 1
    escalation_policy_set(
        region=None,
        severity="critical",
        steps=[{"target": "family", "after_seconds": 0, "channel": "webhook", "webhook_url": url}],
        actor=personas["admin"],
    )
    dev = make_device(elder, "gas")
    events_ingest(messages=[dev.incoming("gas")])
    run_worker()
    n = Notification.objects.get()
    assert (n.state, n.attempts, n.last_error) == (Notification.State.PENDING, 1, "HTTP 500")
    time.sleep(1.1)
    run_worker()
    n.refresh_from_db()
    assert (n.state, n.attempts) == (Notification.State.SENT, 2)
    assert hook.received[-1]["kind"] == "gas" and hook.received[-1]["elder"] == elder.name


def test_failed_delivery_is_visible_on_the_timeline(make_device, elder, personas, run_worker, settings):
    settings.GUARDIAN_NOTIFY_MAX_ATTEMPTS = 1
    # Nothing listens on port 9 (discard): the connection is refused.
    escalation_policy_set(
        region=None,
        severity="critical",
        steps=[{"target": "console", "after_seconds": 0, "channel": "webhook", "webhook_url": "http://127.0.0.1:9/x"}],
        actor=personas["admin"],
    )
    dev = make_device(elder, "sos")
    events_ingest(messages=[dev.incoming("sos")])
    run_worker()
    n = Notification.objects.get()
    assert n.state == Notification.State.FAILED and n.last_error
    assert Alert.objects.get().timeline.filter(kind=TimelineKind.NOTIFICATION_FAILED).exists()


def test_state_machine_refuses_illegal_moves_and_bad_input(make_device, elder, personas):
    dev = make_device(elder, "sos")
    events_ingest(messages=[dev.incoming("sos")])
    alert = Alert.objects.get()
    with pytest.raises(DomainError) as bad:
        alert_resolve(alert=alert, actor=personas["operator"], outcome="shrug")
    assert bad.value.field == "outcome"
    with pytest.raises(DomainError) as bad_action:
        alert_record_action(alert=alert, actor=personas["operator"], action="dance")
    assert bad_action.value.field == "action"
    alert_resolve(alert=alert, actor=personas["operator"], outcome=Outcome.FALSE_ALARM)
    with pytest.raises(StateConflict):
        alert_acknowledge(alert=alert, actor=personas["operator"])
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.outcome == Outcome.FALSE_ALARM
    # A new SOS after resolution opens a new alert.
    events_ingest(messages=[dev.incoming("sos")])
    assert Alert.objects.filter(state=AlertState.OPEN).count() == 1


def test_policy_validation_names_the_field(personas):
    with pytest.raises(DomainError) as exc:
        escalation_policy_set(region=None, severity="critical", steps=[{"target": "mayor"}], actor=personas["admin"])
    assert exc.value.field == "steps.0.target"
