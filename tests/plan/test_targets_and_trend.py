from decimal import Decimal

import pytest

from yiyang.plan.periods import Period
from yiyang.plan.targets import TargetKind, parse_target
from yiyang.plan.trend import Status, assess, least_squares

D = Decimal


@pytest.mark.parametrize(
    ("text", "kind", "number", "city_wide"),
    [
        ("95", TargetKind.REACH, D("95"), False),
        ("45以上", TargetKind.AT_LEAST, D("45"), False),
        ("8.5以下", TargetKind.AT_MOST, D("8.5"), False),
        ("50及以上", TargetKind.AT_LEAST, D("50"), False),
        ("提高5", TargetKind.RAISE_BY, D("5"), False),
        ("逐步增加", TargetKind.INCREASE, None, False),
        ("达到全省平均水平以上", TargetKind.PROVINCIAL_AVERAGE, None, False),
        ("应援尽援", TargetKind.QUALITATIVE, None, False),
        ("5个以上", TargetKind.AT_LEAST, D("5"), False),
        ("全市3个以上", TargetKind.AT_LEAST, D("3"), True),
        ("/", TargetKind.NONE, None, False),
    ],
)
def test_target_wording(text, kind, number, city_wide):
    t = parse_target(text, baseline=D("14"))
    assert (t.kind, t.number, t.city_wide) == (kind, number, city_wide)


def test_unknown_wording_is_refused_not_guessed():
    with pytest.raises(ValueError):
        parse_target("大幅提高")


def test_thresholds_and_direction():
    assert parse_target("提高5", baseline=D("14")).threshold == D("19")
    assert parse_target("提高5", baseline=None).threshold is None
    assert parse_target("95", baseline=D("90")).met_by(D("95")) is True
    assert parse_target("95", baseline=D("90")).met_by(D("94.9")) is False
    assert parse_target("8.5以下").met_by(D("8.5")) is True
    assert parse_target("8.5以下").met_by(D("8.6")) is False
    assert parse_target("45以上").met_by(None) is None
    avg = parse_target("达到全省平均水平以上")
    assert avg.met_by(D("70"), reference=D("69")) is True
    assert avg.met_by(D("70"), reference=None) is None
    assert parse_target("应援尽援").met_by(D("100")) is None


def test_least_squares_worked_by_hand():
    # x = 2021, 2022, 2023; y = 40, 50, 57: mean x 2022, mean y 49; Sxy = (-1)(-9) + 0 + (1)(8) = 17; Sxx = 2
    slope, intercept = least_squares([(2021, 40), (2022, 50), (2023, 57)])
    assert slope == pytest.approx(8.5)
    assert intercept + slope * 2025 == pytest.approx(49 + 8.5 * 3)  # 74.5


def series(*pairs):
    return [(Period.parse(p), None if v is None else D(str(v))) for p, v in pairs]


def test_on_track_by_projection_to_the_target_year():
    target = parse_target("100", baseline=D("40"))
    a = assess(target=target, series=series(("2021", 40), ("2022", 50), ("2023", 57)), target_year=2025)
    assert a.status == Status.OFF_TRACK and a.projected == pytest.approx(74.5)
    b = assess(target=target, series=series(("2021", 60), ("2022", 80), ("2023", 100)), target_year=2025)
    assert b.status == Status.ON_TRACK and b.projected == pytest.approx(140)


def test_lower_is_better_and_increase_targets():
    down = parse_target("8.5以下")
    a = assess(target=down, series=series(("2021", 9.9), ("2022", 9.5), ("2023", 9.1)), target_year=2025)
    assert a.status == Status.ON_TRACK and a.projected == pytest.approx(8.3)
    inc = parse_target("逐步增加", baseline=D("36"))
    assert assess(target=inc, series=series(("2021", 36), ("2022", 36), ("2023", 37)), target_year=2025).status == Status.ON_TRACK
    assert assess(target=inc, series=series(("2021", 37), ("2022", 36), ("2023", 36)), target_year=2025).status == Status.OFF_TRACK


def test_fewer_than_three_periods_and_no_data_say_so():
    target = parse_target("95", baseline=D("90"))
    assert assess(target=target, series=series(("2021", 91), ("2022", 92)), target_year=2025).status == Status.NOT_ENOUGH_DATA
    assert assess(target=target, series=series(("2021", None), ("2022", None), ("2023", None)), target_year=2025).status == Status.NO_DATA
    # "no data" periods do not count towards the three.
    assert (
        assess(target=target, series=series(("2021", 91), ("2022", None), ("2023", 93)), target_year=2025).status == Status.NOT_ENOUGH_DATA
    )


def test_monthly_series_projects_to_december_of_the_target_year():
    target = parse_target("100", baseline=D("40"))
    # +1 point a month from 60 in 2025-01: December 2025 is month 12 -> 71.
    s = series(("2025-01", 60), ("2025-02", 61), ("2025-03", 62))
    a = assess(target=target, series=s, target_year=2025)
    assert a.projected == pytest.approx(71) and a.status == Status.OFF_TRACK


def test_not_evaluated_cases():
    s = series(("2021", 1), ("2022", 2), ("2023", 3))
    assert assess(target=parse_target("应援尽援"), series=s, target_year=2025).status == Status.NOT_EVALUATED
    assert assess(target=parse_target("达到全省平均水平以上"), series=s, target_year=2025).status == Status.NOT_EVALUATED
    assert assess(target=parse_target("达到全省平均水平以上"), series=s, target_year=2025, reference=D("4")).status == Status.ON_TRACK
    assert assess(target=parse_target("10", baseline=D("39")), series=s, target_year=2025, flagged=True).status == Status.NOT_EVALUATED
    assert assess(target=parse_target("100"), series=s, target_year=2025, applies=False).status == Status.NOT_EVALUATED
