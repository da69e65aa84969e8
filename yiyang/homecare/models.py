from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class Provider(TimeStampedModel):
    """A home-care service organisation and the townships it serves."""

    name = models.CharField(_("name"), max_length=128)
    licence_no = models.CharField(_("licence number"), max_length=64, blank=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("registered in"))
    service_regions = models.ManyToManyField("regions.Region", blank=True, related_name="providers", verbose_name=_("service area"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
