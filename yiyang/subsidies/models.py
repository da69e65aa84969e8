"""Subsidy programmes, monthly grants with their explanation, the voucher ledger and provider settlement.

The voucher ledger (fen):
- FUNDING, one per programme: the other side of every grant; runs negative by design.
- VOUCHER, one per grant (elder x programme x month): a "lot"; spends take the oldest lot first.
- PROVIDER, one per provider x programme: what the programme owes the provider for paid visits.
- PAID_OUT, one per provider x programme: what settlements have paid the provider; a refund of an
  order whose month is closed takes the money back from here when the payable cannot cover it.
- EXPIRED, one per programme: month-end expiry of lots of programmes without carry-over.
Sum over all accounts is zero; only FUNDING may be below zero (check constraint).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel
from yiyang.subsidies.ledger import LedgerAccount, LedgerEntry, balance_constraint, entry_constraints

# The service categories of the home-care menu (助餐 助浴 助洁 助医 助急 助行 ...).
SERVICE_CATEGORIES: list[tuple[str, object]] = [
    # The same codes as homecare.catalogue.CATEGORIES; used until the catalogue is loaded.
    ("meal", _("Meal help")),
    ("bath", _("Bathing help")),
    ("clean", _("Cleaning help")),
    ("medical", _("Medical escort")),
    ("emergency", _("Emergency help")),
    ("mobility", _("Mobility help")),
    ("rehab", _("Rehabilitation care")),
    ("comfort", _("Companionship")),
]


def service_categories() -> list[tuple[str, object]]:
    """The home-care menu's categories (homecare.ServiceCategory) when loaded, else the plan's list."""
    try:
        from yiyang.homecare.models import ServiceCategory

        rows = list(ServiceCategory.objects.values_list("code", "name"))
    except (ImportError, AttributeError):
        rows = []
    return rows or SERVICE_CATEGORIES


class ProgrammeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class Programme(TimeStampedModel):
    """A subsidy programme. Eligibility is data (`rule`, `tiers`), see rules.py."""

    name = models.CharField(_("name"), max_length=128)
    funding_source = models.CharField(_("funding source"), max_length=128, help_text=_("e.g. 福彩公益金"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    starts_on = models.DateField(_("first month"))
    ends_on = models.DateField(_("last month"), null=True, blank=True)
    rule = models.JSONField(_("eligibility rule"), default=list, blank=True)
    # [{"key": "a", "label": "...", "all": [conditions], "amount_fen": 20000}, ...]; the first that holds wins.
    tiers = models.JSONField(_("tiers"), default=list)
    categories = models.JSONField(_("service categories covered"), default=list)
    carry_over = models.BooleanField(_("unused balance carries over"), default=False)
    status = models.CharField(_("status"), max_length=8, choices=ProgrammeStatus.choices, default=ProgrammeStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")), name="programme_period"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def covers(self, category: str) -> bool:
        return category in self.categories

    def runs_in(self, period) -> bool:
        return self.starts_on <= period and (self.ends_on is None or period <= self.ends_on)


class AccountKind(models.TextChoices):
    FUNDING = "funding", _("Funding")
    VOUCHER = "voucher", _("Elder voucher")
    PROVIDER = "provider", _("Provider payable")
    PAID_OUT = "paid_out", _("Paid out")
    EXPIRED = "expired", _("Expired")


class Account(LedgerAccount):
    NEGATIVE_KINDS = frozenset({AccountKind.FUNDING})

    kind = models.CharField(_("kind"), max_length=8, choices=AccountKind.choices)
    # Indexes are few on purpose: the monthly grant inserts one account per eligible elder.
    # Programme lookups use the partial unique indexes below, provider lookups the partial index.
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="accounts", db_index=False)
    elder = models.ForeignKey("people.Elder", null=True, blank=True, on_delete=models.PROTECT, related_name="voucher_accounts")
    provider = models.ForeignKey(
        "homecare.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="voucher_accounts", db_index=False
    )
    # For VOUCHER lots: the month granted (first day). Oldest first when spending.
    period = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            balance_constraint(frozenset({AccountKind.FUNDING}), "voucher_account_not_below_zero"),
            models.UniqueConstraint(
                fields=["kind", "programme"], condition=models.Q(kind__in=["funding", "expired"]), name="one_programme_account_per_kind"
            ),
            models.UniqueConstraint(
                fields=["programme", "elder", "period"], condition=models.Q(kind="voucher"), name="one_lot_per_elder_month"
            ),
            models.UniqueConstraint(
                fields=["kind", "programme", "provider"],
                condition=models.Q(kind__in=["provider", "paid_out"]),
                name="one_provider_account_per_kind",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="voucher") | models.Q(elder__isnull=False, period__isnull=False),
                name="voucher_lot_has_elder_and_month",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["provider", "paid_out"]) | models.Q(provider__isnull=False),
                name="provider_account_has_provider",
            ),
        ]
        indexes = [
            models.Index(fields=["provider"], name="voucher_accounts_of_provider", condition=models.Q(provider__isnull=False)),
            models.Index(fields=["programme"], name="voucher_programme_accounts", condition=~models.Q(kind="voucher")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class EntrySource(models.TextChoices):
    GRANT = "grant", _("Grant")
    ORDER = "order", _("Order")
    REFUND = "refund", _("Refund")
    EXPIRY = "expiry", _("Expiry")
    SETTLEMENT = "settlement", _("Settlement")
    CORRECTION = "correction", _("Correction")


class Entry(LedgerEntry):
    debit = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    credit = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    source = models.CharField(_("source"), max_length=12, choices=EntrySource.choices)
    # Booking month (first day). Settlement closes a provider's month; nothing is booked into a closed month.
    period = models.DateField(_("month"))
    order_ref = models.CharField(_("order"), max_length=64, blank=True, default="")
    category = models.CharField(_("service category"), max_length=32, blank=True, default="")
    # Indexed by the partial unique constraint below only (almost every entry has none).
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by", db_index=False)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            *entry_constraints("voucher_entry"),
            models.UniqueConstraint(fields=["reverses"], condition=models.Q(reverses__isnull=False), name="voucher_entry_reversed_once"),
        ]
        indexes = [models.Index(fields=["order_ref"], name="voucher_entry_order", condition=~models.Q(order_ref=""))]


class GrantRun(models.Model):
    """One monthly grant of one programme. Its existence makes the month's grant idempotent."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="runs")
    period = models.DateField(_("month"))
    started_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    granted = models.PositiveIntegerField(default=0)
    total_fen = models.BigIntegerField(default=0)
    expired_fen = models.BigIntegerField(default=0)
    programme_version = models.PositiveIntegerField(default=1)
    # The rule every grant of this run was tested against (region, conditions, tiers), stored once per run.
    rule = models.JSONField(default=dict)

    class Meta:
        ordering = ["-period", "programme_id"]
        constraints = [models.UniqueConstraint(fields=["programme", "period"], name="one_grant_run_per_month")]

    def __str__(self) -> str:
        return f"{self.programme_id} {self.period:%Y-%m}"


class Grant(models.Model):
    """One elder's entitlement for one month, with the explanation as it stood when granted."""

    run = models.ForeignKey(GrantRun, on_delete=models.PROTECT, related_name="grants")
    # Covered by the (programme, elder, period) unique index.
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="grants", db_index=False)
    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="voucher_grants")
    period = models.DateField(_("month"))
    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="grant")
    tier = models.CharField(_("tier"), max_length=32)
    amount_fen = models.BigIntegerField(_("amount"))
    # The facts about the elder that made them eligible, as they stood on the first day of the month;
    # the rule they were tested against is the run's.
    facts = models.JSONField(default=dict)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "elder", "period"], name="one_grant_per_elder_month"),
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="grant_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.elder_id} {self.period:%Y-%m} {self.amount_fen}"


class Spend(models.Model):
    """The vouchers one order took (idempotency per order reference); entries carry the detail."""

    order_ref = models.CharField(max_length=64, unique=True)
    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey("homecare.Provider", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=32)
    asked_fen = models.BigIntegerField()
    covered_fen = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(covered_fen__gte=0, covered_fen__lte=models.F("asked_fen")), name="spend_within_ask")
        ]

    def __str__(self) -> str:
        return self.order_ref


class Refund(models.Model):
    """An order's vouchers were given back (once)."""

    spend = models.OneToOneField(Spend, on_delete=models.PROTECT, related_name="refund")
    refunded_fen = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"refund {self.spend_id}"


class Settlement(models.Model):
    """A provider's closed month. Once it exists, nothing more is booked for that provider and month."""

    provider = models.ForeignKey("homecare.Provider", on_delete=models.PROTECT, related_name="settlements")
    period = models.DateField(_("month"))
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    total_fen = models.BigIntegerField(default=0)
    # {programme_id: {"name": ..., "spent": fen, "refunded": fen, "net": fen, "visits": n}}
    totals = models.JSONField(default=dict)

    class Meta:
        ordering = ["-period", "provider_id"]
        constraints = [models.UniqueConstraint(fields=["provider", "period"], name="one_settlement_per_provider_month")]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.period:%Y-%m}"


class FlagKind(models.TextChoices):
    AFTER_DEATH = "after_death", _("Spent after the elder's recorded death")
    AFTER_MOVE = "after_move", _("Spent after the elder moved away")
    OVERLAP = "overlap", _("Visit overlaps another visit of the same elder")
    INSTITUTION = "institution", _("Elder lives in an institution")


class Flag(TimeStampedModel):
    """A voucher spend that does not fit other records, for an officer to review."""

    kind = models.CharField(_("kind"), max_length=16, choices=FlagKind.choices)
    order_ref = models.CharField(_("order"), max_length=64)
    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="voucher_flags")
    detail = models.JSONField(default=dict, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    review_note = models.CharField(_("review note"), max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "order_ref"], name="one_flag_per_kind_and_order")]
        indexes = [models.Index(fields=["created_at"], name="voucher_flags_open", condition=models.Q(reviewed_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_ref}"


class Notification(models.Model):
    """A notice to a family member's or elder's account. The platform has no general outbox yet
    (guardian's outbox is tied to alerts), so grants notify through this table, shown on the balance page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subsidy_notifications")
    elder = models.ForeignKey("people.Elder", on_delete=models.CASCADE, related_name="+")
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    # Rendered in the reader's language when shown: "grant" with the grant's programme, month and amount.
    kind = models.CharField(max_length=16, default="grant")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "grant"], name="one_notification_per_user_grant")]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.user_id}"
