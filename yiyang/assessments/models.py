from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    SUPERSEDED = "superseded", _("Superseded")
    DISCARDED = "discarded", _("Discarded")


# The one table of allowed transitions. A submitted assessment is never edited: it is
# only superseded by the next submitted one for the same elder.
TRANSITIONS: dict[str, set[str]] = {
    AssessmentStatus.DRAFT: {AssessmentStatus.SUBMITTED, AssessmentStatus.DISCARDED},
    AssessmentStatus.SUBMITTED: {AssessmentStatus.SUPERSEDED},
    AssessmentStatus.SUPERSEDED: set(),
    AssessmentStatus.DISCARDED: set(),
}


class AssessmentReason(models.TextChoices):
    INITIAL = "initial", _("First assessment")
    PERIODIC = "periodic", _("Periodic re-assessment")
    CHANGE = "change", _("Change in condition")
    APPLICATION = "application", _("Application for a service or subsidy")


class Assessment(TimeStampedModel):
    """One GB/T 42195 ability assessment of one elder; the answers are item code -> option score."""

    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="assessments", verbose_name=_("elder"))
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("assessor"))
    status = models.CharField(_("status"), max_length=12, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    reason = models.CharField(_("reason"), max_length=16, choices=AssessmentReason.choices, default=AssessmentReason.INITIAL)
    scale_version = models.CharField(_("scale version"), max_length=64)
    assessed_on = models.DateField(_("assessed on"))
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    coma = models.BooleanField(_("in a coma"), default=False)
    dementia = models.BooleanField(_("diagnosed dementia (ICD-10 F00-F03)"), default=False)
    mental_disorder = models.BooleanField(_("other mental or behavioural disorder (ICD-10 F04-F99)"), default=False)
    care_risk_events_30d = models.PositiveSmallIntegerField(_("care-risk events in the last 30 days"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    # Filled on submission, never changed afterwards.
    dimension_scores = models.JSONField(default=dict, blank=True)
    total = models.PositiveSmallIntegerField(_("total"), null=True, blank=True)
    preliminary_grade = models.PositiveSmallIntegerField(null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("level"), null=True, blank=True)
    level_key = models.CharField(max_length=16, blank=True)
    level_name = models.CharField(_("level"), max_length=32, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-assessed_on", "-pk"]
        constraints = [
            # At most one current (submitted) assessment per elder: re-assessment supersedes it.
            models.UniqueConstraint(fields=["elder"], condition=Q(status="submitted"), name="one_current_assessment_per_elder"),
            models.CheckConstraint(
                condition=~Q(status="submitted") | Q(total__isnull=False, grade__isnull=False, valid_until__isnull=False),
                name="submitted_assessment_is_scored",
            ),
        ]
        indexes = [models.Index(fields=["status", "valid_until"], name="assessment_due")]

    def __str__(self) -> str:
        return f"{self.elder} {self.assessed_on} {self.level_name or self.get_status_display()}"

    @property
    def is_editable(self) -> bool:
        return self.status == AssessmentStatus.DRAFT


class AssessmentTransition(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=AssessmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=AssessmentStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
