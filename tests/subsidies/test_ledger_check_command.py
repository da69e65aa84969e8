from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ElderFactory
from tests.subsidies.conftest import PERIOD, make_programme
from yiyang.subsidies.models import Account, AccountKind
from yiyang.subsidies.operations import grants_run_month

pytestmark = pytest.mark.django_db


def test_ledger_check_passes_and_catches_a_tampered_balance(officer):
    ElderFactory(birth_date=date(1930, 1, 1))
    grants_run_month(programme=make_programme(officer), period=PERIOD, actor=officer)
    out = StringIO()
    call_command("ledger_check", stdout=out)
    assert "0 mismatched" in out.getvalue()
    # A cached balance changed behind the ledger's back is found.
    Account.objects.filter(kind=AccountKind.VOUCHER).update(balance=1)
    with pytest.raises(CommandError):
        call_command("ledger_check", stdout=StringIO())
