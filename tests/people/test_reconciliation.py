import csv
import io
from datetime import date

import pytest

from tests.people.helpers import new_id, register
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.imports import import_start
from yiyang.people.models import Elder, ReconciliationItem
from yiyang.people.operations import reconciliation_decide
from yiyang.people.queries import reconciliation_queue

pytestmark = pytest.mark.django_db


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def people(personas):
    a = register(personas["worker"], name="甲", id_number=new_id(date(1940, 1, 1)))
    b = register(personas["worker"], name="乙", id_number=new_id(date(1941, 1, 1)), categories=["dibao"])
    far = register(personas["other_county_officer"], name="丙", township="331121001", id_number=new_id(date(1942, 1, 1)))
    return a, b, far


def test_death_file_proposes_and_nothing_changes_until_confirmed(personas, people):
    a, b, far = people
    officer = personas["county_officer"]
    content = _csv(
        ["身份证号", "死亡日期"],
        [
            [a.reveal_id_number(), "2026/10/5"],
            [far.reveal_id_number(), "2026-10-06"],
            [new_id(), "2026-10-07"],
            [b.reveal_id_number(), "2099-01-01"],
        ],
    )
    job = import_start(actor=officer, kind="deaths", name="卫健委死亡名单.csv", content=content)
    assert (job.proposed_count, job.error_count) == (1, 3)
    assert Elder.objects.get(pk=a.pk).status == "active"
    queue = list(reconciliation_queue(officer))
    assert [i.elder_id for i in queue] == [a.pk]
    assert list(reconciliation_queue(personas["other_county_officer"])) == []
    # The same file again proposes nothing new.
    again = import_start(actor=officer, kind="deaths", name="卫健委死亡名单.csv", content=content)
    assert (again.proposed_count, again.unchanged_count) == (0, 1)

    reconciliation_decide(item=queue[0], actor=officer, confirm=True)
    a.refresh_from_db()
    assert (a.status, a.status_date) == ("deceased", date(2026, 10, 5))
    with pytest.raises(StateConflict):
        reconciliation_decide(item=queue[0], actor=officer, confirm=False)
    with pytest.raises(DomainError):
        reconciliation_decide(item=queue[0], actor=personas["other_county_officer"], confirm=True)


def test_hukou_moves_and_allowance_status(personas, people):
    a, b, _far = people
    officer = personas["county_officer"]
    moves = import_start(
        actor=officer,
        kind="hukou_moves",
        name="公安户籍迁移.csv",
        content=_csv(["身份证号", "迁入乡镇", "迁出日期"], [[a.reveal_id_number(), "331102002", "2026-09-01"]]),
    )
    allowance = import_start(
        actor=officer,
        kind="allowance",
        name="低保特困.csv",
        content=_csv(
            ["身份证号", "救助类别", "状态", "变动日期"],
            [
                [b.reveal_id_number(), "低保", "停保", "2026-08-01"],
                [a.reveal_id_number(), "特困", "新增", "2026-08-02"],
                [b.reveal_id_number(), "低保", "享受", ""],
            ],
        ),
    )
    assert moves.proposed_count == 1
    assert (allowance.proposed_count, allowance.unchanged_count) == (2, 1)
    items = {(i.elder_id, i.kind): i for i in reconciliation_queue(officer)}
    reconciliation_decide(item=items[(a.pk, "hukou_moves")], actor=officer, confirm=True)
    reconciliation_decide(item=items[(b.pk, "allowance")], actor=officer, confirm=True)
    reconciliation_decide(item=items[(a.pk, "allowance")], actor=officer, confirm=False, note="核实不符")
    a.refresh_from_db()
    assert a.hukou_region.code == "331102002"
    assert b.categories.get(category="dibao").ended == date(2026, 8, 1)
    assert not a.categories.filter(category="tekun").exists()
    assert ReconciliationItem.objects.get(elder=a, kind="allowance").status == "rejected"


def test_reconciliation_pages(client, personas, people):
    a = people[0]
    officer = personas["county_officer"]
    import_start(actor=officer, kind="deaths", name="d.csv", content=_csv(["身份证号", "死亡日期"], [[a.reveal_id_number(), "2026-10-05"]]))
    client.force_login(officer)
    page = client.get("/elders/reconciliation/").content.decode()
    assert "甲" in page
    item = ReconciliationItem.objects.get()
    assert client.post(f"/elders/reconciliation/{item.pk}/decide/", {"decision": "confirm"}).status_code == 302
    assert Elder.objects.get(pk=a.pk).status == "deceased"
    client.force_login(personas["other_county_officer"])
    assert client.post(f"/elders/reconciliation/{item.pk}/decide/", {"decision": "reject"}).status_code == 404
