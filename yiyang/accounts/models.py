import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.accounts.roles import Role
from yiyang.core.models import TimeStampedModel


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.ELDER)
    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    # Scope part 3, for a reporting unit's user: the unit it enters plan values for, spelt as the plan's
    # indicators name their responsible unit (e.g. 市卫生健康委).
    unit = models.CharField(
        _("unit"), max_length=64, blank=True, help_text=_("For a reporting unit: the responsible unit as the plan names it.")
    )
    # Scope part 1: the regions (subtrees) this user may see.
    regions = models.ManyToManyField("regions.Region", blank=True, related_name="users", verbose_name=_("regions"))
    # Scope part 2: the provider a dispatcher or caregiver works for.
    provider = models.ForeignKey(
        "homecare.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="staff", verbose_name=_("provider")
    )
    is_demo = models.BooleanField(default=False, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role__in=["dispatcher", "caregiver"]) | models.Q(provider__isnull=False),
                name="provider_staff_have_provider",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username


TOKEN_PREFIX = "yy_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; no salt is needed.
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiToken(TimeStampedModel):
    """A bearer token. Only its hash is stored; the raw token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=64)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a user can tell tokens apart without the secret.
    prefix = models.CharField(max_length=12)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
