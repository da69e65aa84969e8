from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiyang.core.models import TimeStampedModel


class VisitPlan(TimeStampedModel):
    """The month's visits in one township (or the deepest region an elder is registered in), and who does them."""

    month = models.DateField(_("month"), help_text=_("First day of the month"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("township"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="visit_plans", verbose_name=_("assigned to")
    )

    class Meta:
        ordering = ["-month", "region__code"]
        constraints = [
            models.UniqueConstraint(fields=["month", "region"], name="one_visit_plan_per_month_and_region"),
            models.CheckConstraint(condition=Q(month__day=1), name="visit_plan_month_is_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.month:%Y-%m}"


class ItemKind(models.TextChoices):
    RULE = "rule", _("Required by the visit rule")
    EXTRA = "extra", _("Extra visit")


class ItemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CANCELLED = "cancelled", _("Cancelled")


class VisitPlanItem(TimeStampedModel):
    """One elder due for visits in one month (kind=rule), or one extra visit asked for by an event (kind=extra)."""

    plan = models.ForeignKey(VisitPlan, on_delete=models.PROTECT, related_name="items")
    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="visit_items", verbose_name=_("elder"))
    month = models.DateField(_("month"))
    # Denormalised from the plan for grouping coverage by county and township without joins through paths.
    county = models.ForeignKey("regions.Region", null=True, on_delete=models.PROTECT, related_name="+")
    township = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=ItemKind.choices, default=ItemKind.RULE)
    status = models.CharField(_("status"), max_length=12, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    groups = models.JSONField(_("groups"), default=list, blank=True)
    required_visits = models.PositiveSmallIntegerField(_("visits required"), default=1)
    due_by = models.DateField(_("due by"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=64, blank=True, help_text=_("What asked for an extra visit, e.g. guardian alert 42"))
    visit_count = models.PositiveSmallIntegerField(_("visits made"), default=0)
    last_visited_on = models.DateField(_("last visited on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["due_by", "elder__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["elder", "month"], condition=Q(kind="rule"), name="one_rule_visit_item_per_elder_month"),
        ]
        indexes = [
            models.Index(fields=["month", "township", "kind", "status"], name="visit_item_coverage"),
            models.Index(fields=["month", "county", "kind", "status"], name="visit_item_county"),
        ]

    def __str__(self) -> str:
        return f"{self.elder} {self.month:%Y-%m} {self.kind}"

    @property
    def is_visited(self) -> bool:
        return self.visit_count > 0

    @property
    def is_complete(self) -> bool:
        return self.visit_count >= self.required_visits


class VisitMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("By phone")


class Health(models.TextChoices):
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    POOR = "poor", _("Poor")


class Mood(models.TextChoices):
    GOOD = "good", _("Good")
    LOW = "low", pgettext_lazy("mood", "Low")
    DISTRESSED = "distressed", _("Distressed")


class Home(models.TextChoices):
    OK = "ok", _("Safe and clean")
    NEEDS_ATTENTION = "attention", _("Needs attention")
    UNSAFE = "unsafe", _("Unsafe")


class Need(models.TextChoices):
    MEAL = "meal", _("Meals")
    CLEANING = "cleaning", _("Cleaning")
    BATHING = "bathing", _("Bathing")
    MEDICAL = "medical", _("Medical escort / care")
    MOBILITY = "mobility", _("Mobility help")
    REPAIR = "repair", _("Home repair or adaptation")
    COMPANY = "company", _("Company and mental support")
    FINANCIAL = "financial", _("Financial hardship")
    EMERGENCY = "emergency", _("Urgent help")
    OTHER = "other", _("Other")


def _photo_path(instance, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower()
    return f"visits/{instance.visited_on:%Y/%m}/{instance.elder_id}-{instance.visited_on:%d}.{ext}"


class Visit(TimeStampedModel):
    """A visit made (or a call) and what was found."""

    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="visits", verbose_name=_("elder"))
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("visitor"))
    visited_on = models.DateField(_("visited on"), db_index=True)
    mode = models.CharField(_("mode"), max_length=12, choices=VisitMode.choices)
    health = models.CharField(_("health"), max_length=8, choices=Health.choices)
    mood = models.CharField(_("mood"), max_length=12, choices=Mood.choices)
    home = models.CharField(_("home"), max_length=12, choices=Home.choices)
    safety_concern = models.BooleanField(_("safety concern"), default=False)
    needs = models.JSONField(_("needs found"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    photo = models.FileField(_("photo"), upload_to=_photo_path, blank=True)
    item = models.ForeignKey(VisitPlanItem, null=True, blank=True, on_delete=models.PROTECT, related_name="visits")
    follow_up = models.CharField(_("follow-up"), max_length=255, blank=True)

    class Meta:
        ordering = ["-visited_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.elder} {self.visited_on}"
