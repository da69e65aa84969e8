from datetime import date

import pytest

from tests.factories import ElderFactory, region
from tests.subsidies.conftest import PERIOD, make_programme
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import Category, ElderCategory, ElderStatus, LivingArrangement
from yiyang.subsidies.ledger import ledger_check
from yiyang.subsidies.models import Account, AccountKind, Entry, Grant, GrantRun, Notification
from yiyang.subsidies.operations import (
    eligible_elders,
    explain,
    grants_run_all,
    grants_run_month,
    programme_preview,
    programme_update,
    vouchers_spend,
)

pytestmark = pytest.mark.django_db


def preview_of(programme, period=PERIOD):
    return programme_preview(region_path=programme.region.path, rule=programme.rule, tiers=programme.tiers, period=period)


def test_preview_counts_exactly_what_the_grant_grants(officer, personas):
    tiers = [
        {"key": "tekun", "label": "特困", "all": [{"fact": "category", "op": "any", "value": ["tekun"]}], "amount_fen": 30000},
        {"key": "alone", "label": "独居", "all": [{"fact": "living_arrangement", "op": "in", "value": ["alone"]}], "amount_fen": 20000},
        {"key": "rest", "label": "其他高龄", "all": [], "amount_fen": 10000},
    ]
    programme = make_programme(officer, tiers=tiers)
    old = date(1940, 1, 1)
    a = ElderFactory(birth_date=old)
    ElderCategory.objects.create(elder=a, category=Category.TEKUN, since=date(2020, 1, 1))
    b = ElderFactory(birth_date=old, living_arrangement=LivingArrangement.ALONE)
    c = ElderFactory(birth_date=old)
    ElderFactory(birth_date=date(1970, 1, 1))  # too young
    ElderFactory(birth_date=old, status=ElderStatus.DECEASED)  # not active
    ElderFactory(birth_date=old, residence_region=region("331121001"))  # another county
    ended = ElderFactory(birth_date=old)
    ElderCategory.objects.create(elder=ended, category=Category.TEKUN, since=date(2020, 1, 1), ended=date(2026, 10, 1))

    preview = preview_of(programme)
    assert preview["count"] == 4
    assert [t["count"] for t in preview["tiers"]] == [1, 1, 2]
    assert preview["total_fen"] == 30000 + 20000 + 20000

    run, created = grants_run_month(programme=programme, period=PERIOD, actor=officer)
    assert created and run.granted == preview["count"] and run.total_fen == preview["total_fen"]
    tiers_by_elder = dict(Grant.objects.values_list("elder_id", "tier"))
    assert tiers_by_elder == {a.pk: "tekun", b.pk: "alone", c.pk: "rest", ended.pk: "rest"}
    assert ledger_check(Account, Entry).ok


def test_running_a_month_twice_grants_nothing_twice(programme, old_elder, officer):
    first, created = grants_run_month(programme=programme, period=PERIOD, actor=officer)
    again, created_again = grants_run_month(programme=programme, period=PERIOD, actor=officer)
    assert created and not created_again and again.pk == first.pk
    assert Grant.objects.count() == 1 and GrantRun.objects.count() == 1
    assert grants_run_all(period=PERIOD) == [{"programme": programme.pk, "period": "2026-11-01", "created": False, "granted": 1}]
    assert Account.objects.get(kind=AccountKind.FUNDING, programme=programme).balance == -10000


def test_grant_stores_facts_and_they_re_evaluate_to_the_same_answer(programme, old_elder, officer):
    grants_run_month(programme=programme, period=PERIOD, actor=officer)
    grant = Grant.objects.get(elder=old_elder)
    assert grant.facts["age"] == 86 and grant.facts["as_of"] == "2026-11-01"
    assert grant.run.rule["rule"] == [{"fact": "age", "op": "gte", "value": 80}]
    assert explain(grant)["holds"] is True
    # The registry changes later; the explanation still shows the facts as they stood.
    old_elder.birth_date = date(1990, 1, 1)
    old_elder.save()
    grant.refresh_from_db()
    assert explain(grant)["holds"] is True
    # Editing the programme does not rewrite the explanation either.
    programme_update(
        programme=programme,
        actor=officer,
        name=programme.name,
        funding_source=programme.funding_source,
        region_code="331102",
        starts_on="2026-01",
        rule=[{"fact": "age", "op": "gte", "value": 90}],
        tiers=programme.tiers,
        categories=programme.categories,
    )
    grant.refresh_from_db()
    assert explain(grant)["holds"] is True


def test_family_is_told_of_the_grant(programme, elders, personas, officer):
    elders["liandu"].birth_date = date(1935, 1, 1)
    elders["liandu"].save()
    grants_run_month(programme=programme, period=PERIOD, actor=officer)
    notes = Notification.objects.filter(elder=elders["liandu"])
    assert {n.user for n in notes} == {personas["family"], personas["elder"]}


def test_draft_programme_does_not_grant_and_months_outside_the_period_refuse(officer, old_elder):
    draft = make_programme(officer, active=False)
    with pytest.raises(StateConflict):
        grants_run_month(programme=draft, period=PERIOD, actor=officer)
    later = make_programme(officer, starts_on="2027-01")
    with pytest.raises(DomainError) as err:
        grants_run_month(programme=later, period=PERIOD, actor=officer)
    assert err.value.field == "period"
    assert Grant.objects.count() == 0 and GrantRun.objects.count() == 0


def test_month_end_expiry_unless_carry_over(officer, old_elder, supplier):
    expiring = make_programme(officer, name="到期", carry_over=False)
    carrying = make_programme(officer, name="结转", carry_over=True)
    october = date(2026, 10, 1)
    grants_run_month(programme=expiring, period=october, actor=officer)
    grants_run_month(programme=carrying, period=october, actor=officer)
    assert vouchers_spend(elder=old_elder, order_ref="x-1", category="meal", amount_fen=2500, actor=officer, provider=supplier) == 2500
    run, _ = grants_run_month(programme=expiring, period=PERIOD, actor=officer)
    grants_run_month(programme=carrying, period=PERIOD, actor=officer)
    # Oldest first: the first-created October lot (expiring) paid the 25 yuan, 75 left expired.
    assert run.expired_fen == 7500
    assert Account.objects.get(kind=AccountKind.EXPIRED, programme=expiring).balance == 7500
    lots = dict(Account.objects.filter(kind=AccountKind.VOUCHER, elder=old_elder).values_list("programme_id", "period").order_by())
    assert lots
    balances = {(a.programme_id, a.period): a.balance for a in Account.objects.filter(kind=AccountKind.VOUCHER, elder=old_elder)}
    assert balances == {
        (expiring.pk, october): 0,
        (expiring.pk, PERIOD): 10000,
        (carrying.pk, october): 10000,
        (carrying.pk, PERIOD): 10000,
    }
    assert ledger_check(Account, Entry).ok


def test_eligible_queryset_is_one_query(programme, old_elder, django_assert_num_queries):
    ElderFactory.create_batch(5, birth_date=date(1930, 1, 1))
    with django_assert_num_queries(2):  # region lookups for region facts are not needed here: one count + savepoint-free
        preview = preview_of(programme)
        assert preview["count"] == 6
        assert eligible_elders(region_path=programme.region.path, rule=programme.rule, tiers=programme.tiers, period=PERIOD).count() == 6


def test_monthly_job_grants_every_active_programme_once(officer, old_elder):
    from yiyang.subsidies.tasks import monthly_grants

    first = make_programme(officer, name="甲")
    second = make_programme(officer, name="乙", carry_over=True)
    make_programme(officer, name="草稿", active=False)
    result = monthly_grants.call(period="2026-11")
    assert sorted((r["programme"], r["created"], r["granted"]) for r in result) == [(first.pk, True, 1), (second.pk, True, 1)]
    again = monthly_grants.call(period="2026-11")
    assert all(not r["created"] for r in again) and Grant.objects.count() == 2
