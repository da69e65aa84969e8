from django.db.models import Q, QuerySet

from yiyang.accounts.roles import Role, can
from yiyang.accounts.scope import scope_of
from yiyang.core.errors import DomainError
from yiyang.people.models import Elder
from yiyang.regions.queries import under_paths_q


def elders_visible_to(user) -> QuerySet[Elder]:
    """The one place that decides which elders a user may see."""
    if not can(user, "elder.view"):
        return Elder.objects.none()
    scope = scope_of(user)
    if scope.everything:
        return Elder.objects.all()
    visible = Q(pk__in=[])
    if scope.sees_region_elders and scope.region_paths:
        visible |= under_paths_q("residence_region", list(scope.region_paths))
    if user.role in (Role.DISPATCHER, Role.CAREGIVER, Role.VOLUNTEER):
        from yiyang.homecare.queries import elder_ids_served_by

        visible |= Q(pk__in=elder_ids_served_by(user))
    if user.role in (Role.FAMILY, Role.ELDER):
        visible |= Q(user_links__user_id=user.pk)
    return Elder.objects.filter(visible).distinct()


def elder_for(user, elder_id: int) -> Elder | None:
    return elders_visible_to(user).filter(pk=elder_id).first()


def elder_search(user, text: str) -> QuerySet[Elder]:
    """Find in-scope elders as the hotline and workers do: by exact ID number, exact phone, or partial name.

    ID numbers and phones are matched through their blind index (never decrypted to search); a
    phone matches the elder's own number or a contact's (a daughter calling for her mother). An ID
    or phone that does not parse finds nobody rather than raising: a search is not a form.
    """
    from yiyang.people import crypto
    from yiyang.people.idnumber import looks_like_id_number, looks_like_phone, normalise_phone, parse_id_number
    from yiyang.people.models import CONTACT_PHONE_FIELD, ID_FIELD, PHONE_FIELD

    text = (text or "").strip()
    visible = elders_visible_to(user)
    if not text:
        return visible.none()
    if looks_like_id_number(text):
        try:
            number = parse_id_number(text).number
        except DomainError:
            return visible.none()
        return visible.filter(id_number_bidx=crypto.blind_index(number, field=ID_FIELD))
    if looks_like_phone(text):
        try:
            phone = normalise_phone(text)
        except DomainError:
            return visible.none()
        own = crypto.blind_index(phone, field=PHONE_FIELD)
        contact = crypto.blind_index(phone, field=CONTACT_PHONE_FIELD)
        return visible.filter(Q(phone_bidx=own) | Q(contacts__phone_bidx=contact)).distinct()
    return visible.filter(name__contains=text)
