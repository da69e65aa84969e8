from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class ElderStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DECEASED = "deceased", _("Deceased")
    MOVED_AWAY = "moved_away", _("Moved away")


class LivingArrangement(models.TextChoices):
    ALONE = "alone", _("Living alone")
    EMPTY_NEST = "empty_nest", _("Empty nest")
    WITH_FAMILY = "with_family", _("With family")
    INSTITUTION = "institution", _("In an institution")


class Elder(TimeStampedModel):
    """One person's file (一人一档). Scope follows `residence_region`."""

    name = models.CharField(_("name"), max_length=64, db_index=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    residence_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="resident_elders", verbose_name=_("residence region")
    )
    hukou_region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="hukou_elders", verbose_name=_("hukou region")
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    living_arrangement = models.CharField(
        _("living arrangement"), max_length=16, choices=LivingArrangement.choices, default=LivingArrangement.WITH_FAMILY
    )
    status = models.CharField(_("status"), max_length=16, choices=ElderStatus.choices, default=ElderStatus.ACTIVE)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class ElderLink(TimeStampedModel):
    """Scope part 3: a user account related to an elder (a family member, or the elder's own account)."""

    class Relation(models.TextChoices):
        SELF = "self", _("Self")
        CHILD = "child", _("Child")
        SPOUSE = "spouse", _("Spouse")
        RELATIVE = "relative", _("Other relative")
        GUARDIAN = "guardian", _("Guardian")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="elder_links")
    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="user_links")
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "elder"], name="one_link_per_user_and_elder")]
