import os

import pytest
from hypothesis import settings as hypothesis_settings

from tests.factories import PASSWORD, ElderFactory, ProviderFactory, link, persona
from yiyang.accounts.roles import Role

hypothesis_settings.register_profile("ci", max_examples=30, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=100, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with Lishui's divisions: they are reference data, like a migration's."""
    from yiyang.regions.operations import regions_load_lishui

    with django_db_blocker.unblock():
        regions_load_lishui()


def _restore_reference_data() -> None:
    """Put back what every database starts with (regions; the plan's tables from its data migration)."""
    from yiyang.plan.loading import load_plans
    from yiyang.plan.models import Indicator, KeyProject, MajorTask, Plan
    from yiyang.regions.models import Region
    from yiyang.regions.operations import regions_load_lishui

    if not Region.objects.exists():
        regions_load_lishui()
    if not Indicator.objects.exists():
        load_plans(Plan=Plan, Indicator=Indicator, MajorTask=MajorTask, KeyProject=KeyProject)


@pytest.fixture(autouse=True)
def _reference_data_survives_transactional_tests(request, django_db_blocker):
    """A transactional test ends with a flush that empties every table, reference data included.

    This fixture is set up before the test's database fixtures, so its teardown runs after the flush:
    whatever test comes next, in whatever order, finds the regions and the plan again.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or {"transactional_db", "live_server"} & set(request.fixturenames)
    if transactional:
        # Whichever of this fixture and the flush tears down first, the data is there before and after.
        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            _restore_reference_data()
    yield
    if transactional:
        with django_db_blocker.unblock():
            _restore_reference_data()


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is the production hasher (tested in tests/accounts); tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def provider(db):
    return ProviderFactory()


@pytest.fixture
def other_provider(db):
    return ProviderFactory(region=__import__("tests.factories", fromlist=["region"]).region("331121"))


@pytest.fixture
def personas(db, provider):
    """One user per role; the worker in 紫金街道 (莲都区), the county officer of 莲都区."""
    return {
        "admin": persona(Role.ADMIN, regions=("331100",), username="p-admin", is_superuser=True, is_staff=True),
        "city_officer": persona(Role.CITY_OFFICER, regions=("331100",), username="p-city"),
        "county_officer": persona(Role.COUNTY_OFFICER, regions=("331102",), username="p-county"),
        "other_county_officer": persona(Role.COUNTY_OFFICER, regions=("331121",), username="p-county-qt"),
        "worker": persona(Role.WORKER, regions=("331102001",), username="p-worker"),
        "operator": persona(Role.OPERATOR, regions=("331100",), username="p-operator"),
        "dispatcher": persona(Role.DISPATCHER, provider=provider, username="p-dispatcher"),
        "caregiver": persona(Role.CAREGIVER, provider=provider, username="p-caregiver"),
        "assessor": persona(Role.ASSESSOR, regions=("331102",), username="p-assessor"),
        "inspector": persona(Role.INSPECTOR, regions=("331100",), username="p-inspector"),
        "reporter": persona(Role.REPORTER, regions=("331100",), username="p-reporter", unit="市卫生健康委"),
        "volunteer": persona(Role.VOLUNTEER, username="p-volunteer"),
        "family": persona(Role.FAMILY, username="p-family"),
        "elder": persona(Role.ELDER, username="p-elder"),
    }


@pytest.fixture
def elders(db, personas):
    """An elder in 紫金街道 (莲都区) linked to the family and elder personas, and one in 青田县."""
    liandu = ElderFactory(name="莲都长辈")
    qingtian = ElderFactory(name="青田长辈", residence_region=__import__("tests.factories", fromlist=["region"]).region("331121001"))
    link(personas["family"], liandu)
    link(personas["elder"], liandu, relation="self")
    return {"liandu": liandu, "qingtian": qingtian}


@pytest.fixture
def api_client(client):
    """A Django test client that logs in through the token endpoint, as an API user would."""

    def login(user, password: str = PASSWORD):
        response = client.post("/api/v1/auth/token", {"username": user.username, "password": password}, content_type="application/json")
        assert response.status_code == 200, response.content
        return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}

    return login


@pytest.fixture
def wsgi_app(db):
    """Django's WSGI application, for tools that call it directly (schemathesis) inside a test's transaction.

    As Django's test client does, its requests do not close the database connection at their start and
    end: that connection holds the test's transaction. (SQLite's in-memory test database ignores the
    close, so only PostgreSQL showed it: "the connection is closed" on every request.)
    """
    from django.core import signals
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    django_app = get_wsgi_application()

    def app(environ, start_response):
        # Taken off at each request: the test client puts them back after each of its own.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        return django_app(environ, start_response)

    yield app
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
