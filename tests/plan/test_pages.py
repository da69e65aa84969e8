import io
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import region
from yiyang.plan.operations import snapshot_take, value_approve, value_submit
from yiyang.plan.periods import Period
from yiyang.plan.queries import indicator_rows
from yiyang.plan.trend import Status

pytestmark = pytest.mark.django_db


def life_expectancy_series(personas, plan_indicator):
    """Approved city values 2021–2023 beside the printed 2020 base 81.04.

    Least squares over 2020..2023 with 81.04, 81.1, 81.2, 81.3: mean x 2021.5, mean y 81.16, Sxx 5,
    Sxy 0.44, slope 0.088; 2025: 81.16 + 0.088 × 3.5 = 81.468 < 81.5, so off track.
    """
    ind = plan_indicator(1)
    for year, v in (("2021", "81.1"), ("2022", "81.2"), ("2023", "81.3")):
        row = value_submit(indicator=ind, region=region("331100"), period=year, value=v, actor=personas["reporter"])
        value_approve(value=row, actor=personas["city_officer"])
    return ind


def test_city_status_by_least_squares_worked_by_hand(personas, plan_indicator):
    ind = life_expectancy_series(personas, plan_indicator)
    row = indicator_rows(plan=ind.plan, region=region("331100"), indicators=[ind])[0]
    assert row.assessment.status == Status.OFF_TRACK
    assert row.assessment.projected == pytest.approx(81.468)
    assert row.assessment.latest == Decimal("81.3")


def test_cockpit_shows_status_in_words_and_symbols(client, personas, plan_indicator):
    life_expectancy_series(personas, plan_indicator)
    client.force_login(personas["city_officer"])
    response = client.get("/plan/?region=331100")
    assert response.status_code == 200
    html = response.content.decode()
    assert "人均预期寿命" in html and "全市获长寿之乡品牌认定单位" in html
    assert "✘" in html and "⚑" in html  # off track, and indicator 26 flagged
    assert 'data-chart="plan-summary-data"' in html and "<script>" not in html


def test_the_previous_plan_is_there_as_history(client, personas):
    client.force_login(personas["city_officer"])
    html = client.get("/plan/?region=331100&plan=2016-2020").content.decode()
    assert "每千名老人拥有机构养老床位数" in html and "全市3个以上" in html


def test_a_county_officer_sees_only_their_county(client, personas, tekun_population, plan_indicator):
    snapshot_take(period=str(Period.month_of(timezone.localdate())))
    client.force_login(personas["county_officer"])
    home = client.get("/plan/")
    assert home.status_code == 200 and "莲都区" in home.content.decode()
    for url in ("/plan/?region=331100", "/plan/?region=331121", "/plan/indicators/2021-2025/5/?region=331100",
                "/plan/indicators/2021-2025/5/?region=331121001", "/plan/export/indicators.xlsx?region=331100",
                "/plan/report/midterm.docx?region=331100", "/plan/indicators/2021-2025/5/rows/?region=331100"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    page = client.get("/plan/indicators/2021-2025/5/?region=331102").content.decode()
    assert "60" in page and "紫金街道" in page  # own value and townships
    # Neither the city's 57.1429 nor 青田's 50 appears: the city total cannot be derived by differences.
    assert "57.14" not in page and "青田" not in page and "region=331100" not in page


def test_drilldown_lists_the_elders_behind_the_number_within_scope(client, personas, tekun_population):
    month = str(Period.month_of(timezone.localdate()))
    client.force_login(personas["county_officer"])
    page = client.get(f"/plan/indicators/2021-2025/5/rows/?region=331102&period={month}")
    assert page.status_code == 200
    assert "3 rows" in page.content.decode() or "3 " in page.content.decode()
    assert page.context["page"].paginator.count == 3
    client.force_login(personas["city_officer"])
    assert client.get(f"/plan/indicators/2021-2025/5/rows/?region=331100&period={month}").context["page"].paginator.count == 4
    client.force_login(personas["reporter"])
    assert client.get(f"/plan/indicators/2021-2025/5/rows/?region=331100&period={month}").status_code == 404


def test_roles_without_the_cockpit_get_404(client, personas):
    for name in ("worker", "caregiver", "family", "elder"):
        client.force_login(personas[name])
        assert client.get("/plan/").status_code == 404


def test_entry_form_errors_sit_next_to_the_field(client, personas, plan_indicator):
    client.force_login(personas["county_officer"])
    ind = plan_indicator(4)
    bad = client.post("/plan/enter/", {"indicator": ind.pk, "region": "331102", "period": "2022", "value": "abc"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'id="id_value" name="value" value="abc" inputmode="decimal" aria-invalid="true" aria-describedby="id_value-error"' in html
    out_of_scope = client.post("/plan/enter/", {"indicator": ind.pk, "region": "331121", "period": "2022", "value": "3"})
    assert out_of_scope.status_code == 400 and 'id="id_region-error"' in out_of_scope.content.decode()
    ok = client.post("/plan/enter/", {"indicator": ind.pk, "region": "331102", "period": "2022", "value": "33.5"})
    assert ok.status_code == 302
    client.force_login(personas["city_officer"])
    queue = client.get("/plan/approvals/")
    assert "33.5" in queue.content.decode()
    value_id = queue.context["pending"][0].pk
    assert client.post(f"/plan/approvals/{value_id}/", {"decision": "approve"}).status_code == 302
    client.force_login(personas["other_county_officer"])
    assert client.post(f"/plan/approvals/{value_id}/", {"decision": "approve"}).status_code == 404


def test_indicator_table_exports_to_xlsx(client, personas, plan_indicator):
    from openpyxl import load_workbook

    life_expectancy_series(personas, plan_indicator)
    client.force_login(personas["city_officer"])
    response = client.get("/plan/export/indicators.xlsx?region=331100")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 27
    first = rows[1]
    assert first[0] == 1 and first[5] == "81.5" and "81.3" in first[7] and first[8] == "81.47"
    for table in ("tasks", "projects", "values"):
        assert client.get(f"/plan/export/{table}.xlsx").status_code == 200


def test_evaluation_report_is_a_word_document_with_table_charts_and_gaps(client, personas, plan_indicator):
    from docx import Document

    life_expectancy_series(personas, plan_indicator)
    client.force_login(personas["city_officer"])
    response = client.get("/plan/report/midterm.docx?region=331100&as_of=2023-12-31")
    assert response.status_code == 200
    doc = Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Mid-term" in text or "中期" in text
    assert "81.47" in text  # the gap: indicator 1 projected below its target
    assert len(doc.tables) == 3 and len(doc.tables[0].rows) == 27
    assert len(doc.inline_shapes) >= 1  # the chart of indicator 1, drawn from the same definition as the page
    assert client.get("/plan/report/midterm.docx?region=331100&as_of=yesterday").status_code == 400
    client.force_login(personas["reporter"])
    assert client.get("/plan/report/final.docx?region=331100").status_code == 404


def test_cockpit_queries_do_not_grow_with_data(client, personas, tekun_population, django_assert_max_num_queries):
    client.force_login(personas["city_officer"])
    snapshot_take(period=str(Period.month_of(timezone.localdate())))
    client.get("/plan/?region=331102")  # warm caches (content types, sessions)
    with django_assert_max_num_queries(16) as ctx:
        assert client.get("/plan/?region=331102").status_code == 200
    before = len(ctx.captured_queries)
    for month in ("2026-01", "2026-02", "2026-03"):
        snapshot_take(period=month)
    with django_assert_max_num_queries(before):
        client.get("/plan/?region=331102")
