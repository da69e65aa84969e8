from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.eldermode.models import CallbackRequest, CallbackStatus


def callback_request(*, elder, actor) -> tuple[CallbackRequest, bool]:
    """Queue a call from the hotline to `elder`; a second press while one is open returns the open one."""
    existing = CallbackRequest.objects.filter(elder=elder, status=CallbackStatus.OPEN).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            request = CallbackRequest.objects.create(elder=elder, requested_by=actor)
            audit_record(actor=actor, action="callback.request", obj=request, region=elder.residence_region)
    except IntegrityError:
        # A second press raced the first past the check; the partial unique index kept one.
        return CallbackRequest.objects.get(elder=elder, status=CallbackStatus.OPEN), False
    return request, True


def callback_close(*, request: CallbackRequest, actor, note: str) -> CallbackRequest:
    note = (note or "").strip()
    if len(note) > 500:
        raise DomainError(_("The note may be at most 500 characters."), field="note")
    with transaction.atomic():
        request = CallbackRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != CallbackStatus.OPEN:
            raise StateConflict(_("This request was already handled."), extra={"status": request.status})
        request.status = CallbackStatus.DONE
        request.handled_by = actor
        request.handled_at = timezone.now()
        request.note = note
        request.save(update_fields=["status", "handled_by", "handled_at", "note", "updated_at"])
        audit_record(actor=actor, action="callback.close", obj=request, region=request.elder.residence_region)
    return request
