"""Time of the item statistics (issue 4, item 5) for a large exam, beside a trivial numpy baseline.

    python benchmarks/item_statistics.py [--students 20000 --questions 45 --repeat 7 --seed 1]

Builds a synthetic n × P matrix of points, seeded: each student has an ability, each question a
difficulty; a third of the questions are true_false (+2 / −1, blank 0), a third choose-all
multiple_select (0, 2 or 4) and a third numeric all-or-nothing (0 or 3), about 5% of answers
blank. Then it times, in this one process, best and median of --repeat runs:

- the baseline: numpy's column means of the same matrix (``points.mean(axis=0)``);
- ``item_statistics`` (every question and the exam, as the bulk scoring job calls it);
- ``distractor_analysis`` of one true_false question and ``grid_accuracy`` of a 3 × 4 grid.

The target (the issue): item statistics well under 1 s at 20,000 × 45. No database, no server.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import numpy.typing as npt

from grading.statistics import distractor_analysis, grid_accuracy, item_statistics

TARGET_SECONDS = 1.0


def exam_synthesize(
    *, students: int, questions: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(points, blank, min_points, max_points) of a plausible exam."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=(students, 1))
    difficulty = rng.normal(scale=1.2, size=(1, questions))
    right = rng.random((students, questions)) < 1 / (1 + np.exp(difficulty - ability))
    blank = rng.random((students, questions)) < 0.05
    kind = np.arange(questions) % 3  # 0 true_false, 1 multiple_select, 2 numeric
    partial = rng.random((students, questions)) < 0.3
    points = np.select(
        [kind == 0, kind == 1, kind == 2],
        [np.where(right, 2.0, -1.0), np.where(right, 4.0, np.where(partial, 2.0, 0.0)), np.where(right, 3.0, 0.0)],
    )
    points[blank] = 0.0
    min_points = np.select([kind == 0], [-1.0], 0.0)
    max_points = np.select([kind == 0, kind == 1], [2.0, 4.0], 3.0)
    return points, blank, min_points, max_points


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best, median) wall time in seconds of ``repeat`` runs, after one warm-up."""
    run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--questions", type=int, default=45)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    points, blank, min_points, max_points = exam_synthesize(
        students=args.students, questions=args.questions, seed=args.seed
    )
    totals = points.sum(axis=1)
    answers = np.where(blank[:, 0], "", np.where(points[:, 0] > 0, "T", "F")).tolist()
    rng = np.random.default_rng(args.seed + 1)
    grid = ["".join("1" if c else "0" for c in row) for row in rng.random((args.students, 12)) < 0.7]

    runs: list[tuple[str, Callable[[], object]]] = [
        ("baseline: numpy column means", lambda: points.mean(axis=0)),
        (
            "item_statistics (questions + exam)",
            lambda: item_statistics(points, min_points=min_points, max_points=max_points, blank=blank),
        ),
        ("distractor_analysis (1 question)", lambda: distractor_analysis(answers, totals=totals, labels="TF")),
        ("grid_accuracy (1 grid, 12 cells)", lambda: grid_accuracy(grid, cells=12)),
    ]
    print(
        f"{args.students:,} sittings × {args.questions} questions; Python {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()}; best and median of {args.repeat} runs"
    )
    print(f"{'':38} {'best ms':>9} {'median ms':>10} {'× baseline':>11}")
    baseline = 0.0
    item_best = 0.0
    for name, run in runs:
        best, median = timed(run, args.repeat)
        baseline = baseline or best
        if name.startswith("item_statistics"):
            item_best = best
        print(f"{name:38} {best * 1000:9.2f} {median * 1000:10.2f} {best / baseline:11.0f}")
    verdict = "met" if item_best < TARGET_SECONDS else "MISSED"
    print(f"target: item_statistics under {TARGET_SECONDS:g} s: {verdict}")
    if item_best >= TARGET_SECONDS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
