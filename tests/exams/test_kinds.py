"""Each question kind validates its own config, key and answers with clear messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from exams.kinds import KINDS, ChoiceData, get_kind
from exams.services import question_validate

ABC = [ChoiceData("A", "one", False), ChoiceData("B", "two", True), ChoiceData("C", "three", False)]


def message(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(error.value.messages)


def test_registry_has_every_kind_of_the_design() -> None:
    assert set(KINDS) == {
        "true_false",
        "single_choice",
        "multiple_select",
        "short_answer",
        "numeric",
        "expression",
        "grid",
        "sketch",
    }
    for kind in KINDS.values():
        assert kind.default_policy in kind.policies
        assert kind.widget_template == f"exams/widgets/{kind.name}.html"


def test_unknown_kind_is_named() -> None:
    with pytest.raises(KeyError, match="essay"):
        get_kind("essay")
    with pytest.raises(ValidationError) as error:
        question_validate(kind="essay", points=1)
    assert "essay" in str(error.value.message_dict["kind"])


# true_false ----------------------------------------------------------------------------


def test_true_false_defaults_to_negative_marking_minus_one() -> None:
    clean = question_validate(kind="true_false", points=2, key={"value": False})
    assert clean.policy == "negative_marking"
    assert clean.policy_params == {"wrong": -1, "blank": 0}
    assert clean.key == {"value": False}


def test_true_false_needs_a_boolean_key() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="true_false", points=2, key={"value": "yes"})
    assert "true or false" in str(error.value.message_dict["key"])


def test_negative_marking_refuses_a_positive_wrong_mark_and_unknown_params() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="true_false", points=2, key={"value": True}, policy_params={"wrong": 1})
    assert "at most 0" in str(error.value.message_dict["policy"])
    with pytest.raises(ValidationError) as error:
        question_validate(kind="true_false", points=2, key={"value": True}, policy_params={"bonus": 1})
    assert "bonus" in str(error.value.message_dict["policy"])


def test_policy_must_be_one_the_kind_accepts() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="true_false", points=2, key={"value": True}, policy="per_cell")
    assert "negative_marking or all_or_nothing" in str(error.value.message_dict["policy"])


def test_true_false_answers_allow_blank() -> None:
    kind = get_kind("true_false")
    assert kind.clean_answer({}, None, []) is None
    assert kind.clean_answer({}, True, []) is True
    with pytest.raises(ValidationError):
        kind.clean_answer({}, "true", [])


# choices ---------------------------------------------------------------------------------


def test_multiple_select_needs_a_correct_choice() -> None:
    none_correct = [ChoiceData(c.label, c.text, False) for c in ABC]
    with pytest.raises(ValidationError) as error:
        question_validate(kind="multiple_select", points=4, choices=none_correct)
    assert "at least one correct choice" in str(error.value.message_dict["key"])


def test_multiple_select_default_policy_deducts_two() -> None:
    clean = question_validate(kind="multiple_select", points=4, choices=ABC)
    assert (clean.policy, clean.policy_params) == ("per_error_deduction", {"deduction": 2})


def test_choice_kinds_need_two_distinct_labels() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="single_choice", points=1, choices=[ChoiceData("A", "x", True)])
    assert "at least two choices" in str(error.value.message_dict["choices"])
    with pytest.raises(ValidationError) as error:
        question_validate(
            kind="single_choice", points=1, choices=[ChoiceData("A", "x", True), ChoiceData("A", "y", False)]
        )
    assert "unique" in str(error.value.message_dict["choices"])


def test_single_choice_needs_exactly_one_correct() -> None:
    two = [ChoiceData("A", "x", True), ChoiceData("B", "y", True)]
    with pytest.raises(ValidationError) as error:
        question_validate(kind="single_choice", points=1, choices=two)
    assert "exactly one correct choice; 2 are marked" in str(error.value.message_dict["key"])


def test_non_choice_kinds_refuse_choices() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="numeric", points=1, key={"value": 1}, choices=ABC)
    assert "has no choices" in str(error.value.message_dict["choices"])


def test_choice_answers_are_checked_against_labels() -> None:
    ms = get_kind("multiple_select")
    assert ms.clean_answer({}, ["C", "A"], ABC) == ["A", "C"]
    assert ms.clean_answer({}, [], ABC) is None
    with pytest.raises(ValidationError, match="No such choice: Z"):
        ms.clean_answer({}, ["Z"], ABC)
    sc = get_kind("single_choice")
    assert sc.clean_answer({}, "B", ABC) == "B"
    with pytest.raises(ValidationError):
        sc.clean_answer({}, ["B"], ABC)


# short answer --------------------------------------------------------------------------


def test_short_answer_parts_and_limits() -> None:
    kind = get_kind("short_answer")
    config = kind.clean_config({"parts": ["a", "b"]})
    assert kind.clean_answer(config, {"a": "yes", "b": ""}, []) == {"a": "yes", "b": ""}
    assert kind.clean_answer(config, {"a": "  ", "b": ""}, []) is None
    with pytest.raises(ValidationError, match=r"Answer each part \(a, b\)"):
        kind.clean_answer(config, "one text", [])
    with pytest.raises(ValidationError, match="limit is 10"):
        kind.clean_answer(kind.clean_config({"max_length": 10}), "x" * 11, [])
    with pytest.raises(ValidationError, match="single lowercase letters"):
        kind.clean_config({"parts": ["part one"]})


def test_short_answer_is_manual_only() -> None:
    clean = question_validate(kind="short_answer", points=2, key={"model_answer": "Because."})
    assert clean.policy == "manual"
    with pytest.raises(ValidationError):
        question_validate(kind="short_answer", points=2, policy="all_or_nothing")


# numeric -------------------------------------------------------------------------------


def test_numeric_key_needs_a_value_and_sane_tolerance() -> None:
    clean = question_validate(kind="numeric", points=1, key={"value": 3.14, "tolerance": 0.01})
    assert clean.key == {"value": 3.14, "tolerance": 0.01, "mode": "absolute"}
    for bad, text in (
        ({}, "value"),
        ({"value": "3"}, "finite number"),
        ({"value": 1, "tolerance": -1}, "cannot be negative"),
        ({"value": 1, "mode": "percent"}, "absolute or relative"),
    ):
        with pytest.raises(ValidationError) as error:
            question_validate(kind="numeric", points=1, key=bad)
        assert text in str(error.value.message_dict["key"])


def test_numeric_answer_parses_text() -> None:
    kind = get_kind("numeric")
    assert kind.clean_answer({}, " 1,000.5 ", []) == 1000.5
    assert kind.clean_answer({}, "", []) is None
    with pytest.raises(ValidationError, match="not a number"):
        kind.clean_answer({}, "ten", [])


def test_numeric_describes_its_tolerance() -> None:
    kind = get_kind("numeric")
    assert kind.describe_key({"unit": "ms"}, {"value": 5, "tolerance": 0.5, "mode": "absolute"}, []) == "5 ms ± 0.5 ms"
    assert kind.describe_key({}, {"value": 5, "tolerance": 0.1, "mode": "relative"}, []) == "5 ± 10%"


# expression ----------------------------------------------------------------------------


def test_expression_key_must_parse_over_its_variables() -> None:
    clean = question_validate(
        kind="expression", points=3, config={"variables": ["D_C"]}, key={"expression": "sqrt(2 - 2*D_C)"}
    )
    assert clean.key == {"expression": "sqrt(2 - 2*D_C)"}
    with pytest.raises(ValidationError) as error:
        question_validate(kind="expression", points=3, config={"variables": ["D_C"]}, key={"expression": "sqrt(2-2*x)"})
    assert "Unknown name 'x'" in str(error.value.message_dict["key"])


def test_expression_variables_are_checked() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        get_kind("expression").clean_config({"variables": ["sqrt"]})
    with pytest.raises(ValidationError, match="not a variable name"):
        get_kind("expression").clean_config({"variables": ["2x"]})


# grid ----------------------------------------------------------------------------------

SIGN_GRID: dict[str, Any] = {
    "rows": 3,
    "cols": 3,
    "symbols": ["+", "-", "0"],
    "beside": [[0, -1, -1], [1, 1, -1], [-1, -1, 1]],
}


def test_grid_key_must_match_rows_by_columns() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="grid", points=3, config=SIGN_GRID, key={"cells": [["+", "-", "0"], ["+", "-", "0"]]})
    assert "3 rows × 3 columns" in str(error.value.message_dict["key"])


def test_grid_key_uses_only_its_symbols() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="grid", points=3, config=SIGN_GRID, key={"cells": [["+", "x", "0"]] * 3})
    assert "uses x" in str(error.value.message_dict["key"])


def test_grid_config_is_checked() -> None:
    kind = get_kind("grid")
    with pytest.raises(ValidationError, match="rows must be"):
        kind.clean_config({"rows": 0, "cols": 3, "symbols": ["+", "-"]})
    with pytest.raises(ValidationError, match="distinct"):
        kind.clean_config({"rows": 1, "cols": 1, "symbols": ["+", "+"]})
    with pytest.raises(ValidationError, match="beside"):
        kind.clean_config({**SIGN_GRID, "beside": [[1, 2]]})


def test_grid_answer_cells_may_be_empty() -> None:
    kind = get_kind("grid")
    config = kind.clean_config(SIGN_GRID)
    partial = [["+", None, None], [None, None, None], [None, None, "0"]]
    assert kind.clean_answer(config, partial, []) == partial
    assert kind.clean_answer(config, [[None] * 3] * 3, []) is None
    with pytest.raises(ValidationError, match="one of"):
        kind.clean_answer(config, [["?", None, None], [None] * 3, [None] * 3], [])


# sketch --------------------------------------------------------------------------------


def test_sketch_axes_and_strokes() -> None:
    kind = get_kind("sketch")
    config = kind.clean_config({"x_label": "Bip value", "y_label": "Zom score", "x_min": -3, "x_max": 3})
    assert config["y_min"] == -5 and config["x_label"] == "Bip value"
    with pytest.raises(ValidationError, match="x_min must be below"):
        kind.clean_config({"x_min": 3, "x_max": 3})
    answer = kind.clean_answer(config, {"strokes": [[[0, 0], [1, 1.123456]], []]}, [])
    assert answer == {"strokes": [[[0.0, 0.0], [1.0, 1.1235]]]}
    assert kind.clean_answer(config, {"strokes": []}, []) is None
    with pytest.raises(ValidationError, match=r"\[x, y\]"):
        kind.clean_answer(config, {"strokes": [[[0, "a"]]]}, [])


def test_unknown_config_settings_are_refused_by_name() -> None:
    with pytest.raises(ValidationError) as error:
        question_validate(kind="sketch", points=1, config={"colour": "red"})
    assert "colour" in str(error.value.message_dict["config"])


# groups ----------------------------------------------------------------------------------


def test_a_group_has_no_points_key_or_choices() -> None:
    assert question_validate(kind="group", points=0).policy == ""
    with pytest.raises(ValidationError) as error:
        question_validate(kind="group", points=3)
    assert "sum of its sub-questions" in str(error.value.message_dict["points"])
    with pytest.raises(ValidationError):
        question_validate(kind="group", points=0, key={"value": True})
