from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yiyang.core.models import TimeStampedModel


class InstitutionKind(models.TextChoices):
    CARE_HOME = "care_home", _("Care home (养老院)")
    TOWNSHIP_HOME = "township_home", _("Township care home (敬老院)")
    NURSING_HOME = "nursing_home", _("Nursing home (护理院)")
    DAY_CARE = "day_care", _("Day-care centre (照料中心)")


class Operation(models.TextChoices):
    PUBLIC = "public", _("Public (公办)")
    PUBLIC_PRIVATE = "public_private", _("Publicly built, privately run (公建民营)")
    PRIVATE = "private", _("Private (民办)")


class Alliance(TimeStampedModel):
    """A care-and-wellness alliance (康养联合体) of institutions and health providers."""

    name = models.CharField(_("name"), max_length=128, unique=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    established_on = models.DateField(_("established on"), null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Institution(TimeStampedModel):
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=InstitutionKind.choices)
    operation = models.CharField(_("operation"), max_length=16, choices=Operation.choices)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    address = models.CharField(_("address"), max_length=255, blank=True)
    licence_no = models.CharField(_("licence number"), max_length=64, blank=True)
    licence_expires = models.DateField(_("licence expires"), null=True, blank=True)
    star_rating = models.PositiveSmallIntegerField(_("star rating"), null=True, blank=True)
    star_rated_on = models.DateField(_("rated on"), null=True, blank=True)
    smart_care_home = models.BooleanField(_("smart care home (智慧养老院)"), default=False)
    alliance = models.ForeignKey(
        Alliance, null=True, blank=True, on_delete=models.SET_NULL, related_name="members", verbose_name=_("alliance")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["region__code", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(star_rating__isnull=True, star_rated_on__isnull=True)
                | Q(star_rating__gte=1, star_rating__lte=5, star_rated_on__isnull=False),
                name="star_rating_1_to_5_with_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BedType(models.TextChoices):
    GENERAL = "general", _("General")
    NURSING = "nursing", _("Nursing-type (护理型)")
    COGNITIVE = "cognitive", _("Cognitive-care (认知障碍)")


class BedStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    OCCUPIED = "occupied", _("Occupied")
    MAINTENANCE = "maintenance", _("Under maintenance")
    CLOSED = "closed", _("Closed")


class Bed(TimeStampedModel):
    """A bed in an institution, or a home-care bed (家庭养老床位) at one elder's home."""

    institution = models.ForeignKey(Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="beds")
    home_elder = models.ForeignKey(
        "people.Elder", null=True, blank=True, on_delete=models.PROTECT, related_name="home_beds", verbose_name=_("home of")
    )
    code = models.CharField(_("bed number"), max_length=32)
    bed_type = models.CharField(_("type"), max_length=12, choices=BedType.choices, default=BedType.GENERAL)
    status = models.CharField(_("status"), max_length=12, choices=BedStatus.choices, default=BedStatus.AVAILABLE)
    # For a home-care bed: the assessment it was set up (or converted) with.
    assessment = models.ForeignKey("assessments.Assessment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["institution_id", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(institution__isnull=False, home_elder__isnull=True) | Q(institution__isnull=True, home_elder__isnull=False),
                name="bed_in_an_institution_or_at_a_home",
            ),
            models.UniqueConstraint(
                fields=["institution", "code"], condition=Q(institution__isnull=False), name="bed_code_unique_in_institution"
            ),
            models.UniqueConstraint(fields=["home_elder"], condition=~Q(status="closed"), name="one_open_home_bed_per_elder"),
        ]

    def __str__(self) -> str:
        return f"{self.institution or self.home_elder} {self.code}"

    @property
    def is_home_bed(self) -> bool:
        return self.home_elder_id is not None


class Residency(TimeStampedModel):
    """An elder's stay in an institution bed: admission to discharge."""

    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="residencies", verbose_name=_("elder"))
    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, related_name="residencies")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="residencies")
    admitted_on = models.DateField(_("admitted on"))
    discharged_on = models.DateField(_("discharged on"), null=True, blank=True)
    discharge_reason = models.CharField(_("discharge reason"), max_length=255, blank=True)
    previous_living_arrangement = models.CharField(max_length=16, blank=True)
    assessment = models.ForeignKey("assessments.Assessment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-admitted_on", "-pk"]
        constraints = [
            # No elder in two beds at once; no bed with two residents at once.
            models.UniqueConstraint(fields=["elder"], condition=Q(discharged_on__isnull=True), name="one_open_residency_per_elder"),
            models.UniqueConstraint(fields=["bed"], condition=Q(discharged_on__isnull=True), name="one_open_residency_per_bed"),
            models.CheckConstraint(
                condition=Q(discharged_on__isnull=True) | Q(discharged_on__gte=models.F("admitted_on")), name="discharge_after_admission"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.elder} @ {self.institution}"


class StaffRole(models.TextChoices):
    CARE_WORKER = "care_worker", _("Care worker (养老护理员)")
    NURSE = "nurse", _("Nurse")
    DOCTOR = "doctor", _("Doctor")
    SOCIAL_WORKER = "social_worker", _("Social worker")
    MANAGER = "manager", _("Manager")
    OTHER = "other", _("Other")


class Staff(TimeStampedModel):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="staff")
    name = models.CharField(_("name"), max_length=64)
    role = models.CharField(_("role"), max_length=16, choices=StaffRole.choices)
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "staff"

    def __str__(self) -> str:
        return self.name


class CertificateKind(models.TextChoices):
    CARE_WORKER = "care_worker", _("Elderly care worker (养老护理员职业技能等级证书)")
    NURSE = "nurse", _("Nurse practising certificate")
    SOCIAL_WORKER = "social_worker", _("Social worker certificate")
    OTHER = "other", _("Other")


class Certificate(TimeStampedModel):
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="certificates")
    kind = models.CharField(_("kind"), max_length=16, choices=CertificateKind.choices)
    level = models.PositiveSmallIntegerField(_("skill level (1-5)"), null=True, blank=True)
    number = models.CharField(_("certificate number"), max_length=64)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        ordering = ["kind", "issued_on"]
        constraints = [
            models.CheckConstraint(condition=Q(level__isnull=True) | Q(level__gte=1, level__lte=5), name="certificate_level_1_to_5"),
            models.UniqueConstraint(fields=["kind", "number"], name="certificate_number_unique_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


# Inspections: 双随机、一公开 ----------------------------------------------------------------------


class DrawStatus(models.TextChoices):
    ACTIVE = "active", _("In force")
    VOIDED = "voided", _("Voided")


class InspectionDraw(TimeStampedModel):
    """One random draw of institutions and inspector pairs for a period and region.

    The seed and the candidate lists are recorded, so anyone can redo the draw and get the same
    result (`draw_compute` in operations). A draw is never changed or deleted; a new draw for the
    same region and period needs the previous one voided, with a reason, and both stay on record.
    """

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    period = models.CharField(_("period"), max_length=16, help_text=_("e.g. 2026-Q1 or 2026-H2"))
    seed = models.CharField(_("seed"), max_length=64)
    algorithm = models.CharField(max_length=32)
    sample_size = models.PositiveSmallIntegerField(_("institutions drawn"))
    institution_candidates = models.JSONField(default=list)
    inspector_candidates = models.JSONField(default=list)
    result = models.JSONField(default=list, help_text="[[institution_id, inspector_a_id, inspector_b_id], ...]")
    status = models.CharField(_("status"), max_length=8, choices=DrawStatus.choices, default=DrawStatus.ACTIVE)
    void_reason = models.CharField(_("reason for voiding"), max_length=255, blank=True)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["region", "period"], condition=Q(status="active"), name="one_active_draw_per_region_period"),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.period}"


class InspectionResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    RECTIFY = "rectify", _("Passed with fixes required")
    FAILED = "failed", pgettext_lazy("inspection result", "Failed")


class InspectionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Inspected")
    CANCELLED = "cancelled", _("Cancelled")


class Inspection(TimeStampedModel):
    draw = models.ForeignKey(InspectionDraw, on_delete=models.PROTECT, related_name="inspections")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="inspections")
    inspector_a = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    inspector_b = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=InspectionStatus.choices, default=InspectionStatus.PLANNED)
    inspected_on = models.DateField(_("inspected on"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=12, choices=InspectionResult.choices, blank=True)
    summary = models.TextField(_("summary (public, no personal data)"), blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        ordering = ["-draw__created_at", "institution__name"]
        constraints = [models.CheckConstraint(condition=~Q(inspector_a=models.F("inspector_b")), name="inspectors_are_two_people")]

    def __str__(self) -> str:
        return f"{self.institution} {self.draw.period}"


class FindingStatus(models.TextChoices):
    OPEN = "open", _("To be fixed")
    RESOLVED = "resolved", _("Fixed (re-checked)")
    UNRESOLVED = "unresolved", _("Not fixed at re-check")


class Finding(TimeStampedModel):
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="findings")
    description = models.CharField(_("finding (public, no personal data)"), max_length=500)
    deadline = models.DateField(_("fix by"))
    status = models.CharField(_("status"), max_length=12, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    rechecked_on = models.DateField(_("re-checked on"), null=True, blank=True)
    rechecked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recheck_note = models.CharField(_("re-check note"), max_length=500, blank=True)

    class Meta:
        ordering = ["deadline", "pk"]

    def __str__(self) -> str:
        return self.description[:40]
