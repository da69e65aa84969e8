"""Two spends of the same balance, in real concurrent transactions on PostgreSQL: exactly one succeeds."""

import threading
import time
from datetime import date
from urllib.parse import urlparse

import pytest
from django.db import OperationalError, connection, connections, transaction

from tests.factories import ElderFactory, ProviderFactory, persona
from tests.services import require_service
from tests.subsidies.conftest import PERIOD, make_programme
from yiyang.accounts.roles import Role
from yiyang.core.errors import StateConflict
from yiyang.subsidies.ledger import ledger_check
from yiyang.subsidies.models import Account, AccountKind, Entry, Settlement, Spend
from yiyang.subsidies.operations import current_period, grants_run_month, settlement_close, vouchers_spend

pytestmark = pytest.mark.services


@pytest.fixture
def restore_regions(django_db_blocker):
    """A transactional test ends with a flush that also empties the preloaded regions: have them before, put them back after."""
    from yiyang.regions.models import Region
    from yiyang.regions.operations import regions_load_lishui

    with django_db_blocker.unblock():
        if not Region.objects.exists():
            regions_load_lishui()
    yield
    with django_db_blocker.unblock():
        regions_load_lishui()


def _require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL: set DATABASE_URL=postgres://...")
    url = urlparse(f"//{connection.settings_dict['HOST'] or '127.0.0.1'}:{connection.settings_dict['PORT'] or 5432}")
    require_service("PostgreSQL", url.hostname, url.port)


def _race(calls):
    """Run each call in its own thread and connection, released together; collect results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # recorded and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_concurrent_spends_of_one_balance(restore_regions, transactional_db):
    _require_postgres()
    officer = persona(Role.COUNTY_OFFICER, regions=("331102",))
    provider = ProviderFactory()
    programme = make_programme(officer, tiers=[{"key": "a", "label": "a", "all": [], "amount_fen": 10000}])
    elders = [ElderFactory(birth_date=date(1935, 1, 1)) for _ in range(5)]
    grants_run_month(programme=programme, period=PERIOD, actor=officer)
    for n, elder in enumerate(elders):
        results = _race(
            [
                lambda e=elder, n=n: vouchers_spend(
                    elder=e, order_ref=f"a-{n}", category="meal", amount_fen=10000, actor=officer, provider=provider
                ),
                lambda e=elder, n=n: vouchers_spend(
                    elder=e, order_ref=f"b-{n}", category="meal", amount_fen=10000, actor=officer, provider=provider
                ),
            ]
        )
        assert sorted(results) == [0, 10000], results
        assert Account.objects.get(kind=AccountKind.VOUCHER, elder=elder).balance == 0
    assert Account.objects.get(kind=AccountKind.PROVIDER, provider=provider).balance == 50000
    assert ledger_check(Account, Entry).ok


def test_the_same_order_paid_twice_at_once_is_paid_once(restore_regions, transactional_db):
    _require_postgres()
    officer = persona(Role.COUNTY_OFFICER, regions=("331102",))
    provider = ProviderFactory()
    programme = make_programme(officer)
    elder = ElderFactory(birth_date=date(1935, 1, 1))
    grants_run_month(programme=programme, period=PERIOD, actor=officer)

    def pay():
        return vouchers_spend(elder=elder, order_ref="same", category="meal", amount_fen=4000, actor=officer, provider=provider)

    assert _race([pay, pay, pay]) == [4000, 4000, 4000]
    assert Spend.objects.count() == 1 and Entry.objects.filter(order_ref="same").count() == 1
    assert Account.objects.get(kind=AccountKind.VOUCHER, elder=elder).balance == 6000
    assert ledger_check(Account, Entry).ok


def test_two_concurrent_redemptions_of_one_hour_balance(restore_regions, transactional_db):
    _require_postgres()
    from yiyang.timebank.models import HourAccount, HourEntry
    from yiyang.timebank.operations import account_for_user, hours_credit_for_service, hours_redeem

    officer = persona(Role.COUNTY_OFFICER, regions=("331102",))
    volunteer = persona(Role.VOLUNTEER)
    elder = ElderFactory()
    hours_credit_for_service(volunteer=volunteer, elder=elder, order_ref="order:1", minutes=90, actor=officer)
    account = account_for_user(volunteer)

    def redeem():
        return hours_redeem(account=account, minutes=60, service="助洁", actor=volunteer)

    results = _race([redeem, redeem])
    assert sum(isinstance(r, StateConflict) for r in results) == 1 and sum(isinstance(r, HourEntry) for r in results) == 1
    account.refresh_from_db()
    assert account.balance == 30
    assert ledger_check(HourAccount, HourEntry).ok


def _two_elders_with_vouchers():
    """An officer, a provider, and two elders whose vouchers of one programme are granted for PERIOD."""
    officer = persona(Role.COUNTY_OFFICER, regions=("331102",))
    provider = ProviderFactory()
    programme = make_programme(officer)
    elders = ElderFactory(birth_date=date(1935, 1, 1)), ElderFactory(birth_date=date(1936, 1, 1))
    grants_run_month(programme=programme, period=PERIOD, actor=officer)
    return officer, provider, elders


def _spend_held_open(*, elder, provider, officer, spent: threading.Event, release: threading.Event):
    """A spend whose transaction stays open (its share of the provider's months held) until `release`."""

    def run():
        with transaction.atomic():
            covered = vouchers_spend(elder=elder, order_ref="held", category="meal", amount_fen=4000, actor=officer, provider=provider)
            spent.set()
            release.wait(timeout=20)
        return covered

    return run


def _within(seconds: float, call):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'")
        return call()


def _until_a_lock_is_awaited(locktype: str) -> None:
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = %s", [locktype])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def test_spends_of_one_provider_do_not_wait_for_each_other_but_settlement_waits_for_them(restore_regions, transactional_db):
    _require_postgres()
    officer, provider, (first, second) = _two_elders_with_vouchers()
    spent, tried, release = threading.Event(), threading.Event(), threading.Event()

    def another_spend():
        spent.wait(timeout=10)
        try:
            # A visit the vouchers do not cover: all it shares with the first spend is the provider's months.
            return _within(
                2,
                lambda: vouchers_spend(elder=second, order_ref="other", category="bath", amount_fen=3000, actor=officer, provider=provider),
            )
        finally:
            tried.set()

    def settle():
        tried.wait(timeout=10)
        try:
            return _within(0.5, lambda: settlement_close(provider=provider, period=current_period(), actor=officer))
        finally:
            release.set()

    results = _race(
        [_spend_held_open(elder=first, provider=provider, officer=officer, spent=spent, release=release), another_spend, settle]
    )
    assert results[0] == 4000, results
    assert results[1] == 0, results  # it did not wait for the first spend to commit
    assert isinstance(results[2], OperationalError) and "lock timeout" in str(results[2]), results  # settlement did
    assert Spend.objects.filter(order_ref__in=["held", "other"]).count() == 2
    assert ledger_check(Account, Entry).ok


def test_a_settlement_waiting_for_a_spend_is_not_overtaken_by_later_spends(restore_regions, transactional_db):
    """The provider's months are a fair lock: spends that come after a waiting settlement wait behind it."""
    _require_postgres()
    officer, provider, (first, later) = _two_elders_with_vouchers()
    spent, settling, release = threading.Event(), threading.Event(), threading.Event()

    def settle():
        spent.wait(timeout=10)
        settling.set()
        return settlement_close(provider=provider, period=current_period(), actor=officer)

    def later_spend():
        settling.wait(timeout=10)
        try:
            _until_a_lock_is_awaited("advisory")  # the settlement's, behind the first spend
            return _within(
                1,
                lambda: vouchers_spend(elder=later, order_ref="later", category="bath", amount_fen=3000, actor=officer, provider=provider),
            )
        finally:
            release.set()

    results = _race([_spend_held_open(elder=first, provider=provider, officer=officer, spent=spent, release=release), settle, later_spend])
    assert results[0] == 4000, results
    assert isinstance(results[1], Settlement), results  # it went first, once the first spend committed
    assert isinstance(results[2], OperationalError) and "lock timeout" in str(results[2]), results  # it waited behind
    assert not Spend.objects.filter(order_ref="later").exists()
    assert ledger_check(Account, Entry).ok
