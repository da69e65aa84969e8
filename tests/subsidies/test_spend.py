from datetime import date

import pytest

from tests.factories import ElderFactory
from tests.subsidies.conftest import PERIOD, make_programme
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import ElderStatus
from yiyang.subsidies.ledger import ledger_check
from yiyang.subsidies.models import Account, AccountKind, Entry, EntrySource, Flag, FlagKind, Spend
from yiyang.subsidies.operations import grants_run_month, vouchers_refund, vouchers_spend

pytestmark = pytest.mark.django_db
OCTOBER = date(2026, 10, 1)


def lot_balances(elder):
    return {
        (a.programme.name, a.period): a.balance
        for a in Account.objects.filter(kind=AccountKind.VOUCHER, elder=elder).select_related("programme")
    }


@pytest.fixture
def two_programmes(officer, old_elder):
    meals = make_programme(officer, name="助餐", categories=["meal"], carry_over=True)
    general = make_programme(officer, name="通用", categories=["meal", "clean"], carry_over=True)
    grants_run_month(programme=general, period=OCTOBER, actor=officer)
    grants_run_month(programme=meals, period=PERIOD, actor=officer)
    grants_run_month(programme=general, period=PERIOD, actor=officer)
    return meals, general


def test_oldest_grant_first_and_only_covering_programmes(two_programmes, old_elder, officer, supplier):
    # Cleaning: only the general programme pays, its October lot first.
    assert vouchers_spend(elder=old_elder, order_ref="o-1", category="clean", amount_fen=12000, actor=officer, provider=supplier) == 12000
    assert lot_balances(old_elder) == {("通用", OCTOBER): 0, ("助餐", PERIOD): 10000, ("通用", PERIOD): 8000}
    # Meal: November lots, the older lot (meals, created first) first; the rest is co-payment.
    assert vouchers_spend(elder=old_elder, order_ref="o-2", category="meal", amount_fen=25000, actor=officer, provider=supplier) == 18000
    assert lot_balances(old_elder) == {("通用", OCTOBER): 0, ("助餐", PERIOD): 0, ("通用", PERIOD): 0}
    payables = {
        a.programme.name: a.balance
        for a in Account.objects.filter(kind=AccountKind.PROVIDER, provider=supplier).select_related("programme")
    }
    assert payables == {"助餐": 10000, "通用": 20000}
    # Nothing left: covered 0, and a category nobody covers pays nothing.
    assert vouchers_spend(elder=old_elder, order_ref="o-3", category="meal", amount_fen=500, actor=officer, provider=supplier) == 0
    assert vouchers_spend(elder=old_elder, order_ref="o-4", category="bath", amount_fen=500, actor=officer, provider=supplier) == 0
    assert ledger_check(Account, Entry).ok


def test_spend_is_idempotent_per_order_ref(two_programmes, old_elder, officer, supplier):
    first = vouchers_spend(elder=old_elder, order_ref="o-1", category="meal", amount_fen=3000, actor=officer, provider=supplier)
    again = vouchers_spend(elder=old_elder, order_ref="o-1", category="meal", amount_fen=3000, actor=officer, provider=supplier)
    assert first == again == 3000
    assert Entry.objects.filter(order_ref="o-1").count() == 1
    other = ElderFactory(birth_date=date(1930, 1, 1))
    with pytest.raises(StateConflict):
        vouchers_spend(elder=other, order_ref="o-1", category="meal", amount_fen=3000, actor=officer, provider=supplier)


def test_refund_reverses_exactly_what_the_order_took(two_programmes, old_elder, officer, supplier):
    before = lot_balances(old_elder)
    taken = vouchers_spend(elder=old_elder, order_ref="o-9", category="meal", amount_fen=25000, actor=officer, provider=supplier)
    assert taken == 25000
    assert vouchers_refund(order_ref="o-9", actor=officer) == 25000
    assert lot_balances(old_elder) == before
    assert vouchers_refund(order_ref="o-9", actor=officer) == 25000  # idempotent
    refunds = Entry.objects.filter(order_ref="o-9", source=EntrySource.REFUND)
    assert sorted(e.reverses_id for e in refunds) == sorted(
        Entry.objects.filter(order_ref="o-9", source=EntrySource.ORDER).values_list("pk", flat=True)
    )
    assert vouchers_refund(order_ref="never-paid", actor=officer) == 0
    with pytest.raises(StateConflict) as err:
        vouchers_spend(elder=old_elder, order_ref="o-9", category="meal", amount_fen=100, actor=officer, provider=supplier)
    assert err.value.code == "refunded"
    assert all(a.balance == 0 for a in Account.objects.filter(kind=AccountKind.PROVIDER))
    assert ledger_check(Account, Entry).ok


@pytest.mark.parametrize(
    ("amount", "ref", "field"),
    [
        (-1, "o-1", "amount_fen"),
        ("12", "o-1", "amount_fen"),
        (1.5, "o-1", "amount_fen"),
        (100, "", "order_ref"),
        (100, "x" * 65, "order_ref"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(two_programmes, old_elder, officer, supplier, amount, ref, field):
    entries = Entry.objects.count()
    with pytest.raises(DomainError) as err:
        vouchers_spend(elder=old_elder, order_ref=ref, category="meal", amount_fen=amount, actor=officer, provider=supplier)
    assert err.value.field == field
    assert Entry.objects.count() == entries and not Spend.objects.exists()


def test_spend_without_a_provider_is_refused(two_programmes, old_elder, officer):
    with pytest.raises(DomainError) as err:
        vouchers_spend(elder=old_elder, order_ref="no-such-order", category="meal", amount_fen=100, actor=officer)
    assert err.value.field == "order_ref"


def test_vouchers_spent_after_death_are_flagged(two_programmes, old_elder, officer, supplier):
    old_elder.status = ElderStatus.DECEASED
    old_elder.status_date = date(2026, 10, 20)
    old_elder.save()
    assert vouchers_spend(elder=old_elder, order_ref="o-5", category="meal", amount_fen=1000, actor=officer, provider=supplier) == 1000
    flag = Flag.objects.get(order_ref="o-5")
    assert flag.kind == FlagKind.AFTER_DEATH and flag.detail["status_date"] == "2026-10-20"
