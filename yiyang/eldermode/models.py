from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.models import TimeStampedModel


class CallbackStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a call")
    DONE = "done", _("Called back")


class CallbackRequest(TimeStampedModel):
    """ "Call me back" pressed on the elder's screen: a task for the 96345 hotline."""

    elder = models.ForeignKey("people.Elder", on_delete=models.PROTECT, related_name="callback_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=8, choices=CallbackStatus.choices, default=CallbackStatus.OPEN)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One open request per elder: pressing again does not queue a second call.
            models.UniqueConstraint(fields=["elder"], condition=models.Q(status="open"), name="one_open_callback_per_elder"),
        ]
        indexes = [models.Index(fields=["created_at"], name="callback_open_queue", condition=models.Q(status="open"))]

    def __str__(self) -> str:
        return f"{self.elder} {self.get_status_display()}"
