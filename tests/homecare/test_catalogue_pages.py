"""Officers edit the menu from a page and the API: guide price, duration, qualification, task checklist, active."""

import pytest

from tests.homecare.helpers import place
from yiyang.audit.models import AuditEvent
from yiyang.core.errors import DomainError
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.models import ServiceItem


def _post_data(item: ServiceItem, **overrides) -> dict:
    data = {
        "name": item.name,
        "unit": item.unit,
        "guide_price": f"{item.guide_price_fen / 100:.2f}",
        "standard_minutes": str(item.standard_minutes),
        "qualification": item.qualification,
        "is_active": "on",
        "task_count": str(len(item.tasks) + 3),
    }
    for i, task in enumerate(item.tasks):
        data[f"task-{i}-code"] = task["code"]
        data[f"task-{i}-label"] = task["label"]
        if task["required"]:
            data[f"task-{i}-required"] = "on"
    data.update(overrides)
    return data


def test_officer_edits_every_field_of_an_item(client, personas, menu):
    item = menu["clean-home"]
    first, second = item.tasks[0]["code"], item.tasks[1]["code"]
    client.force_login(personas["county_officer"])
    assert client.get("/homecare/catalogue/").status_code == 200
    page = client.get("/homecare/catalogue/clean-home/")
    assert page.status_code == 200 and f'value="{item.tasks[0]["label"]}"' in page.content.decode()
    n = len(item.tasks)
    data = _post_data(
        item,
        guide_price="45.5",
        standard_minutes="75",
        qualification="care_worker",
        **{
            "task-0-label": "擦窗户",
            "task-1-remove": "on",
            f"task-{n}-label": "整理衣柜",
            f"task-{n}-required": "on",
        },
    )
    r = client.post("/homecare/catalogue/clean-home/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    item.refresh_from_db()
    assert item.guide_price_fen == 4550 and item.standard_minutes == 75 and item.qualification == "care_worker"
    codes = [t["code"] for t in item.tasks]
    assert codes[0] == first and item.tasks[0]["label"] == "擦窗户" and second not in codes
    assert item.tasks[-1]["label"] == "整理衣柜" and item.tasks[-1]["required"] and item.tasks[-1]["code"] not in (first, second)
    event = AuditEvent.objects.get(action="catalogue.update")
    assert event.detail["after"]["guide_price_fen"] == 4550


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"guide_price": "-1"}, "guide_price"),
        ({"guide_price": "abc"}, "guide_price"),
        ({"standard_minutes": "0"}, "standard_minutes"),
        ({"standard_minutes": "ninety"}, "standard_minutes"),
        ({"qualification": "wizard"}, "qualification"),
        ({"name": ""}, "name"),
        ({"task-0-label": ""}, "tasks"),
        ({"task-1-code": "deliver"}, "tasks"),  # the same code twice
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(client, personas, menu, overrides, field):
    item = menu["meal-delivery"]
    before = (item.guide_price_fen, item.standard_minutes, item.qualification, item.name, item.tasks)
    client.force_login(personas["city_officer"])
    r = client.post("/homecare/catalogue/meal-delivery/", _post_data(item, **overrides))
    assert r.status_code == 400 and f'aria-describedby="{field}-err"' in r.content.decode()
    item.refresh_from_db()
    assert (item.guide_price_fen, item.standard_minutes, item.qualification, item.name, item.tasks) == before


def test_officer_adds_an_item_and_may_switch_it_off(client, personas, menu, elder, offerings):
    client.force_login(personas["city_officer"])
    data = {
        "category": "comfort",
        "code": "comfort-reading",
        "name": "读书读报",
        "unit": "小时",
        "guide_price": "20",
        "standard_minutes": "60",
        "qualification": "none",
        "is_active": "on",
        "task_count": "3",
        "task-0-label": "读报",
        "task-0-required": "on",
    }
    assert client.post("/homecare/catalogue/new/", data).status_code == 302
    item = ServiceItem.objects.get(code="comfort-reading")
    assert item.guide_price_fen == 2000 and item.tasks == [{"code": "task-1", "label": "读报", "required": True}]
    r = client.post("/homecare/catalogue/new/", data)
    assert r.status_code == 400 and 'aria-describedby="code-err"' in r.content.decode()
    # Switched off: no longer orderable.
    r = client.post("/homecare/catalogue/meal-delivery/", _post_data(menu["meal-delivery"], is_active=""))
    assert r.status_code == 302 and not ServiceItem.objects.get(code="meal-delivery").is_active
    with pytest.raises(DomainError):
        place(elder, ServiceItem.objects.get(code="meal-delivery"), personas["operator"])


def test_only_officers_edit_the_menu(client, personas, menu):
    for role in ("dispatcher", "operator", "worker", "caregiver", "elder"):
        client.force_login(personas[role])
        assert client.get("/homecare/catalogue/").status_code == 403, role
        assert client.post("/homecare/catalogue/clean-home/", _post_data(menu["clean-home"], guide_price="1")).status_code == 403
    assert ServiceItem.objects.get(code="clean-home").guide_price_fen == menu["clean-home"].guide_price_fen
    client.force_login(personas["county_officer"])
    assert client.get("/homecare/catalogue/no-such-item/").status_code == 404


def test_api_puts_and_creates_items(client, api_client, personas, menu):
    headers = api_client(personas["county_officer"])
    body = {
        "name": "上门保洁",
        "unit": "小时",
        "guide_price_fen": 4200,
        "standard_minutes": 90,
        "qualification": "none",
        "tasks": [{"code": "floor", "label": "拖地", "required": True}],
        "is_active": True,
    }
    r = client.put("/api/v1/homecare/catalogue/clean-home", body, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["tasks"] == body["tasks"] and r.json()["standard_minutes"] == 90
    for bad, field in (
        ({**body, "guide_price_fen": -5}, "guide_price_fen"),
        ({**body, "standard_minutes": 0}, "standard_minutes"),
        ({**body, "tasks": [{"code": "Bad Code", "label": "x"}]}, "tasks"),
        ({**body, "qualification": "x"}, "qualification"),
    ):
        r = client.put("/api/v1/homecare/catalogue/clean-home", bad, content_type="application/json", **headers)
        assert r.status_code == 400 and r.json()["field"] == field, r.content
    assert ServiceItem.objects.get(code="clean-home").guide_price_fen == 4200
    r = client.post(
        "/api/v1/homecare/catalogue", {**body, "category": "clean", "code": "clean-deep"}, content_type="application/json", **headers
    )
    assert r.status_code == 201 and r.json()["category"] == "clean"
    r = client.post("/api/v1/homecare/catalogue", {**body, "category": "space", "code": "x"}, content_type="application/json", **headers)
    assert r.status_code == 400 and r.json()["field"] == "category"
    r = client.put("/api/v1/homecare/catalogue/clean-home", body, content_type="application/json", **api_client(personas["dispatcher"]))
    assert r.status_code == 403


def test_operation_keeps_task_codes_and_refuses_bad_checklists(personas, menu):
    item = menu["bath-home"]
    args = {
        "actor": personas["city_officer"],
        "item": item,
        "name": item.name,
        "unit": item.unit,
        "guide_price_fen": item.guide_price_fen,
        "standard_minutes": item.standard_minutes,
        "qualification": item.qualification,
    }
    for tasks in (
        [{"code": "a", "label": ""}],
        [{"code": "A B", "label": "x"}],
        [{"code": "a", "label": "x"}, {"code": "a", "label": "y"}],
        "bath",
    ):
        with pytest.raises(DomainError) as exc:
            pops.catalogue_item_save(tasks=tasks, **args)
        assert exc.value.field == "tasks"
    saved, created = pops.catalogue_item_save(tasks=[{"code": "bath", "label": "协助洗浴（含洗头）", "required": 1}], **args)
    assert not created and saved.tasks == [{"code": "bath", "label": "协助洗浴（含洗头）", "required": True}]
