from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township / street")
    VILLAGE = "village", _("Village / community")


LEVEL_DEPTH = {Level.PROVINCE: 0, Level.CITY: 1, Level.COUNTY: 2, Level.TOWNSHIP: 3, Level.VILLAGE: 4}


class Region(TimeStampedModel):
    """An administrative division with its national statistical code.

    `path` is the chain of codes from the root ("331100/331102/331102001/"), so a
    subtree is one indexed prefix query and needs no recursion.
    """

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=64)
    alias = models.CharField(_("alias"), max_length=64, blank=True, help_text=_("Another name in use, e.g. in map data"))
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, db_index=True, editable=False)
    # WGS-84; converted from the source datum on import.
    lng = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["path"], name="region_path_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/")

    def ancestors(self) -> list["Region"]:
        codes = self.path.strip("/").split("/")[:-1]
        found = {r.code: r for r in Region.objects.filter(code__in=codes)}
        return [found[c] for c in codes if c in found]

    def full_name(self) -> str:
        return "".join(r.name for r in [*self.ancestors(), self] if r.level != Level.PROVINCE)
