import re

from django.db.models import Q, QuerySet

from yiyang.accounts.roles import Role, can
from yiyang.accounts.scope import scope_of
from yiyang.core.errors import DomainError
from yiyang.core.prepared import PreparedQuery
from yiyang.people.models import Elder, ElderCategory, ElderTransfer
from yiyang.regions.queries import under_paths_q


def _printable(text: str | None) -> str:
    # Control characters (NUL above all, which PostgreSQL refuses) can never match: drop them from searches.
    return re.sub(r"[\x00-\x1f\x7f]", "", text or "").strip()


def elders_visible_to(user) -> QuerySet[Elder]:
    """The one place that decides which elders a user may see."""
    if not can(user, "elder.view"):
        return Elder.objects.none()
    scope = scope_of(user)
    if scope.everything:
        return Elder.objects.all()
    return Elder.objects.filter(_elders_visible_q(user.role, scope))


def _elders_visible_q(role: str, scope, *, by_prefix: bool = False) -> Q:
    visible = Q(pk__in=[])
    if scope.sees_region_elders and scope.region_paths:
        visible |= under_paths_q("residence_region", list(scope.region_paths), by_prefix=by_prefix)
    if role in (Role.DISPATCHER, Role.CAREGIVER, Role.VOLUNTEER):
        from yiyang.homecare.queries import elder_ids_served

        visible |= Q(pk__in=elder_ids_served(role, scope))
    if role in (Role.FAMILY, Role.ELDER):
        from yiyang.people.models import ElderLink

        visible |= Q(pk__in=ElderLink.objects.filter(user_id=scope.user_id).values("elder_id"))
    # Subqueries, not joins: no duplicate rows, so no DISTINCT over a city's registry.
    return visible


def _elder_rows_with_residence(*, elder_id, may_view, everything, role, **scope_parts):
    from yiyang.accounts.scope import scope_from_prepared

    if not may_view:
        return Elder.objects.none()
    rows = Elder.objects.all()
    if not everything:
        rows = rows.filter(_elders_visible_q(role, scope_from_prepared(**scope_parts), by_prefix=True))
    return rows.select_related("residence_region").filter(pk=elder_id).order_by()


ELDER_WITH_RESIDENCE = PreparedQuery(_elder_rows_with_residence, name="elder_with_residence")


def elder_with_residence(user, elder_id: int) -> Elder | None:
    """`elder_for` with the residence region read in the same query; compiled once, as every order
    placed reads it (`core.prepared`)."""
    from yiyang.accounts.scope import scope_for_prepared

    fixed, scope_values = scope_for_prepared(user, "elder.view")
    return ELDER_WITH_RESIDENCE.first(fixed=fixed, elder_id=elder_id, **scope_values)


def elder_for(user, elder_id: int) -> Elder | None:
    return elders_visible_to(user).filter(pk=elder_id).first()


def elder_search(user, text: str) -> QuerySet[Elder]:
    """Find in-scope elders as the hotline and workers do: by exact ID number, exact phone, or partial name.

    ID numbers and phones are matched through their blind index (never decrypted to search); a
    phone matches the elder's own number or a contact's (a daughter calling for her mother). An ID
    or phone that does not parse finds nobody rather than raising: a search is not a form.
    """
    from yiyang.people import crypto
    from yiyang.people.idnumber import looks_like_id_number, looks_like_phone, normalise_phone, parse_id_number, upgrade_15
    from yiyang.people.models import CONTACT_PHONE_FIELD, ID_FIELD, PHONE_FIELD

    text = _printable(text)
    visible = elders_visible_to(user)
    if not text:
        return visible.none()
    if looks_like_id_number(text):
        try:
            number = parse_id_number(text).number
        except DomainError:
            return visible.none()
        return visible.filter(id_number_bidx=crypto.blind_index(number, field=ID_FIELD))
    old_number = upgrade_15(text)
    if old_number is not None:
        # Many elders still quote the 15-digit number of their first card.
        return visible.filter(id_number_bidx=crypto.blind_index(old_number, field=ID_FIELD))
    if looks_like_phone(text):
        try:
            phone = normalise_phone(text)
        except DomainError:
            return visible.none()
        own = crypto.blind_index(phone, field=PHONE_FIELD)
        contact = crypto.blind_index(phone, field=CONTACT_PHONE_FIELD)
        # Two indexed lookups first, then the scope: an OR across tables (join or subquery) makes the planner
        # scan every elder (1.2 s at 66,000 on PostgreSQL; a few ms this way).
        from yiyang.people.models import ElderContact

        ids = set(Elder.objects.filter(phone_bidx=own).values_list("pk", flat=True)[:200])
        ids |= set(ElderContact.objects.filter(phone_bidx=contact).values_list("elder_id", flat=True)[:200])
        return visible.filter(pk__in=ids)
    return visible.filter(name__contains=text)


def elders_filtered(
    user,
    *,
    q: str = "",
    region: str = "",
    category: str = "",
    status: str = "",
    living_arrangement: str = "",
) -> QuerySet[Elder]:
    """The list filters shared by pages, API and exports. Always within the user's scope."""
    from datetime import date

    from yiyang.people.models import OLDEST_OLD, OLDEST_OLD_AGE
    from yiyang.regions.queries import region_by_code

    q, region, category = _printable(q), _printable(region), _printable(category)
    status, living_arrangement = _printable(status), _printable(living_arrangement)
    elders = elder_search(user, q) if q else elders_visible_to(user)
    if region:
        where = region_by_code(region)
        elders = elders.filter(residence_region__path__startswith=where.path) if where else elders.none()
    if category == OLDEST_OLD:
        today = date.today()
        try:
            cutoff = today.replace(year=today.year - OLDEST_OLD_AGE)
        except ValueError:  # 29 February
            cutoff = today.replace(year=today.year - OLDEST_OLD_AGE, day=28)
        elders = elders.filter(birth_date__lte=cutoff)
    elif category:
        elders = elders.filter(pk__in=ElderCategory.objects.filter(category=category, ended__isnull=True).values("elder_id"))
    if status and status != "all":
        elders = elders.filter(status=status)
    if living_arrangement:
        elders = elders.filter(living_arrangement=living_arrangement)
    return elders


def transfers_visible_to(user, *, status: str = "") -> QuerySet[ElderTransfer]:
    """Transfers whose sending or receiving side lies in the user's regions (the receiver sees a pending file it cannot open yet).

    `status`, when given, keeps the transfers in that state.
    """
    if not can(user, "elder.transfer"):
        return ElderTransfer.objects.none()
    scope = scope_of(user)
    rows = ElderTransfer.objects.select_related("elder", "from_region", "to_region", "initiated_by", "decided_by")
    status = _printable(status)
    if status:
        rows = rows.filter(status=status)
    if scope.everything:
        return rows
    paths = list(scope.region_paths)
    return rows.filter(under_paths_q("from_region", paths) | under_paths_q("to_region", paths))


def access_log_visible_to(user):
    """Unmask and export events of the user's regions, for officers (PIPL: readable by those responsible)."""
    from yiyang.audit.models import AuditEvent

    if not can(user, "access_log.view"):
        return AuditEvent.objects.none()
    rows = AuditEvent.objects.filter(action__in=ACCESS_LOG_ACTIONS).select_related("actor", "region")
    scope = scope_of(user)
    if scope.everything:
        return rows
    return rows.filter(under_paths_q("region", list(scope.region_paths)))


ACCESS_LOG_ACTIONS = ("elder.unmask", "elder.contact_dial", "elder.export", "elder.import", "caregiver.phone_reveal")


def import_jobs_visible_to(user):
    from yiyang.people.models import ImportJob

    if not can(user, "elder.import"):
        return ImportJob.objects.none()
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if scope_of(user).everything else jobs.filter(created_by=user)


def reconciliation_queue(user, *, status: str = "pending"):
    """Proposals about elders the officer can see."""
    from yiyang.people.models import ReconciliationItem

    if not can(user, "elder.import"):
        return ReconciliationItem.objects.none()
    items = ReconciliationItem.objects.filter(elder__in=elders_visible_to(user)).select_related("elder", "elder__residence_region", "job")
    return items.filter(status=status) if status else items
