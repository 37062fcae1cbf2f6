"""The random-guess score: what blind guessing earns on average, under the question's own policy.

A blind guesser gives a non-blank answer chosen uniformly among all those the question
admits, and the expected points are computed exactly, by counting, never by simulation:

- true_false: True or False. Under +2/−1 that is (2 − 1)/2 = 0.5.
- single_choice: one of the k options: (points + (k − 1)·wrong)/k under negative marking,
  points/k all or nothing.
- multiple_select: one of the 2ⁿ − 1 non-empty selections. The empty selection is a blank
  answer, which is not a guess, so it is left out. Selections are counted by how many
  correct (c) and wrong (w) options they hold, C(K, c)·C(n − K, w) of each, and scored
  with the policy's own ``per_error_points``.
- grid: every cell filled with one of the s symbols, independently: per_cell earns
  points/s on average (linearity of expectation), all_cells points/sᶜᵉˡˡˢ.
- numeric and expression answers cannot be enumerated, and manual questions are not
  scored by a rule: 0.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

from grading.scoring.choice import per_error_points
from grading.scoring.core import QuestionSpec
from grading.scoring.grid import per_cell_points
from grading.scoring.registry import scorer_for


def guess_score(spec: QuestionSpec) -> Fraction:
    """Expected points of a blind guess, as an exact fraction (before the hundredths that
    ``Score`` rounds to: use ``to_points`` to show it). ValueError for an unknown policy."""
    scorer_for(spec)  # the same (kind, policy) pairs as scoring, and the same error otherwise
    points = Fraction(spec.points)
    if spec.kind == "true_false":
        return _one_of(points, spec, options=2, correct=1)
    if spec.kind == "single_choice":
        return _one_of(points, spec, options=len(spec.choice_labels), correct=len(spec.correct_labels))
    if spec.kind == "multiple_select":
        return _selection_guess(points, spec)
    if spec.kind == "grid":
        return _grid_guess(points, spec)
    return Fraction(0)


def _one_of(points: Fraction, spec: QuestionSpec, *, options: int, correct: int) -> Fraction:
    wrong = Fraction(spec.param("wrong")) if spec.policy == "negative_marking" else Fraction(0)
    return (correct * points + (options - correct) * wrong) / options


def _selection_guess(points: Fraction, spec: QuestionSpec) -> Fraction:
    n, key_size = len(spec.choice_labels), len(spec.correct_labels)
    deduction = Fraction(spec.param("deduction")) if spec.policy == "per_error_deduction" else Fraction(0)
    total = Fraction(0)
    for hits in range(key_size + 1):
        for wrong in range(n - key_size + 1):
            if hits == 0 and wrong == 0:
                continue  # the empty selection is a blank, not a guess
            errors = (key_size - hits) + wrong
            if spec.policy == "per_error_deduction":
                earned = per_error_points(points=points, deduction=deduction, key_size=key_size, errors=errors)
            else:
                earned = points if errors == 0 else Fraction(0)
            total += comb(key_size, hits) * comb(n - key_size, wrong) * earned
    return total / (2**n - 1)


def _grid_guess(points: Fraction, spec: QuestionSpec) -> Fraction:
    cells = sum(len(row) for row in spec.key.get("cells") or [])
    symbols = len(spec.config.get("symbols") or [])
    if spec.policy == "per_cell":
        return per_cell_points(points=points, right=Fraction(cells, symbols), cells=cells)
    return points / Fraction(symbols) ** cells
