"""End to end with the home-care helper's order flow: a paid visit takes vouchers first, a reversal gives them back,
a volunteer's audited visit credits hours, and the settlement lists the visit with its audit result."""

from datetime import date

import pytest

from tests.homecare.conftest import make_caregiver
from tests.homecare.helpers import place, serve
from tests.subsidies.conftest import make_programme
from yiyang.homecare import operations as homecare
from yiyang.homecare.models import OrderStatus
from yiyang.subsidies.ledger import ledger_check
from yiyang.subsidies.models import Account, AccountKind, Entry
from yiyang.subsidies.operations import current_period, grants_run_month, settlement_lines
from yiyang.timebank.models import HourEntry
from yiyang.timebank.operations import account_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def granted(personas, elder, menu):
    elder.birth_date = date(1935, 6, 1)
    elder.save(update_fields=["birth_date"])
    officer = personas["county_officer"]
    programme = make_programme(officer, categories=["clean", "meal"], tiers=[{"key": "a", "label": "高龄", "all": [], "amount_fen": 5000}])
    grants_run_month(programme=programme, period=current_period(), actor=officer)
    return programme


def test_paid_visit_takes_vouchers_first_and_a_reversal_refunds_them(personas, elder, offerings, caregiver, granted, provider):
    order = serve(place(elder, offerings["clean-home"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"])
    assert order.status == OrderStatus.PAID
    assert (order.subsidy_fen, order.copay_fen) == (5000, 3000)
    assert Account.objects.get(kind=AccountKind.VOUCHER, elder=elder).balance == 0
    lines = settlement_lines(provider_id=provider.pk, period=current_period())
    assert [(line["order_ref"], line["net_fen"], line["audit"]) for line in lines] == [
        (f"order:{order.pk}", 5000, str(OrderStatus.PAID.label))
    ]
    homecare.order_payment_reverse(order=order, actor=personas["county_officer"], comment="服务未完成")
    assert Account.objects.get(kind=AccountKind.VOUCHER, elder=elder).balance == 5000
    assert ledger_check(Account, Entry).ok


def test_uncovered_category_is_all_co_payment(personas, elder, offerings, caregiver, granted):
    order = serve(place(elder, offerings["comfort-chat"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"])
    assert order.status == OrderStatus.PAID and order.subsidy_fen == 0 and order.copay_fen == order.price_fen


def test_a_volunteer_visit_credits_hours_once(personas, elder, offerings, provider, menu):
    volunteer = personas["volunteer"]
    helper = make_caregiver(provider, user=volunteer, name="志愿者", volunteer=True)
    order = serve(place(elder, offerings["comfort-chat"].item, personas["operator"]), helper, dispatcher=personas["dispatcher"])
    assert order.status == OrderStatus.PAID
    entry = HourEntry.objects.get(order_ref=f"order:{order.pk}")
    assert entry.amount == order.duration_minutes and account_for_user(volunteer).balance == entry.amount
