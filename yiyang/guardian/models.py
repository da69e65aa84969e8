"""Silver Guardian (银龄卫士): devices, their events and positions, safe zones, alerts and their escalation."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class DeviceType(models.TextChoices):
    SMOKE = "smoke", _("Smoke detector")
    GAS = "gas", _("Gas detector")
    SOS = "sos", _("SOS button")
    BRACELET = "bracelet", _("Anti-wandering bracelet")
    DOOR = "door", _("Door sensor")
    MOTION = "motion", _("Motion sensor")
    FALL = "fall", _("Fall detector")


class Device(TimeStampedModel):
    """One device protecting one elder. `serial` is also its MQTT username and topic segment."""

    serial = models.CharField(_("serial number"), max_length=64, unique=True)
    device_type = models.CharField(_("type"), max_length=16, choices=DeviceType.choices)
    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="guardian_devices", verbose_name=_("elder"))
    install_location = models.CharField(_("installed at"), max_length=128, blank=True)
    report_interval_seconds = models.PositiveIntegerField(_("reporting interval (seconds)"), default=300)
    # The HMAC key is needed in clear to verify signatures, so it is encrypted (AES-GCM), not hashed.
    secret_encrypted = models.BinaryField(_("secret (encrypted)"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    # Running state, updated by ingestion in batches.
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last movement"), null=True, blank=True)
    battery = models.PositiveSmallIntegerField(_("battery %"), null=True, blank=True)
    is_offline = models.BooleanField(_("offline"), default=False)
    # last_seen_at + 3 intervals, kept by ingestion so that the offline check is one indexed range query.
    offline_after = models.DateTimeField(null=True, blank=True)
    consecutive_outside = models.PositiveIntegerField(default=0)
    # The last few fixes, newest last: [{"lat", "lon", "at", "inside"}]; copied onto wandering alerts.
    recent_positions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["serial"]
        indexes = [
            models.Index(fields=["offline_after"], condition=Q(is_active=True, is_offline=False), name="guardian_device_offline_due")
        ]
        constraints = [models.CheckConstraint(condition=Q(report_interval_seconds__gte=10), name="guardian_interval_at_least_10s")]

    def __str__(self) -> str:
        return f"{self.get_device_type_display()} {self.serial}"


class ElderWatch(TimeStampedModel):
    """Per-elder guardian settings (inactivity threshold for elders living alone)."""

    elder = models.OneToOneField("people.Elder", on_delete=models.CASCADE, related_name="guardian_watch")
    inactivity_minutes = models.PositiveIntegerField(_("no movement alarm after (minutes)"), default=12 * 60)


class SafeZone(TimeStampedModel):
    class Shape(models.TextChoices):
        CIRCLE = "circle", _("Circle")
        POLYGON = "polygon", _("Polygon")

    elder = models.ForeignKey("people.Elder", on_delete=models.CASCADE, related_name="safe_zones", verbose_name=_("elder"))
    name = models.CharField(_("name"), max_length=64)
    shape = models.CharField(_("shape"), max_length=8, choices=Shape.choices)
    # WGS-84. A circle: centre + radius. A polygon: [[lon, lat], ...] (GeoJSON order).
    center_lat = models.FloatField(_("centre latitude"), null=True, blank=True)
    center_lon = models.FloatField(_("centre longitude"), null=True, blank=True)
    radius_m = models.PositiveIntegerField(_("radius (metres)"), null=True, blank=True)
    polygon = models.JSONField(_("polygon"), null=True, blank=True)
    # Optional hours during which the zone applies (local time); may wrap midnight.
    active_from = models.TimeField(_("applies from"), null=True, blank=True)
    active_until = models.TimeField(_("applies until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(shape="circle", center_lat__isnull=False, center_lon__isnull=False, radius_m__gt=0))
                | Q(shape="polygon", polygon__isnull=False),
                name="guardian_zone_shape_complete",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    MQTT = "mqtt", "MQTT"
    HTTP = "http", "HTTP"


class DeviceEvent(models.Model):
    """Every accepted device message, once: (device, message_id) is the idempotency key."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    message_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=16)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=4, choices=Channel.choices)
    battery = models.PositiveSmallIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "message_id"], name="guardian_event_once")]
        indexes = [models.Index(fields=["device", "occurred_at"], name="guardian_event_dev_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}"


class Position(models.Model):
    """A WGS-84 fix. High volume: purged after GUARDIAN_POSITION_RETENTION_DAYS; alerts keep copies."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="positions")
    elder_id = models.BigIntegerField(db_index=True)
    lat = models.FloatField()
    lon = models.FloatField()
    accuracy_m = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)
    inside = models.BooleanField(null=True)

    class Meta:
        indexes = [models.Index(fields=["device", "at"], name="guardian_position_dev_time")]

    def __str__(self) -> str:
        return f"{self.lat:.5f},{self.lon:.5f}"


class RejectedMessage(models.Model):
    """A message that failed validation or authentication: counted, logged, never processed."""

    channel = models.CharField(max_length=4, choices=Channel.choices)
    topic = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=32)
    detail = models.CharField(max_length=255, blank=True)
    excerpt = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.reason


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


class AlertKind(models.TextChoices):
    SMOKE = "smoke", _("Smoke alarm")
    GAS = "gas", _("Gas alarm")
    SOS = "sos", _("SOS button")
    FALL = "fall", _("Fall detected")
    WANDERING = "wandering", _("Outside safe zone")
    INACTIVITY = "inactivity", _("No movement")
    OFFLINE = "offline", _("Device offline")
    LOW_BATTERY = "low_battery", _("Low battery")
    TAMPER = "tamper", _("Strap removed / tampering")
    # Opened by a person: a need found on a monthly visit that someone must follow up.
    VISIT_FOLLOWUP = "visit_followup", _("Visit follow-up")
    # Operational alerts about the chain itself (no elder).
    INGESTION_SILENCE = "ingestion_silence", _("No device messages arriving")
    WORKER_STALL = "worker_stall", _("Task worker stalled")
    OFFLINE_FLOOD = "offline_flood", _("Many devices offline at once")


SYSTEM_KINDS = {AlertKind.INGESTION_SILENCE, AlertKind.WORKER_STALL, AlertKind.OFFLINE_FLOOD}


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


ALERT_TRANSITIONS: dict[str, set[str]] = {
    AlertState.OPEN: {AlertState.ACKNOWLEDGED, AlertState.RESOLVED},
    AlertState.ACKNOWLEDGED: {AlertState.RESOLVED},
    AlertState.RESOLVED: set(),
}
UNRESOLVED = [AlertState.OPEN, AlertState.ACKNOWLEDGED]


class Outcome(models.TextChoices):
    REAL_EMERGENCY = "real_emergency", _("Real emergency")
    FALSE_ALARM = "false_alarm", _("False alarm")
    DEVICE_FAULT = "device_fault", _("Device fault")
    NO_ACTION_NEEDED = "no_action_needed", _("No action needed")


class Alert(TimeStampedModel):
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    severity_rank = models.PositiveSmallIntegerField()
    state = models.CharField(_("state"), max_length=12, choices=AlertState.choices, default=AlertState.OPEN)
    elder = models.ForeignKey("people.Elder", null=True, blank=True, on_delete=models.PROTECT, related_name="guardian_alerts")
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    # Scope: the elder's residence region when opened; null for operational alerts (console staff see those).
    region = models.ForeignKey("regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # One unresolved alert per key ("<device>:<kind>" or "system:<kind>"): repeats attach to it.
    dedup_key = models.CharField(max_length=64)
    opened_at = models.DateTimeField(_("opened"))
    last_event_at = models.DateTimeField(_("last event"))
    repeat_count = models.PositiveIntegerField(_("repeats"), default=0)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    # Steps done so far, and the policy's steps copied when the alert opened (a policy edit never changes a running escalation).
    escalation_step = models.PositiveSmallIntegerField(default=0)
    escalation_plan = models.JSONField(default=list, blank=True)
    on_console_at = models.DateTimeField(null=True, blank=True)
    # Copies of what triggered it (positions, device message ids): positions are purged, alerts are not.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-severity_rank", "opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"], condition=Q(state__in=["open", "acknowledged"]), name="guardian_one_unresolved_alert"
            ),
            models.CheckConstraint(condition=Q(severity_rank__gte=1, severity_rank__lte=4), name="guardian_alert_rank_range"),
        ]
        indexes = [
            models.Index(
                fields=["-severity_rank", "opened_at"], condition=Q(state__in=["open", "acknowledged"]), name="guardian_alert_console"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_system(self) -> bool:
        return self.kind in SYSTEM_KINDS


class AlertTransition(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=12, choices=AlertState.choices)
    to_state = models.CharField(max_length=12, choices=AlertState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


class TimelineKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    REPEAT = "repeat", _("Repeated")
    POSITION = "position", _("Position outside")
    BACK_INSIDE = "back_inside", _("Back inside the safe zone")
    BACK_ONLINE = "back_online", _("Device back online")
    MOVEMENT = "movement", _("Movement detected")
    ESCALATED = "escalated", _("Escalated")
    NOTIFICATION_SENT = "notification_sent", _("Notification delivered")
    NOTIFICATION_FAILED = "notification_failed", _("Notification failed")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACTION = "action", _("Action taken")
    RESOLVED = "resolved", _("Resolved")
    ORDER = "order", _("Emergency order created")


class AlertEvent(models.Model):
    """The alert's timeline: what happened, when, by whom. Response times are measured from it."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=TimelineKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    text = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["alert", "at"], name="guardian_timeline_alert")]

    def __str__(self) -> str:
        return self.kind


class EscalationTarget(models.TextChoices):
    FAMILY = "family", _("Family contact")
    WORKER = "worker", _("Community worker")
    CONSOLE = "console", _("96345 console")


class EscalationPolicy(TimeStampedModel):
    """Who is told, in which order, how long after the previous step. Region null = the default."""

    region = models.ForeignKey("regions.Region", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    severity = models.CharField(max_length=8, choices=Severity.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "severity"], name="guardian_policy_per_region_severity"),
            models.UniqueConstraint(fields=["severity"], condition=Q(region__isnull=True), name="guardian_default_policy_per_severity"),
        ]


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=8, choices=EscalationTarget.choices)
    # Seconds after the previous step (the first: after the alert opens). Seconds, not minutes,
    # because a critical alarm's first step is immediate and drills use short delays.
    after_seconds = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=16, default="log")
    webhook_url = models.URLField(blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="guardian_step_position_once")]

    def __str__(self) -> str:
        return f"{self.position}: {self.target}"


class Notification(models.Model):
    """The outbox: one row per message to one recipient; a task delivers it and retries."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    step = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=8, choices=EscalationTarget.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipient_label = models.CharField(max_length=128)
    channel = models.CharField(max_length=16)
    address = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], condition=Q(state__in=["pending", "failed"]), name="guardian_outbox_open")]

    def __str__(self) -> str:
        return f"{self.target} -> {self.recipient_label}"
