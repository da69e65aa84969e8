from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class Provider(TimeStampedModel):
    """A home-care service organisation and the townships it serves."""

    name = models.CharField(_("name"), max_length=128)
    licence_no = models.CharField(_("licence number"), max_length=64, blank=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("registered in"))
    service_regions = models.ManyToManyField("regions.Region", blank=True, related_name="providers", verbose_name=_("service area"))
    is_active = models.BooleanField(_("active"), default=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    auto_dispatch = models.BooleanField(
        _("auto-dispatch"), default=False, help_text=_("Assign the best suggestion as soon as an order arrives")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Qualification(models.TextChoices):
    NONE = "none", _("None required")
    CARE_WORKER = "care_worker", _("Certified care worker (养老护理员)")
    HEALTH_CERT = "health_cert", _("Food-handler health certificate")
    NURSE = "nurse", _("Registered nurse")
    REHAB = "rehab", _("Rehabilitation therapist")
    SOCIAL_WORKER = "social_worker", _("Social worker / counsellor")


class ServiceCategory(models.Model):
    """助餐 助浴 助洁 助医 助急 助行 康复护理 精神慰藉."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort", "code"]
        verbose_name_plural = _("service categories")

    def __str__(self) -> str:
        return self.name


class ServiceItem(TimeStampedModel):
    """One line of the menu. `tasks` is the checklist: [{"code", "label", "required"}]."""

    category = models.ForeignKey(ServiceCategory, on_delete=models.PROTECT, related_name="items", verbose_name=_("category"))
    code = models.SlugField(_("code"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=64)
    unit = models.CharField(_("unit"), max_length=16, help_text=_("e.g. per meal, per visit, per hour"))
    guide_price_fen = models.PositiveIntegerField(_("guide price (fen)"))
    standard_minutes = models.PositiveIntegerField(_("standard duration (minutes)"))
    qualification = models.CharField(_("required qualification"), max_length=16, choices=Qualification.choices, default=Qualification.NONE)
    tasks = models.JSONField(_("task checklist"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["category__sort", "code"]
        constraints = [models.CheckConstraint(condition=Q(standard_minutes__gt=0), name="item_duration_positive")]

    def __str__(self) -> str:
        return self.name


class ProviderOffering(TimeStampedModel):
    """What a provider offers, where, and at what price. An empty area means the provider's whole service area."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="offerings")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="offerings")
    price_fen = models.PositiveIntegerField(_("price (fen)"))
    regions = models.ManyToManyField("regions.Region", blank=True, related_name="+", verbose_name=_("area"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "item"], name="one_offering_per_provider_item")]

    def __str__(self) -> str:
        return f"{self.provider} · {self.item}"


# The associated data of a caregiver phone's ciphertext and the domain of its blind index: a registry
# phone's ciphertext copied into this column does not decrypt, and equal numbers hash differently.
CAREGIVER_PHONE_FIELD = "homecare.caregiver.phone"


def default_work_days() -> list[int]:
    return [0, 1, 2, 3, 4, 5]


class Caregiver(TimeStampedModel):
    """A person who serves orders for a provider. A volunteer is a caregiver without pay."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="caregivers")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="caregiver_profile"
    )
    name = models.CharField(_("name"), max_length=64)
    # Personal data, like the registry's phones (people/crypto.py): encrypted, looked up by keyed hash,
    # shown masked; a reveal in clear goes through provider_operations.caregiver_phone_reveal (logged).
    phone_enc = models.TextField(_("phone (encrypted)"), blank=True, default="", editable=False)
    phone_bidx = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    is_volunteer = models.BooleanField(_("volunteer"), default=False)
    skills = models.ManyToManyField(ServiceCategory, blank=True, related_name="+", verbose_name=_("skills"))
    # Home base, WGS-84: where the first visit of a day starts from.
    home_lat = models.FloatField(_("home base latitude"))
    home_lng = models.FloatField(_("home base longitude"))
    work_start = models.TimeField(_("works from"), default="08:00")
    work_end = models.TimeField(_("works until"), default="18:00")
    work_days = models.JSONField(_("working weekdays"), default=default_work_days, help_text=_("0 = Monday … 6 = Sunday"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.CheckConstraint(condition=Q(work_end__gt=models.F("work_start")), name="caregiver_hours_ordered")]

    def __str__(self) -> str:
        return self.name

    def set_phone(self, phone: str) -> None:
        """Store an already normalised phone (people.idnumber.normalise_phone); empty removes it."""
        from yiyang.people import crypto

        self.phone_enc = crypto.encrypt(phone, field=CAREGIVER_PHONE_FIELD)
        self.phone_bidx = crypto.blind_index(phone, field=CAREGIVER_PHONE_FIELD) if phone else ""

    def reveal_phone(self) -> str:
        # Clear text for code that must dial or re-encrypt; a person sees it only through caregiver_phone_reveal.
        from yiyang.people import crypto

        return crypto.decrypt(self.phone_enc, field=CAREGIVER_PHONE_FIELD)

    @property
    def phone_masked(self) -> str:
        from yiyang.people import crypto

        return crypto.mask_phone(self.reveal_phone()) if self.phone_enc else ""


class Certificate(TimeStampedModel):
    caregiver = models.ForeignKey(Caregiver, on_delete=models.CASCADE, related_name="certificates")
    kind = models.CharField(_("kind"), max_length=16, choices=Qualification.choices)
    level = models.CharField(_("level"), max_length=16, blank=True, help_text=_("e.g. 初级, 中级, 高级, 技师"))
    number = models.CharField(_("number"), max_length=64, blank=True)
    expires_on = models.DateField(_("expires on"))

    class Meta:
        ordering = ["caregiver", "kind"]


class OrderStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", _("Accepted by provider")
    ASSIGNED = "assigned", _("Caregiver assigned")
    EN_ROUTE = "en_route", _("Caregiver on the way")
    IN_SERVICE = "in_service", _("In service")
    COMPLETED = "completed", _("Completed, being audited")
    FLAGGED = "flagged", _("Waiting for officer audit")
    PAID = "paid", _("Audited and paid")
    REJECTED = "rejected", _("Rejected by audit")
    CANCELLED = "cancelled", _("Cancelled")
    NOT_HOME = "not_home", _("Elder not at home")


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("96345 hotline")
    ELDER = "elder", _("Elder")
    FAMILY = "family", _("Family")
    WORKER = "worker", _("Community worker")
    RECURRING = "recurring", _("Recurring order")
    API = "api", _("API")


class Recurrence(TimeStampedModel):
    """A standing order: on these weekdays, this item in this window. Holidays follow the official calendar."""

    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="recurrences")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="recurrences")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+")
    weekdays = models.JSONField(_("weekdays"), help_text=_("0 = Monday … 6 = Sunday"))
    working_days_only = models.BooleanField(
        _("official working days only"), default=False, help_text=_("Follow the official calendar: weekends off, 调休 Saturdays on")
    )
    skip_holidays = models.BooleanField(_("skip public holidays"), default=True)
    start_time = models.TimeField(_("window starts"))
    end_time = models.TimeField(_("window ends"))
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="recurrence_window_ordered")]


class Order(TimeStampedModel):
    """One requested service visit, from request to rating. Status changes only through operations.

    The visit-verification (EVV) elements live here: item (service type), elder, caregiver,
    date and location (check-in / check-out coordinates), start and end time.
    """

    # No index of their own for provider, elder and caregiver: the indexes below begin with each, and every
    # index is one more entry to write on each of an order's half-dozen changes of status.
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="orders", db_index=False)
    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="orders", db_index=False)
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.REQUESTED)
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.HOTLINE)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=128, blank=True)
    recurrence = models.ForeignKey(Recurrence, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    service_date = models.DateField(_("service date"))
    caregiver = models.ForeignKey(Caregiver, null=True, blank=True, on_delete=models.PROTECT, related_name="orders", db_index=False)
    price_fen = models.PositiveIntegerField(_("price (fen)"))
    subsidy_fen = models.PositiveIntegerField(_("paid by subsidy (fen)"), default=0)
    copay_fen = models.PositiveIntegerField(_("co-payment (fen)"), default=0)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    # Check-in and check-out: the device's own time and the time the server received it.
    checkin_at = models.DateTimeField(null=True, blank=True)
    checkin_received_at = models.DateTimeField(null=True, blank=True)
    checkin_lat = models.FloatField(null=True, blank=True)
    checkin_lng = models.FloatField(null=True, blank=True)
    checkin_distance_m = models.PositiveIntegerField(null=True, blank=True)
    checkout_at = models.DateTimeField(null=True, blank=True)
    checkout_received_at = models.DateTimeField(null=True, blank=True)
    checkout_lat = models.FloatField(null=True, blank=True)
    checkout_lng = models.FloatField(null=True, blank=True)
    checkout_distance_m = models.PositiveIntegerField(null=True, blank=True)
    elder_confirmed = models.BooleanField(_("confirmed by the elder"), default=False)
    audit_flags = models.JSONField(default=list, blank=True)
    audit_notes = models.JSONField(default=list, blank=True)
    audited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    audited_at = models.DateTimeField(null=True, blank=True)
    audit_comment = models.CharField(_("audit comment"), max_length=500, blank=True)

    class Meta:
        ordering = ["window_start", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="order_window_ordered"),
            models.CheckConstraint(condition=Q(subsidy_fen__lte=models.F("price_fen")), name="order_subsidy_within_price"),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"], condition=~Q(idempotency_key=""), name="order_idempotency_key_unique"
            ),
            models.UniqueConstraint(
                fields=["recurrence", "service_date"], condition=Q(recurrence__isnull=False), name="one_order_per_recurrence_day"
            ),
        ]
        indexes = [
            # A caregiver's history grows by thousands of visits a year; these keep the per-visit checks to
            # the few visits that matter. Clash on assignment: visits that end after this one starts.
            models.Index(fields=["caregiver", "window_end"], name="order_caregiver_window_end"),
            # The audit's overlap checks: visits that were checked out after this one was checked in.
            models.Index(fields=["caregiver", "checkout_at"], name="order_caregiver_checkout"),
            models.Index(fields=["elder", "checkout_at"], name="order_elder_checkout"),
            models.Index(fields=["provider", "status", "window_start"], name="order_provider_status"),
            # The dispatch queue: orders nobody has taken yet.
            models.Index(
                fields=["provider", "window_start"], condition=Q(status__in=["requested", "accepted"]), name="order_dispatch_queue"
            ),
            models.Index(fields=["status"], condition=Q(status="flagged"), name="order_audit_queue"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.item} · {self.elder}"

    @property
    def duration_minutes(self) -> int | None:
        if self.checkin_at and self.checkout_at:
            return int((self.checkout_at - self.checkin_at).total_seconds() // 60)
        return None


class OrderTransition(models.Model):
    """One row per status change: who, when, from, to, why. Append-only."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    device_time = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.from_status or '-'} → {self.to_status}"


class TaskOutcome(TimeStampedModel):
    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        NOT_DONE = "not_done", _("Not done")
        REFUSED = "refused", _("Refused by the elder")

    # Indexed by the unique (order, task_code) below.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="task_outcomes", db_index=False)
    task_code = models.CharField(max_length=48)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    note = models.CharField(max_length=255, blank=True)
    device_time = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "task_code"], name="one_outcome_per_task")]


class Rating(TimeStampedModel):
    """The elder's or family's verdict. A low score opens a follow-up for the provider and the officer."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    follow_up_open = models.BooleanField(default=False)
    follow_up_note = models.CharField(max_length=500, blank=True)
    follow_up_closed_at = models.DateTimeField(null=True, blank=True)
    follow_up_closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="rating_score_1_to_5")]
        indexes = [models.Index(fields=["order"], condition=Q(follow_up_open=True), name="rating_follow_up_queue")]
