"""The volunteer time bank (时间银行): volunteers, claims, and the hour ledger (minutes).

Accounts: ISSUANCE (one; the other side of every credited service, runs negative by design),
PERSON (a volunteer's user account, or an elder's, for hours transferred to them), REDEEMED (one;
hours spent on services). Hours are valid across all of Lishui (通存通兑): accounts have no region;
entries carry the region where the service happened, for the officers' totals.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiyang.core.models import TimeStampedModel
from yiyang.people.models import age_on
from yiyang.subsidies.ledger import LedgerAccount, LedgerEntry, balance_constraint, entry_constraints

ELDER_VOLUNTEER_AGE = 60


class Volunteer(TimeStampedModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="volunteer_profile")
    name = models.CharField(_("name"), max_length=64)
    birth_date = models.DateField(_("birth date"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("serves in"))
    # When the volunteer is also in the elder registry.
    elder = models.OneToOneField("people.Elder", null=True, blank=True, on_delete=models.PROTECT, related_name="volunteer_profile")
    skills = models.CharField(_("what I can help with"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["birth_date"], name="volunteer_birth", condition=models.Q(is_active=True))]

    def __str__(self) -> str:
        return self.name

    @property
    def is_elder_volunteer(self) -> bool:
        """Counted for indicator 18 (elder volunteers): 60 or older."""
        return age_on(self.birth_date, date.today()) >= ELDER_VOLUNTEER_AGE


class HourAccountKind(models.TextChoices):
    ISSUANCE = "issuance", _("Issuance")
    PERSON = "person", _("Personal")
    REDEEMED = "redeemed", _("Redeemed")


class HourAccount(LedgerAccount):
    NEGATIVE_KINDS = frozenset({HourAccountKind.ISSUANCE})

    kind = models.CharField(max_length=8, choices=HourAccountKind.choices)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="hour_account")
    elder = models.OneToOneField("people.Elder", null=True, blank=True, on_delete=models.PROTECT, related_name="hour_account")

    class Meta:
        constraints = [
            balance_constraint(frozenset({HourAccountKind.ISSUANCE}), "hour_account_not_below_zero"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(kind__in=["issuance", "redeemed"]), name="one_hour_system_account_per_kind"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="person")
                | (models.Q(user__isnull=False, elder__isnull=True) | models.Q(user__isnull=True, elder__isnull=False)),
                name="hour_person_account_has_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def holder_name(self) -> str:
        if self.user_id:
            return str(self.user)
        if self.elder_id:
            return self.elder.name
        return self.get_kind_display()


class HourSource(models.TextChoices):
    SERVICE = "service", _("Service through an order")
    CLAIM = "claim", _("Confirmed claim")
    TRANSFER = "transfer", pgettext_lazy("time bank", "Transfer")
    REDEMPTION = "redemption", _("Redemption")
    CORRECTION = "correction", _("Correction")


class HourEntry(LedgerEntry):
    debit = models.ForeignKey(HourAccount, on_delete=models.PROTECT, related_name="debits")
    credit = models.ForeignKey(HourAccount, on_delete=models.PROTECT, related_name="credits")
    source = models.CharField(_("source"), max_length=12, choices=HourSource.choices)
    # Where the service happened (the served elder's residence), for totals by region.
    region = models.ForeignKey("regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey("people.Elder", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    order_ref = models.CharField(max_length=64, blank=True, default="")
    claim = models.OneToOneField("Claim", null=True, blank=True, on_delete=models.PROTECT, related_name="entry")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            *entry_constraints("hour_entry"),
            models.UniqueConstraint(fields=["order_ref"], condition=models.Q(source="service"), name="one_hour_credit_per_order"),
        ]


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


CLAIM_TRANSITIONS = {
    ClaimStatus.PENDING: {ClaimStatus.CONFIRMED, ClaimStatus.REJECTED},
    ClaimStatus.CONFIRMED: set(),
    ClaimStatus.REJECTED: set(),
}


class Claim(TimeStampedModel):
    """Help given outside the order flow; credited only when the elder or the community worker confirms it."""

    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="claims")
    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="volunteer_claims")
    served_on = models.DateField(_("served on"))
    minutes = models.PositiveIntegerField(_("minutes"))
    description = models.CharField(_("what was done"), max_length=255)
    status = models.CharField(_("status"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.PENDING)

    class Meta:
        ordering = ["-served_on", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(minutes__gt=0, minutes__lte=600), name="claim_minutes_range")]
        indexes = [models.Index(fields=["elder"], condition=models.Q(status="pending"), name="claims_pending")]

    def __str__(self) -> str:
        return f"{self.volunteer_id} {self.served_on} {self.minutes}"


class ClaimTransition(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=10, choices=ClaimStatus.choices)
    to_status = models.CharField(max_length=10, choices=ClaimStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.from_status}->{self.to_status}"
