"""The double-entry ledger core shared by the voucher ledger (fen) and the time bank (minutes).

An entry moves `amount` from its credit account to its debit account: the debit account's
balance rises, the credit account's falls, so the sum over all accounts is zero by construction.
Balances are cached on the account row and only ever changed here, while the caller holds
row locks on both accounts (select_for_update; on SQLite the IMMEDIATE transaction serialises
writers). `ledger_check` recomputes every balance from the entries.

Entries are append-only: the model refuses save-after-create and delete, and the queryset
refuses update and delete. A correction is a new entry in the other direction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiyang.core.errors import DomainError, StateConflict


class AppendOnlyError(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("ledger entries are append-only")

    def delete(self):
        raise AppendOnlyError("ledger entries are append-only")


class LedgerAccount(models.Model):
    """Concrete subclasses declare `kind` choices and NEGATIVE_KINDS (accounts that may run below zero)."""

    NEGATIVE_KINDS: frozenset[str] = frozenset()

    balance = models.BigIntegerField(gettext_lazy("balance"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def may_go_negative(self) -> bool:
        return self.kind in self.NEGATIVE_KINDS


class LedgerEntry(models.Model):
    """Concrete subclasses add `debit` and `credit` foreign keys to their account model."""

    at = models.DateTimeField(gettext_lazy("time"), default=timezone.now)
    amount = models.BigIntegerField(gettext_lazy("amount"))
    reason = models.CharField(gettext_lazy("reason"), max_length=255, blank=True)
    # No index: entries are read by account, never by actor; every index costs the monthly bulk insert.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("ledger entries are append-only")


def lock_accounts(model: type[LedgerAccount], ids) -> dict[int, LedgerAccount]:
    """Lock accounts in primary-key order, so two operations never wait on each other in a cycle."""
    rows = model.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    return {row.pk: row for row in rows}


def post(*, entry_model: type[LedgerEntry], debit: LedgerAccount, credit: LedgerAccount, amount: int, **fields) -> LedgerEntry:
    """Post one entry. Both accounts must have been locked (and read) in this transaction."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError(_("The amount must be a positive whole number."), field="amount")
    if debit.pk == credit.pk:
        raise DomainError(_("An entry needs two different accounts."), field="account")
    if not credit.may_go_negative and credit.balance < amount:
        raise StateConflict(
            _("The balance is too low: %(balance)s available, %(amount)s needed.") % {"balance": credit.balance, "amount": amount},
            code="insufficient_balance",
            field="amount",
        )
    entry = entry_model(debit=debit, credit=credit, amount=amount, **fields)
    entry.save()
    account_model = type(debit)
    # F() keeps the update right even if a caller forgot to re-read; the check constraint is the backstop.
    account_model.objects.filter(pk=debit.pk).update(balance=F("balance") + amount)
    account_model.objects.filter(pk=credit.pk).update(balance=F("balance") - amount)
    debit.balance += amount
    credit.balance -= amount
    return entry


def apply_balance_deltas(account_model: type[LedgerAccount], deltas: dict[int, int]) -> None:
    """After a bulk insert of entries: move the cached balances of the (locked) accounts by the totals."""
    for pk, delta in deltas.items():
        if delta:
            account_model.objects.filter(pk=pk).update(balance=F("balance") + delta)


@dataclass
class LedgerReport:
    accounts: int = 0
    entries: int = 0
    total: int = 0
    mismatched: list[tuple[int, int, int]] = field(default_factory=list)  # (account, cached, recomputed)
    negative: list[tuple[int, str, int]] = field(default_factory=list)  # (account, kind, balance)

    @property
    def ok(self) -> bool:
        return self.total == 0 and not self.mismatched and not self.negative


def ledger_check(account_model: type[LedgerAccount], entry_model: type[LedgerEntry]) -> LedgerReport:
    """Recompute every balance from the entries and compare with the cached balances."""
    computed: dict[int, int] = defaultdict(int)
    for row in entry_model.objects.values("debit_id").annotate(s=Sum("amount")).order_by():
        computed[row["debit_id"]] += row["s"]
    for row in entry_model.objects.values("credit_id").annotate(s=Sum("amount")).order_by():
        computed[row["credit_id"]] -= row["s"]
    report = LedgerReport(entries=entry_model.objects.count())
    for pk, kind, balance in account_model.objects.values_list("pk", "kind", "balance").iterator(chunk_size=5000):
        report.accounts += 1
        report.total += balance
        if computed.get(pk, 0) != balance:
            report.mismatched.append((pk, balance, computed.get(pk, 0)))
        if balance < 0 and kind not in account_model.NEGATIVE_KINDS:
            report.negative.append((pk, kind, balance))
    return report


def balance_constraint(kinds: frozenset[str], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(balance__gte=0) | models.Q(kind__in=sorted(kinds)), name=name)


def entry_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=models.Q(amount__gt=0), name=f"{prefix}_amount_positive"),
        models.CheckConstraint(condition=~models.Q(debit=F("credit")), name=f"{prefix}_two_accounts"),
    ]
