"""The JSON API at /api/v1/: one NinjaAPI, bearer-token or session auth, errors mapped in one place."""

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import HttpBearer, SessionAuth

from yiyang.accounts.operations import token_authenticate
from yiyang.core.api_errors import install_error_handlers


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class Session(SessionAuth):
    """The browser's session, with CSRF. A request that sends a bearer token is judged by the token alone."""

    def authenticate(self, request: HttpRequest, key):
        if "HTTP_AUTHORIZATION" in request.META:
            return None
        return super().authenticate(request, key)


api = NinjaAPI(
    title="Yiyang API",
    version="1",
    description="Yiyang (颐养) elderly-care platform. Authenticate with `POST /api/v1/auth/token`, then send `Authorization: Bearer <token>`.",
    urls_namespace="api",
    auth=[BearerToken(), Session()],
    docs_url="/docs",
)
install_error_handlers(api)

# Orders first: Django tries the API's URL patterns in the order they were added, and the order
# lifecycle is the busiest part of the API (a hundred other patterns before it cost ~0.1 ms a request).
from yiyang.homecare.api import router as orders_router  # noqa: E402

api.add_router("/orders", orders_router)

from yiyang.accounts.api import router as accounts_router  # noqa: E402
from yiyang.people.api import router as people_router  # noqa: E402
from yiyang.regions.api import router as regions_router  # noqa: E402

api.add_router("/auth", accounts_router)
api.add_router("/regions", regions_router)
api.add_router("/elders", people_router)

from yiyang.subsidies.api import router as subsidies_router  # noqa: E402
from yiyang.timebank.api import router as timebank_router  # noqa: E402

api.add_router("/subsidies", subsidies_router)
api.add_router("/timebank", timebank_router)

from yiyang.guardian.api import router as guardian_router  # noqa: E402

api.add_router("/guardian", guardian_router)

from yiyang.assessments.api import router as assessments_router  # noqa: E402

api.add_router("/assessments", assessments_router)

from yiyang.visits.api import router as visits_router  # noqa: E402

api.add_router("/visits", visits_router)

from yiyang.institutions.api import public_router as public_institutions_router  # noqa: E402
from yiyang.institutions.api import router as institutions_router  # noqa: E402

api.add_router("/institutions", institutions_router)
api.add_router("/public", public_institutions_router)

from yiyang.homecare.api import homecare_router  # noqa: E402

api.add_router("/homecare", homecare_router)

from yiyang.plan.api import router as plan_router  # noqa: E402

api.add_router("/plan", plan_router)
