from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from yiyang.api import api
from yiyang.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    # Early: Django tries the patterns in order, and the API is what programs and phones call all day.
    path("api/v1/", api.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("elder-mode/", core_views.elder_mode, name="elder_mode"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("yiyang.accounts.urls")),
    path("elders/", include("yiyang.people.urls")),
    path("regions/", include("yiyang.regions.urls")),
    path("guardian/", include("yiyang.guardian.urls")),
    path("plan/", include("yiyang.plan.urls")),
    path("assessments/", include("yiyang.assessments.urls")),
    path("visits/", include("yiyang.visits.urls")),
    path("institutions/", include("yiyang.institutions.urls")),
    path("public/", include("yiyang.institutions.public_urls")),
    path("homecare/", include("yiyang.homecare.urls")),
    path("subsidies/", include("yiyang.subsidies.urls")),
    path("timebank/", include("yiyang.timebank.urls")),
    path("care/", include("yiyang.eldermode.urls")),
    path("admin/", admin.site.urls),
]
