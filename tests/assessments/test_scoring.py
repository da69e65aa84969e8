"""GB/T 42195-2022 scoring, item by item, against worked examples built by hand from the standard's form.

The expected figures below are written out, not recomputed from the YAML, so a change in the
data file that alters a score makes these tests fail.
"""

import pytest

from yiyang.assessments.scale import ScaleConfig, get_config, get_scale
from yiyang.assessments.scoring import Facts, score, validate_answers
from yiyang.core.errors import DomainError

# The standard's form: 8 + 4 + 9 + 5 items, each with its maximum score.
MAXIMA = {
    "B.1.1": 4, "B.1.2": 4, "B.1.3": 4, "B.1.4": 4, "B.1.5": 4, "B.1.6": 4, "B.1.7": 4, "B.1.8": 4,
    "B.2.1": 4, "B.2.2": 4, "B.2.3": 4, "B.2.4": 3,
    "B.3.1": 4, "B.3.2": 4, "B.3.3": 4, "B.3.4": 4, "B.3.5": 4, "B.3.6": 4, "B.3.7": 1, "B.3.8": 1, "B.3.9": 2,
    "B.4.1": 2, "B.4.2": 2, "B.4.3": 4, "B.4.4": 3, "B.4.5": 4,
}  # fmt: skip
DIMENSION_OF = {"B.1": "self_care", "B.2": "basic_mobility", "B.3": "mental_status", "B.4": "sensory_social"}


def answers(**changes: int) -> dict[str, int]:
    """Every item at its maximum, with changes given as b1_1=2 for B.1.1."""
    result = dict(MAXIMA)
    for key, value in changes.items():
        result["B." + key[1:].replace("_", ".")] = value
    return result


def config(**kw) -> ScaleConfig:
    base = get_config()
    return ScaleConfig(**{**base.__dict__, **kw})


def test_the_scale_has_the_standards_structure_and_a_version():
    scale = get_scale()
    assert {i.code: i.max_score for i in scale.items} == MAXIMA
    assert [(d.code, len(d.items), d.max_score) for d in scale.dimensions] == [
        ("B.1", 8, 32),
        ("B.2", 4, 15),
        ("B.3", 9, 28),
        ("B.4", 5, 15),
    ]
    assert scale.total_max == 90
    assert scale.version.startswith("GB/T 42195-2022 v1 (")
    # every item's options run from 0 to its maximum without gaps
    for item in scale.items:
        assert sorted(item.scores) == list(range(item.max_score + 1)), item.code


def test_all_items_at_maximum_is_intact():
    result = score(answers())
    assert result.total == 90
    assert result.dimension_scores == {"self_care": 32, "basic_mobility": 15, "mental_status": 28, "sensory_social": 15}
    assert (result.preliminary_grade, result.grade, result.level_name) == (0, 0, "能力完好")


@pytest.mark.parametrize("code", list(MAXIMA))
def test_each_item_each_option_lowers_its_dimension_and_the_total_by_the_missing_points(code):
    dimension = DIMENSION_OF[code[:3]]
    dimension_max = {"self_care": 32, "basic_mobility": 15, "mental_status": 28, "sensory_social": 15}[dimension]
    for option in range(MAXIMA[code] + 1):
        given = dict(MAXIMA, **{code: option})
        result = score(given)
        missing = MAXIMA[code] - option
        assert result.total == 90 - missing, (code, option)
        assert result.dimension_scores[dimension] == dimension_max - missing, (code, option)
        # losing any point leaves 能力完好 (only 90 is intact)
        assert result.grade == (0 if missing == 0 else 1), (code, option)


def test_worked_example_mild():
    # Needs prompting for all self-care (3 each = 24); stairs with prompting (2); mobility 3,3,3 (9) -> 11;
    # memory slightly impaired (3), mood and behaviour fine -> 27; large print only (1), hearing fine (2),
    # daily affairs under supervision (3), taxi only (2), social 4 -> 12.  24 + 11 + 27 + 12 = 74.
    given = answers(
        b1_1=3, b1_2=3, b1_3=3, b1_4=3, b1_5=3, b1_6=3, b1_7=3, b1_8=3,
        b2_1=3, b2_2=3, b2_3=3, b2_4=2,
        b3_4=3,
        b4_1=1, b4_3=3, b4_4=2,
    )  # fmt: skip
    result = score(given)
    assert result.dimension_scores == {"self_care": 24, "basic_mobility": 11, "mental_status": 27, "sensory_social": 12}
    assert result.total == 74
    assert (result.grade, result.level_key, result.level_name) == (1, "mild", "轻度失能")


def test_worked_example_moderate_with_dementia_raised_to_severe():
    # Self-care mostly with help (2 each = 16); mobility 2,2,2,1 = 7; mental: time 2, place 2, people 3,
    # memory 2, understanding 3, expression 3, no aggression 1, low mood 0, alert 2 = 18;
    # sensory: 1,1,2,1,2 = 7.  16 + 7 + 18 + 7 = 48 -> 中度失能 (46-65); dementia raises one grade.
    given = answers(
        b1_1=2, b1_2=2, b1_3=2, b1_4=2, b1_5=2, b1_6=2, b1_7=2, b1_8=2,
        b2_1=2, b2_2=2, b2_3=2, b2_4=1,
        b3_1=2, b3_2=2, b3_3=3, b3_4=2, b3_5=3, b3_6=3, b3_7=1, b3_8=0, b3_9=2,
        b4_1=1, b4_2=1, b4_3=2, b4_4=1, b4_5=2,
    )  # fmt: skip
    plain = score(given)
    assert (plain.total, plain.grade, plain.level_name) == (48, 2, "中度失能")
    raised = score(given, Facts(dementia=True))
    assert (raised.preliminary_grade, raised.grade, raised.level_name) == (2, 3, "重度失能")
    assert any("F00-F03" in r for r in raised.reasons)


def _answers_totalling(total: int) -> dict[str, int]:
    """Lower items in form order until the total is reached."""
    given = dict(MAXIMA)
    surplus = 90 - total
    for code in MAXIMA:
        cut = min(surplus, given[code])
        given[code] -= cut
        surplus -= cut
    assert sum(given.values()) == total
    return given


@pytest.mark.parametrize(
    ("total", "grade"),
    [(90, 0), (89, 1), (66, 1), (65, 2), (46, 2), (45, 3), (30, 3), (29, 4), (1, 4), (0, 4)],
)
def test_band_edges(total, grade):
    assert score(_answers_totalling(total)).grade == grade


def test_coma_overrides_the_total_and_its_target_is_configurable():
    given = _answers_totalling(80)
    assert score(given, Facts(coma=True)).grade == 4
    # The file marks this UNRESOLVED (some transcriptions say 重度失能): a region can choose grade 3.
    assert score(given, Facts(coma=True), config=config(coma_target_grade=3)).grade == 3
    # coma wins over the raise conditions
    assert score(given, Facts(coma=True, dementia=True), config=config(coma_target_grade=3)).grade == 3


def test_raise_conditions_one_grade_not_cumulative_by_default():
    given = _answers_totalling(70)  # mild
    assert score(given, Facts(mental_disorder=True)).grade == 2
    assert score(given, Facts(dementia=True, mental_disorder=True, care_risk_events_30d=3)).grade == 2
    assert score(given, Facts(dementia=True, mental_disorder=True), config=config(raise_is_cumulative=True)).grade == 3


def test_care_risk_events_threshold():
    given = _answers_totalling(70)
    assert score(given, Facts(care_risk_events_30d=1)).grade == 1
    assert score(given, Facts(care_risk_events_30d=2)).grade == 2
    assert score(given, Facts(care_risk_events_30d=2), config=config(care_risk_events_threshold=3)).grade == 1


def test_raise_is_capped_at_complete():
    assert score(_answers_totalling(10), Facts(dementia=True)).grade == 4


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [
        ({**MAXIMA, "B.2.4": 4}, "answers.B.2.4", "invalid_option"),
        ({**MAXIMA, "B.3.7": 2}, "answers.B.3.7", "invalid_option"),
        ({**MAXIMA, "B.1.1": -1}, "answers.B.1.1", "invalid_option"),
        ({**MAXIMA, "B.9.9": 1}, "answers.B.9.9", "unknown_item"),
        ({k: v for k, v in MAXIMA.items() if k != "B.4.5"}, "answers.B.4.5", "incomplete"),
    ],
)
def test_bad_answers_name_the_item(given, field, code):
    with pytest.raises(DomainError) as err:
        score(given)
    assert (err.value.field, err.value.code) == (field, code)


@pytest.mark.parametrize("value", [1.5, "x", True, "3.0"])
def test_non_integer_scores_are_refused(value):
    with pytest.raises(DomainError) as err:
        validate_answers({"B.1.1": value})
    assert err.value.field == "answers.B.1.1"


def test_string_digits_are_accepted_as_from_a_form():
    assert validate_answers({"B.1.1": "3"}) == {"B.1.1": 3}
