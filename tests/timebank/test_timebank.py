from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ElderFactory, link, persona, region
from yiyang.accounts.roles import Role
from yiyang.core.errors import DomainError, StateConflict
from yiyang.subsidies.ledger import AppendOnlyError, ledger_check
from yiyang.timebank.models import Claim, HourAccount, HourEntry, HourSource
from yiyang.timebank.operations import (
    account_for_elder,
    account_for_user,
    claim_decide,
    claim_submit,
    hours_correct,
    hours_credit_for_service,
    hours_redeem,
    hours_transfer,
    volunteer_register,
)
from yiyang.timebank.queries import elder_volunteer_count, totals_by_region_month

pytestmark = pytest.mark.django_db


@pytest.fixture
def volunteer(personas):
    user = personas["volunteer"]
    volunteer_register(user=user, name="志愿者甲", birth_date=date(1962, 4, 1), region_code="331102001", actor=user)
    return user


def balance(user) -> int:
    return account_for_user(user).balance


def test_credit_for_service_is_idempotent_per_order(volunteer, elders, personas):
    e1 = hours_credit_for_service(
        volunteer=volunteer, elder=elders["liandu"], order_ref="order:7", minutes=90, actor=personas["dispatcher"]
    )
    e2 = hours_credit_for_service(
        volunteer=volunteer, elder=elders["liandu"], order_ref="order:7", minutes=90, actor=personas["dispatcher"]
    )
    assert e1.pk == e2.pk and balance(volunteer) == 90
    assert e1.region.code == "331102001"
    with pytest.raises(DomainError) as err:
        hours_credit_for_service(volunteer=volunteer, elder=elders["liandu"], order_ref="order:8", minutes=0, actor=None)
    assert err.value.field == "minutes"


def test_claim_is_credited_only_when_the_elder_side_confirms(volunteer, elders, personas):
    from yiyang.timebank.models import Volunteer

    v = Volunteer.objects.get(user=volunteer)
    claim = claim_submit(
        volunteer=v, elder=elders["liandu"], served_on=timezone.localdate(), minutes=45, description="陪同买菜", actor=volunteer
    )
    assert balance(volunteer) == 0
    # The volunteer cannot confirm their own claim, nor can a worker of another area.
    outsider = persona(Role.WORKER, regions=("331121001",))
    for who in (volunteer, outsider):
        with pytest.raises(DomainError) as err:
            claim_decide(claim=claim, confirm=True, actor=who)
        assert err.value.status == 403
    claim_decide(claim=claim, confirm=True, actor=personas["family"])
    assert balance(volunteer) == 45
    with pytest.raises(StateConflict):
        claim_decide(claim=claim, confirm=True, actor=personas["worker"])
    other = claim_submit(
        volunteer=v, elder=elders["liandu"], served_on=timezone.localdate(), minutes=30, description="聊天", actor=volunteer
    )
    with pytest.raises(DomainError) as err:
        claim_decide(claim=other, confirm=False, actor=personas["worker"])
    assert err.value.field == "reason"
    claim_decide(claim=other, confirm=False, actor=personas["worker"], reason="老人说没有这回事")
    assert balance(volunteer) == 45
    assert [t.to_status for t in Claim.objects.get(pk=other.pk).transitions.all()] == ["rejected"]
    with pytest.raises(DomainError) as err:
        claim_submit(
            volunteer=v,
            elder=elders["liandu"],
            served_on=timezone.localdate() + timedelta(days=1),
            minutes=30,
            description="x",
            actor=volunteer,
        )
    assert err.value.field == "served_on"


def test_transfer_to_a_linked_parent_and_redeem(volunteer, personas):
    parent = ElderFactory(residence_region=region("331121001"))  # another county: hours are valid city-wide
    hours_credit_for_service(volunteer=volunteer, elder=parent, order_ref="order:1", minutes=120, actor=None)
    with pytest.raises(DomainError) as err:
        hours_transfer(from_user=volunteer, to_elder=parent, minutes=60, actor=volunteer)
    assert err.value.field == "elder"
    link(volunteer, parent)
    hours_transfer(from_user=volunteer, to_elder=parent, minutes=100, actor=volunteer)
    assert balance(volunteer) == 20 and account_for_elder(parent).balance == 100
    with pytest.raises(StateConflict):
        hours_transfer(from_user=volunteer, to_elder=parent, minutes=21, actor=volunteer)
    hours_redeem(account=account_for_elder(parent), minutes=60, service="助浴", actor=volunteer)
    assert account_for_elder(parent).balance == 40
    with pytest.raises(StateConflict):
        hours_redeem(account=account_for_elder(parent), minutes=41, service="助浴", actor=volunteer)
    assert ledger_check(HourAccount, HourEntry).ok


def test_officer_correction_is_a_reversing_entry(volunteer, elders, personas):
    entry = hours_credit_for_service(volunteer=volunteer, elder=elders["liandu"], order_ref="order:3", minutes=60, actor=None)
    with pytest.raises(DomainError):
        hours_correct(entry=entry, reason=" ", actor=personas["county_officer"])
    reversal = hours_correct(entry=entry, reason="重复登记", actor=personas["county_officer"])
    assert reversal.reverses_id == entry.pk and reversal.source == HourSource.CORRECTION and balance(volunteer) == 0
    with pytest.raises(StateConflict):
        hours_correct(entry=entry, reason="again", actor=personas["county_officer"])
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        HourEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(AppendOnlyError):
        entry.delete()
    totals = totals_by_region_month(personas["county_officer"])
    assert totals[0]["region"] == "331102" and totals[0]["credited"] == 60 and totals[0]["corrected"] == 60


def test_elder_volunteer_count_for_indicator_18(personas):
    for i, born in enumerate([date(1950, 1, 1), date(1970, 1, 1), date(1940, 1, 1)]):
        user = persona(Role.VOLUNTEER)
        volunteer_register(user=user, name=f"v{i}", birth_date=born, region_code="331102001" if i < 2 else "331121001", actor=user)
    lishui = region("331100").path
    liandu = region("331102").path
    assert elder_volunteer_count(lishui) == 2  # the 1970-born volunteer is under 60
    assert elder_volunteer_count(liandu) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(st.tuples(st.sampled_from(["credit", "transfer", "redeem", "correct"]), st.integers(1, 200)), max_size=15))
def test_hour_ledger_invariants_over_random_sequences(personas, ops):
    user = persona(Role.VOLUNTEER)
    parent = ElderFactory()
    link(user, parent)
    for n, (op, minutes) in enumerate(ops):
        try:
            if op == "credit":
                hours_credit_for_service(volunteer=user, elder=parent, order_ref=f"order:{user.pk}-{n}", minutes=minutes, actor=None)
            elif op == "transfer":
                hours_transfer(from_user=user, to_elder=parent, minutes=minutes, actor=user)
            elif op == "redeem":
                hours_redeem(account=account_for_user(user), minutes=minutes, service="助洁", actor=user)
            else:
                last = HourEntry.objects.filter(source=HourSource.SERVICE, debit__user=user).order_by("-pk").first()
                if last:
                    hours_correct(entry=last, reason="test", actor=personas["county_officer"])
        except StateConflict:
            pass
        report = ledger_check(HourAccount, HourEntry)
        assert report.ok, report
