from django.db.models import Q, QuerySet

from yiyang.accounts.roles import Role, can
from yiyang.accounts.scope import scope_of
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
