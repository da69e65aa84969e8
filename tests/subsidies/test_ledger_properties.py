"""Random sequences of grants, spends, refunds, expiries and settlements; the invariants hold after every step."""

from datetime import date

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.factories import ElderFactory, ProviderFactory, persona
from tests.subsidies.conftest import make_programme
from yiyang.accounts.roles import Role
from yiyang.core.errors import DomainError
from yiyang.subsidies.ledger import ledger_check
from yiyang.subsidies.models import Account, AccountKind, Entry, EntrySource, Refund, Settlement, Spend
from yiyang.subsidies.operations import current_period, grants_run_month, settlement_close, vouchers_refund, vouchers_spend

MONTHS = [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
CATEGORIES = ["meal", "clean", "bath"]


class VoucherLedger(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in its own transaction, rolled back in teardown.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.refs: list[str] = []
        self.n = 0

    @initialize()
    def setup(self):
        self.officer = persona(Role.COUNTY_OFFICER, regions=("331102",))
        self.providers = [ProviderFactory(), ProviderFactory()]
        self.programmes = [
            make_programme(
                self.officer,
                name="meal",
                categories=["meal"],
                carry_over=False,
                tiers=[{"key": "a", "label": "a", "all": [], "amount_fen": 3000}],
            ),
            make_programme(
                self.officer,
                name="general",
                categories=["meal", "clean"],
                carry_over=True,
                tiers=[
                    {
                        "key": "alone",
                        "label": "alone",
                        "all": [{"fact": "living_arrangement", "op": "in", "value": ["alone"]}],
                        "amount_fen": 5000,
                    },
                    {"key": "b", "label": "b", "all": [], "amount_fen": 2000},
                ],
            ),
        ]
        self.elders = [
            ElderFactory(birth_date=date(1930, 1, 1), living_arrangement="alone"),
            ElderFactory(birth_date=date(1940, 6, 1)),
            ElderFactory(birth_date=date(1950, 6, 1)),  # too young for either programme
        ]

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @rule(p=st.integers(0, 1), m=st.sampled_from(MONTHS))
    def grant(self, p, m):
        grants_run_month(programme=self.programmes[p], period=m, actor=self.officer)

    @rule(e=st.integers(0, 2), pv=st.integers(0, 1), cat=st.sampled_from(CATEGORIES), amount=st.integers(0, 9000))
    def spend(self, e, pv, cat, amount):
        self.n += 1
        ref = f"r{self.n}"
        before = self.elder_total(e)
        covered = vouchers_spend(
            elder=self.elders[e], order_ref=ref, category=cat, amount_fen=amount, actor=self.officer, provider=self.providers[pv]
        )
        assert 0 <= covered <= amount
        assert self.elder_total(e) == before - covered
        self.refs.append(ref)

    @rule(i=st.integers(0, 50))
    def repeat_spend(self, i):
        if not self.refs:
            return
        ref = self.refs[i % len(self.refs)]
        spend = Spend.objects.get(order_ref=ref)
        if Refund.objects.filter(spend=spend).exists():
            return
        again = vouchers_spend(elder=spend.elder, order_ref=ref, category=spend.category, amount_fen=spend.asked_fen, actor=self.officer)
        assert again == Spend.objects.get(order_ref=ref).covered_fen

    @rule(i=st.integers(0, 50))
    def refund(self, i):
        if not self.refs:
            return
        ref = self.refs[i % len(self.refs)]
        spend = Spend.objects.get(order_ref=ref)
        already = Refund.objects.filter(spend=spend).exists()
        before = self.elder_total(self.elders.index(spend.elder))
        try:
            back = vouchers_refund(order_ref=ref, actor=self.officer)
        except DomainError:
            return
        assert back == spend.covered_fen
        if not already:
            assert self.elder_total(self.elders.index(spend.elder)) == before + back

    @rule(pv=st.integers(0, 1))
    def settle(self, pv):
        provider = self.providers[pv]
        if Settlement.objects.filter(provider=provider, period=current_period()).exists():
            return
        settlement_close(provider=provider, period=current_period(), actor=self.officer)

    def elder_total(self, e) -> int:
        return sum(Account.objects.filter(kind=AccountKind.VOUCHER, elder=self.elders[e]).values_list("balance", flat=True))

    @invariant()
    def ledger_balances(self):
        report = ledger_check(Account, Entry)
        assert report.ok, report

    @invariant()
    def spends_match_their_entries(self):
        for spend in Spend.objects.all():
            taken = sum(Entry.objects.filter(order_ref=spend.order_ref, source=EntrySource.ORDER).values_list("amount", flat=True))
            back = sum(Entry.objects.filter(order_ref=spend.order_ref, source=EntrySource.REFUND).values_list("amount", flat=True))
            assert taken == spend.covered_fen
            assert back == (spend.covered_fen if Refund.objects.filter(spend=spend).exists() else 0)

    @invariant()
    def closed_months_do_not_change(self):
        for s in Settlement.objects.all():
            accounts = Account.objects.filter(provider=s.provider)
            late = Entry.objects.filter(period=s.period, at__gt=s.closed_at).filter(debit__in=accounts)
            assert not late.exclude(source=EntrySource.SETTLEMENT).exists()


@pytest.mark.django_db
def test_voucher_ledger_invariants_over_random_sequences(personas):
    run_state_machine_as_test(
        VoucherLedger,
        settings=settings(max_examples=10, stateful_step_count=15, deadline=None, suppress_health_check=list(HealthCheck)),
    )
