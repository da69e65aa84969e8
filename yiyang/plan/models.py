"""The plan: its indicators and their values by region and period, its major tasks and key projects.

Values of both sources live in one table (`IndicatorValue`), like a metric's data points:
computed rows are snapshots written by the scheduled job, reported rows are entered by a
responsible unit and approved by the level above. A period is a string, "2024" (a year) or
"2024-03" (a month), so that a value is addressed the way people talk about it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class Plan(TimeStampedModel):
    """A five-year plan (the 13th plan is kept as history of the 14th)."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=128)
    base_year = models.PositiveSmallIntegerField(_("base year"))
    target_year = models.PositiveSmallIntegerField(_("target year"))
    is_current = models.BooleanField(_("current"), default=False)

    class Meta:
        ordering = ["-target_year"]

    def __str__(self) -> str:
        return self.name


class Source(models.TextChoices):
    COMPUTED = "computed", _("Computed by the platform")
    REPORTED = "reported", _("Reported by the responsible unit")


class Frequency(models.TextChoices):
    MONTH = "month", _("Monthly")
    YEAR = "year", _("Yearly")


class Indicator(TimeStampedModel):
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="indicators")
    no = models.PositiveSmallIntegerField(_("number"))
    category = models.CharField(_("category"), max_length=32, blank=True)
    name = models.CharField(_("indicator"), max_length=128)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    # As printed; "/" in the plan is stored as blank text and no number.
    baseline_text = models.CharField(_("base value as printed"), max_length=32, blank=True)
    baseline = models.DecimalField(_("base value"), max_digits=14, decimal_places=4, null=True, blank=True)
    target_text = models.CharField(_("target as written"), max_length=64, blank=True)
    # For a past plan: the value reached at its end, as printed.
    final_text = models.CharField(_("final value as printed"), max_length=32, blank=True)
    responsible_unit = models.CharField(_("responsible unit"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=64, blank=True)
    flagged = models.BooleanField(_("flagged"), default=False)
    flag_reason = models.CharField(_("flag reason"), max_length=255, blank=True)

    class Meta:
        ordering = ["plan", "no"]
        constraints = [models.UniqueConstraint(fields=["plan", "no"], name="plan_indicator_no_unique")]

    def __str__(self) -> str:
        return f"{self.no}. {self.name}"

    @property
    def target(self):
        from yiyang.plan.targets import parse_target

        return parse_target(self.target_text, baseline=self.baseline)

    @property
    def definition(self):
        """The code definition that computes this indicator, when its data exists on the platform."""
        from yiyang.plan.indicators import definition_for

        return definition_for(self)

    @property
    def source(self) -> str:
        return Source.COMPUTED if self.definition is not None else Source.REPORTED

    @property
    def frequency(self) -> str:
        # Computed indicators are snapshotted monthly; reported ones are reported yearly.
        return Frequency.MONTH if self.source == Source.COMPUTED else Frequency.YEAR

    @property
    def flag_message(self) -> str:
        from yiyang.plan.targets import doubtful_target_reason

        return self.flag_reason or doubtful_target_reason(unit=self.unit, baseline=self.baseline, target=self.target)


class ValueStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted, awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Returned for correction")
    COMPUTED = "computed", _("Computed")


class IndicatorValue(TimeStampedModel):
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="values")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=7)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    status = models.CharField(_("status"), max_length=12, choices=ValueStatus.choices)
    # Null means "no data" (e.g. an empty denominator), never zero.
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4, null=True, blank=True)
    numerator = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    denominator = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    reporting_unit = models.CharField(_("reporting unit"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # A snapshot taken after its period ended is history: later data does not change it.
    final = models.BooleanField(default=False)

    class Meta:
        ordering = ["indicator", "region", "period"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "region", "period"], name="plan_value_unique"),
            models.CheckConstraint(
                condition=models.Q(source="computed", status="computed") | (models.Q(source="reported") & ~models.Q(status="computed")),
                name="plan_value_status_matches_source",
            ),
        ]
        indexes = [models.Index(fields=["region", "period"], name="plan_value_region_period")]

    def __str__(self) -> str:
        return f"{self.indicator.no} {self.region.code} {self.period}: {self.value}"


class ValueEvent(models.Model):
    """One row per change of a reported value: who, when, from which state to which, with the value."""

    value = models.ForeignKey(IndicatorValue, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    amount = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class ProvincialAverage(TimeStampedModel):
    """The reference series a "达到全省平均水平以上" target is read against, entered by a person."""

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="provincial_averages")
    period = models.CharField(_("period"), max_length=7)
    value = models.DecimalField(_("provincial average"), max_digits=14, decimal_places=4)
    source_note = models.CharField(_("source"), max_length=255, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["indicator", "period"]
        constraints = [models.UniqueConstraint(fields=["indicator", "period"], name="plan_provincial_average_unique")]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.period}: {self.value}"


class PeriodClose(models.Model):
    """A closed period: its values (reported and computed) no longer change."""

    period = models.CharField(_("period"), max_length=7, unique=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.period


class WorkStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    BLOCKED = "blocked", _("Blocked")


class WorkItem(TimeStampedModel):
    """Shared fields of a major task (附件1) and a key project (附件2)."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=255)
    category = models.CharField(_("category"), max_length=32, blank=True)
    due_year = models.PositiveSmallIntegerField(_("due year"))
    lead_unit = models.CharField(_("lead unit"), max_length=128)
    # Blank in the source and filled from the row above: shown as inferred until confirmed.
    lead_unit_inferred = models.BooleanField(_("lead unit inferred"), default=False)
    lead_unit_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lead_unit_confirmed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=WorkStatus.choices, default=WorkStatus.NOT_STARTED)

    class Meta:
        abstract = True

    @property
    def lead_unit_unconfirmed(self) -> bool:
        return self.lead_unit_inferred and self.lead_unit_confirmed_at is None

    def is_overdue(self, today) -> bool:
        # Due "in 2022" means by the end of 2022.
        return self.status != WorkStatus.COMPLETED and today.year > self.due_year


class MajorTask(WorkItem):
    no = models.PositiveSmallIntegerField(_("number"))

    class Meta:
        ordering = ["no"]
        constraints = [models.UniqueConstraint(fields=["plan", "no"], name="plan_task_no_unique")]

    def __str__(self) -> str:
        return f"{self.no}. {self.title}"


class KeyProject(WorkItem):
    seq = models.PositiveSmallIntegerField(_("number"))
    # The plan prints two rows "17" and none "16"; `seq` is clean, this keeps the printed number.
    no_as_printed = models.PositiveSmallIntegerField(_("number as printed"))
    nature = models.CharField(_("nature"), max_length=16, blank=True)
    planned_investment_fen = models.BigIntegerField(_("planned investment (fen)"))
    # Sum of the progress updates' amounts, updated under the same lock as the update row.
    invested_fen = models.BigIntegerField(_("invested so far (fen)"), default=0)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "seq"], name="plan_project_seq_unique"),
            models.CheckConstraint(condition=models.Q(invested_fen__gte=0), name="plan_project_invested_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.seq}. {self.title}"


class ProgressUpdate(models.Model):
    """A dated progress update of a task or a project. Append-only: a correction is a new update."""

    task = models.ForeignKey(MajorTask, null=True, blank=True, on_delete=models.PROTECT, related_name="updates")
    project = models.ForeignKey(KeyProject, null=True, blank=True, on_delete=models.PROTECT, related_name="updates")
    as_of = models.DateField(_("date of progress"))
    status = models.CharField(_("status"), max_length=12, choices=WorkStatus.choices)
    text = models.TextField(_("progress"))
    investment_fen = models.BigIntegerField(_("investment made in this update (fen)"), default=0)
    evidence = models.FileField(_("evidence file"), upload_to="plan/evidence/%Y/%m/", blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(task__isnull=False) & models.Q(project__isnull=True))
                | (models.Q(task__isnull=True) & models.Q(project__isnull=False)),
                name="plan_update_one_item",
            ),
            models.CheckConstraint(condition=models.Q(investment_fen__gte=0), name="plan_update_investment_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.as_of} {self.get_status_display()}"

    @property
    def investment_wan(self):
        """The amount in 10,000 yuan (万元), as it was entered."""
        from decimal import Decimal

        return (Decimal(self.investment_fen) / 1_000_000).normalize()
