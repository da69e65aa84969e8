from django.db.models import QuerySet

from yiyang.regions.queries import under_paths_q


def providers_visible_to(user) -> QuerySet:
    from yiyang.accounts.scope import scope_of
    from yiyang.homecare.models import Provider

    scope = scope_of(user)
    if scope.everything:
        return Provider.objects.all()
    if scope.provider_id:
        return Provider.objects.filter(pk=scope.provider_id)
    if scope.region_paths:
        return Provider.objects.filter(under_paths_q("service_regions", list(scope.region_paths))).distinct()
    return Provider.objects.none()


def elder_ids_served_by(user) -> QuerySet:
    """Elders a dispatcher's provider, or a caregiver or volunteer personally, serves.

    Orders do not exist yet; until they do, provider staff see no elder.
    """
    from yiyang.people.models import Elder

    return Elder.objects.none().values("pk")
