"""Draw the figures of the seed midterm (exams/seed/figures/*.png) with Pillow.

The paper's scans carry no images, so every figure is redrawn from the numbers below; the
answer key in exams/seed/cse493g1-sp23-midterm.md is derived from the same numbers, and
tests/exams/test_seed_key.py checks the two agree. Run from the repository root:

    .venv/bin/python scripts/draw_seed_figures.py

The output is deterministic for a given Pillow version, so regenerating changes no bytes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "exams" / "seed" / "figures"
SCALE = 3  # drawn at 3× and scaled down, for smooth lines
# Labels stay in ASCII: Pillow's built-in font, used so the output does not depend on the
# fonts of the machine, has no ×, − or Greek letters.

INK = (33, 37, 41)
GREY = (150, 150, 150)
LIGHT = (222, 226, 230)
BLUE = (13, 110, 253)
ORANGE = (253, 126, 20)
GREEN = (25, 135, 84)
RED = (220, 53, 69)
PURPLE = (111, 66, 193)

# 2.1: the dataset, on a 0..6 grid. Train points are filled grey, test points are hollow.
TRAIN_CIRCLES = [(1, 1), (2, 2), (1, 3), (3, 1), (3, 4)]
TRAIN_SQUARES = [(4, 4), (3, 5), (4, 5), (5, 2), (6, 4)]
TEST_CIRCLES = [(0, 2), (2, 3), (4, 3)]
TEST_SQUARES = [(4, 6), (6, 1), (4, 0)]

# 2.4: tensor sizes (W × H) and the numbered cells, as (tensor, row, column) counted from 0.
TENSORS = [("input", 7), ("x0", 3), ("x1", 3), ("output", 2)]
CELLS = {1: ("input", 1, 2), 2: ("input", 5, 3), 3: ("x0", 2, 1), 4: ("x1", 0, 0), 5: ("output", 1, 1)}

# 3.5: the trained two-layer network, h = W1 x and s = W2 h, with no bias and no activation.
W1 = [[0, -1, -1], [1, 1, -1], [-1, -1, 1]]
W2 = [[1, 2, 1], [1, -1, 0], [-1, 0, -1]]
INPUTS = ["Bip", "Bop", "Beep"]
HIDDEN = ["h1", "h2", "h3"]
CLASSES = ["Zom", "Flom", "Nom"]

Point = tuple[float, float]


class Canvas:
    """A white image drawn at SCALE× in logical pixels, saved small as a palette PNG."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.image = Image.new("RGB", (width * SCALE, height * SCALE), "white")
        self.draw = ImageDraw.Draw(self.image)

    @staticmethod
    def _xy(points: Sequence[Point]) -> list[tuple[float, float]]:
        return [(x * SCALE, y * SCALE) for x, y in points]

    def font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return ImageFont.load_default(size=size * SCALE)

    def line(self, points: Sequence[Point], fill: tuple[int, int, int] = INK, width: float = 1.5) -> None:
        self.draw.line(self._xy(points), fill=fill, width=max(1, round(width * SCALE)), joint="curve")

    def dashed(self, points: Sequence[Point], fill: tuple[int, int, int], width: float = 1.5, dash: float = 8) -> None:
        """A polyline drawn as dashes of ``dash`` logical pixels."""
        on, carry = True, 0.0
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            length = math.hypot(x1 - x0, y1 - y0)
            position = 0.0
            while position < length:
                step = min(dash - carry, length - position)
                start = (x0 + (x1 - x0) * position / length, y0 + (y1 - y0) * position / length)
                end = (x0 + (x1 - x0) * (position + step) / length, y0 + (y1 - y0) * (position + step) / length)
                if on:
                    self.line([start, end], fill, width)
                position += step
                carry += step
                if carry >= dash:
                    on, carry = not on, 0.0

    def rectangle(
        self,
        box: tuple[float, float, float, float],
        outline: tuple[int, int, int] | None = INK,
        fill: tuple[int, int, int] | None = None,
        width: float = 1.5,
    ) -> None:
        x0, y0, x1, y1 = box
        self.draw.rectangle(
            (x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE), outline=outline, fill=fill, width=round(width * SCALE)
        )

    def circle(
        self,
        center: Point,
        radius: float,
        outline: tuple[int, int, int] = INK,
        fill: tuple[int, int, int] | None = None,
        width: float = 1.5,
    ) -> None:
        x, y = center
        self.draw.ellipse(
            ((x - radius) * SCALE, (y - radius) * SCALE, (x + radius) * SCALE, (y + radius) * SCALE),
            outline=outline,
            fill=fill,
            width=round(width * SCALE),
        )

    def text(self, at: Point, text: str, size: int = 14, fill: tuple[int, int, int] = INK, anchor: str = "mm") -> None:
        self.draw.text((at[0] * SCALE, at[1] * SCALE), text, font=self.font(size), fill=fill, anchor=anchor)

    def arrow(self, start: Point, end: Point, fill: tuple[int, int, int] = INK, width: float = 1.5) -> None:
        self.line([start, end], fill, width)
        angle = math.atan2(end[1] - start[1], end[0] - start[0])
        head = [
            end,
            (end[0] - 9 * math.cos(angle - 0.4), end[1] - 9 * math.sin(angle - 0.4)),
            (end[0] - 9 * math.cos(angle + 0.4), end[1] - 9 * math.sin(angle + 0.4)),
        ]
        self.draw.polygon(self._xy(head), fill=fill)

    def save(self, name: str) -> Path:
        small = self.image.resize((self.width, self.height), Image.Resampling.LANCZOS)
        palette = small.quantize(colors=48, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        path = OUT / name
        palette.save(path, optimize=True)
        return path


class Axes:
    """Maps data coordinates into a rectangle of the canvas (y grows upwards)."""

    def __init__(
        self,
        canvas: Canvas,
        box: tuple[float, float, float, float],
        x_range: tuple[float, float],
        y_range: tuple[float, float],
    ) -> None:
        self.canvas, self.box, self.x_range, self.y_range = canvas, box, x_range, y_range

    def __call__(self, x: float, y: float) -> Point:
        left, top, right, bottom = self.box
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        return left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - y0) / (y1 - y0) * (bottom - top)

    def frame(self, x_label: str, y_label: str) -> None:
        left, top, right, bottom = self.box
        self.canvas.line([(left, top), (left, bottom), (right, bottom)])
        self.canvas.text(((left + right) / 2, bottom + 34), x_label, 14)
        label = Image.new("RGBA", (400 * SCALE, 24 * SCALE), (255, 255, 255, 0))
        ImageDraw.Draw(label).text((200 * SCALE, 12 * SCALE), y_label, font=self.canvas.font(14), fill=INK, anchor="mm")
        rotated = label.rotate(90, expand=True)
        self.canvas.image.paste(
            rotated,
            (round((left - 48) * SCALE) - rotated.width // 2, round((top + bottom) / 2 * SCALE) - rotated.height // 2),
            rotated,
        )

    def curve(self, f: Callable[[float], float], start: float, stop: float, steps: int = 200) -> list[Point]:
        xs = [start + (stop - start) * i / steps for i in range(steps + 1)]
        return [self(x, f(x)) for x in xs]


def model_pipeline(name: str, stages: list[tuple[str, str]]) -> Path:
    """1.4: a row of boxes (layer) and volume labels (tensor shapes) joined by arrows."""
    widths = [150 if kind == "layer" else 110 for kind, _ in stages]
    canvas = Canvas(round(40 + sum(widths) + 34 * (len(stages) - 1)), 110)
    x = 20.0
    for index, ((kind, label), width) in enumerate(zip(stages, widths, strict=True)):
        box = (x, 25, x + width, 85)
        if kind == "layer":
            canvas.rectangle(box, fill=(231, 241, 255), outline=BLUE)
        else:
            canvas.rectangle(box, fill=LIGHT, outline=GREY)
        lines = label.split("\n")
        for offset, part in enumerate(lines):
            canvas.text((x + width / 2, 55 + (offset - (len(lines) - 1) / 2) * 17), part, 13)
        x += width
        if index < len(stages) - 1:
            canvas.arrow((x + 4, 55), (x + 30, 55))
            x += 34
    return canvas.save(name)


def dataset() -> Path:
    """2.1: circles and squares on a grid; train filled grey, test hollow."""
    canvas = Canvas(520, 470)
    axes = Axes(canvas, (80, 30, 440, 390), (-0.5, 6.5), (-0.5, 6.5))
    for tick in range(7):
        canvas.line([axes(tick, -0.5), axes(tick, 6.5)], LIGHT, 1)
        canvas.line([axes(-0.5, tick), axes(6.5, tick)], LIGHT, 1)
        canvas.text((axes(tick, -0.5)[0], axes(tick, -0.5)[1] + 14), str(tick), 13)
        canvas.text((axes(-0.5, tick)[0] - 14, axes(-0.5, tick)[1]), str(tick), 13)
    axes.frame("feature 1 (x)", "feature 2 (y)")

    def mark(point: tuple[int, int], shape: str, train: bool) -> None:
        x, y = axes(*point)
        fill = GREY if train else (255, 255, 255)
        if shape == "circle":
            canvas.circle((x, y), 13, outline=INK, fill=fill, width=2)
        else:
            canvas.rectangle((x - 12, y - 12, x + 12, y + 12), outline=INK, fill=fill, width=2)

    for point in TRAIN_CIRCLES:
        mark(point, "circle", True)
    for point in TRAIN_SQUARES:
        mark(point, "square", True)
    for point in TEST_CIRCLES:
        mark(point, "circle", False)
    for point in TEST_SQUARES:
        mark(point, "square", False)
    legend = [
        ("circle", True, "train circle"),
        ("square", True, "train square"),
        ("circle", False, "test circle"),
        ("square", False, "test square"),
    ]
    for index, (shape, train, label) in enumerate(legend):
        x, y = 110 + index * 100, 445
        fill = GREY if train else (255, 255, 255)
        if shape == "circle":
            canvas.circle((x, y), 8, fill=fill)
        else:
            canvas.rectangle((x - 8, y - 8, x + 8, y + 8), fill=fill)
        canvas.text((x + 14, y), label, 12, anchor="lm")
    return canvas.save("2.1-1.png")


def tensors() -> Path:
    """2.4: the W × H grid of each tensor, cells numbered 1–5."""
    canvas = Canvas(720, 300)
    cell = 28
    x = 30.0
    positions: dict[str, tuple[float, float]] = {}
    for name, size in TENSORS:
        top = 40 + (7 - size) * cell / 2
        positions[name] = (x, top)
        for row in range(size):
            for col in range(size):
                canvas.rectangle(
                    (x + col * cell, top + row * cell, x + (col + 1) * cell, top + (row + 1) * cell),
                    outline=GREY,
                    fill=(248, 249, 250),
                    width=1,
                )
        canvas.text((x + size * cell / 2, 40 + 7 * cell + 26), f"{name}: {size} x {size}", 15)
        x += size * cell + 70
    for number, (name, row, col) in CELLS.items():
        left, top = positions[name]
        canvas.rectangle(
            (left + col * cell, top + row * cell, left + (col + 1) * cell, top + (row + 1) * cell),
            outline=INK,
            fill=(255, 230, 153),
            width=2,
        )
        canvas.text((left + (col + 0.5) * cell, top + (row + 0.5) * cell), str(number), 15)
    return canvas.save("2.4-1.png")


def optimizer_paths() -> Path:
    """2.7: gradient descent (O1) zig-zags across the valley; AdaGrad (O2) heads for the minimum."""
    canvas = Canvas(560, 380)
    axes = Axes(canvas, (30, 20, 530, 340), (-5.5, 1.5), (-2.2, 2.2))

    def grad(p: tuple[float, float]) -> tuple[float, float]:
        return p[0], 12 * p[1]  # f(x, y) = (x² + 12 y²) / 2: a long, narrow valley

    for level in (0.5, 2, 4.5, 8, 12.5):
        points = [
            axes(
                math.sqrt(2 * level) * math.cos(t / 60 * math.pi),
                math.sqrt(2 * level / 12) * math.sin(t / 60 * math.pi),
            )
            for t in range(121)
        ]
        canvas.line(points, LIGHT, 1.5)
    start = (-4.8, 1.6)
    descent, adagrad = [start], [start]
    point = start
    for _ in range(14):
        gx, gy = grad(point)
        point = (point[0] - 0.145 * gx, point[1] - 0.145 * gy)
        descent.append(point)
    point, squares = start, [0.0, 0.0]
    for _ in range(14):
        gx, gy = grad(point)
        squares = [squares[0] + gx * gx, squares[1] + gy * gy]
        point = (point[0] - 1.5 * gx / math.sqrt(squares[0] + 1e-8), point[1] - 1.5 * gy / math.sqrt(squares[1] + 1e-8))
        adagrad.append(point)
    canvas.line([axes(*p) for p in descent], ORANGE, 2.5)
    canvas.line([axes(*p) for p in adagrad], BLUE, 2.5)
    for p in descent:
        canvas.circle(axes(*p), 3, outline=ORANGE, fill=ORANGE)
    for p in adagrad:
        canvas.circle(axes(*p), 3, outline=BLUE, fill=BLUE)
    canvas.circle(axes(0, 0), 6, outline=GREEN, fill=GREEN)
    canvas.text((axes(0, 0)[0] + 10, axes(0, 0)[1] + 16), "global optimum", 13, GREEN, anchor="lm")
    canvas.circle(axes(*start), 5, outline=INK, fill=INK)
    canvas.text((axes(*start)[0] - 6, axes(*start)[1] - 14), "start", 13, anchor="mm")
    canvas.text((axes(*descent[1])[0], axes(*descent[1])[1] + 20), "O1", 18, ORANGE, anchor="mm")
    middle = axes((start[0] + adagrad[1][0]) / 2, (start[1] + adagrad[1][1]) / 2)
    canvas.text((middle[0] + 24, middle[1] - 8), "O2", 18, BLUE, anchor="mm")
    canvas.text((280, 368), "contours of the loss; both paths take 14 steps from the same start", 12, GREY)
    return canvas.save("2.7-1.png")


def learning_curves() -> Path:
    """2.8: training loss against epochs for four learning rates."""
    canvas = Canvas(560, 380)
    axes = Axes(canvas, (80, 20, 520, 310), (0, 50), (0, 3))
    axes.frame("epoch", "training loss")
    for tick in range(0, 51, 10):
        canvas.text((axes(tick, 0)[0], axes(tick, 0)[1] + 14), str(tick), 12)
    for tick in range(4):
        canvas.text((axes(0, tick)[0] - 14, axes(0, tick)[1]), str(tick), 12)
    curves: list[tuple[str, tuple[int, int, int], Callable[[float], float]]] = [
        ("LR1", RED, lambda t: min(2.3 + 0.0009 * t**2.2, 2.95)),
        ("LR2", PURPLE, lambda t: 2.3 - 0.9 * (1 - math.exp(-t / 60))),
        ("LR3", ORANGE, lambda t: 1.25 + 1.05 * math.exp(-t / 2.5)),
        ("LR4", GREEN, lambda t: 0.2 + 2.1 * math.exp(-t / 9)),
    ]
    for name, color, f in curves:
        points = axes.curve(f, 0, 50)
        canvas.line(points, color, 2.5)
        end = points[-1]
        canvas.text((end[0] - 4, end[1] - 12), name, 14, color, anchor="rm")
    return canvas.save("2.8-1.png")


def width_curve() -> Path:
    """3.4: test accuracy rises with the number of kernels, then falls."""
    canvas = Canvas(560, 380)
    widths = [8, 16, 32, 64, 128, 256, 512, 1024]
    accuracy = [61.0, 67.5, 72.0, 74.5, 75.2, 73.6, 70.1, 66.0]
    axes = Axes(canvas, (80, 20, 520, 310), (2.6, 10.4), (58, 78))
    axes.frame("number of feature kernels per layer (log scale)", "test accuracy (%)")
    for w in widths:
        x, y = axes(math.log2(w), 58)
        canvas.text((x, y + 14), str(w), 12)
    for tick in range(60, 79, 5):
        x, y = axes(2.6, tick)
        canvas.text((x - 16, y), str(tick), 12)
    points = [axes(math.log2(w), a) for w, a in zip(widths, accuracy, strict=True)]
    canvas.line(points, BLUE, 2.5)
    for p in points:
        canvas.circle(p, 4, outline=BLUE, fill=BLUE)
    return canvas.save("3.4-1.png")


def network() -> Path:
    """3.5: inputs → hidden → class scores, fully connected, with both weight matrices."""
    canvas = Canvas(760, 360)
    columns = [(90, INPUTS), (300, HIDDEN), (510, CLASSES)]
    nodes: dict[str, Point] = {}
    for x, names in columns:
        for index, name in enumerate(names):
            nodes[name] = (x, 70 + index * 90)
    for source, target in [(INPUTS, HIDDEN), (HIDDEN, CLASSES)]:
        for a in source:
            for b in target:
                canvas.line([nodes[a], nodes[b]], GREY, 1)
    for _, names in columns:
        for name in names:
            canvas.circle(nodes[name], 30, outline=INK, fill=(231, 241, 255) if names is HIDDEN else LIGHT, width=2)
            canvas.text(nodes[name], name, 14)
    canvas.text((195, 22), "Layer 1: h = W1 x", 14)
    canvas.text((405, 22), "Layer 2: s = W2 h", 14)

    def matrix(
        left: float, top: float, label: str, rows: list[list[int]], row_names: list[str], col_names: list[str]
    ) -> None:
        size = 30
        canvas.text((left + 1.5 * size, top - 34), label, 15)
        for j, name in enumerate(col_names):
            canvas.text((left + (j + 0.5) * size, top - 12), name, 10, GREY)
        for i, row in enumerate(rows):
            canvas.text((left - 6, top + (i + 0.5) * size), row_names[i], 10, GREY, anchor="rm")
            for j, value in enumerate(row):
                canvas.rectangle(
                    (left + j * size, top + i * size, left + (j + 1) * size, top + (i + 1) * size),
                    outline=GREY,
                    fill=(255, 255, 255),
                    width=1,
                )
                canvas.text((left + (j + 0.5) * size, top + (i + 0.5) * size), str(value), 14)

    matrix(640, 95, "W1", W1, HIDDEN, INPUTS)
    matrix(640, 265, "W2", W2, CLASSES, HIDDEN)
    canvas.text((300, 335), "no bias terms, no activation between the layers", 12, GREY)
    return canvas.save("3.5-1.png")


def hinge_and_huber() -> Path:
    """3.6.1: multiclass hinge loss and the Huber classification loss (a = 0.5, b = 1, Δ = 1)."""
    canvas = Canvas(560, 380)
    axes = Axes(canvas, (80, 20, 520, 310), (-2.5, 2), (0, 3))
    axes.frame("s_j - s_y", "loss L_j")
    for tick in (-2, -1, 0, 1, 2):
        x, y = axes(tick, 0)
        canvas.text((x, y + 14), str(tick), 12)
    for tick in range(4):
        x, y = axes(-2.5, tick)
        canvas.text((x - 14, y), str(tick), 12)
    canvas.dashed(axes.curve(lambda z: max(z + 1, 0), -2.5, 2), RED, 2.5)
    canvas.line(axes.curve(lambda z: 0.5 * max(z + 1, 0) ** 2 if z <= 0 else z + 0.5, -2.5, 2), BLUE, 2.5)
    canvas.line([(110, 40), (140, 40)], BLUE, 2.5)
    canvas.text((148, 40), "Huber classification loss", 13, anchor="lm")
    canvas.dashed([(110, 62), (140, 62)], RED, 2.5, dash=6)
    canvas.text((148, 62), "hinge loss, margin 1", 13, anchor="lm")
    return canvas.save("3.6.1-1.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = [
        model_pipeline(
            "1.4-1.png",
            [
                ("volume", "input\n4 x 4 x 3"),
                ("layer", "convolution\n3 x 3, 8 filters\nstride 1, pad 1"),
                ("volume", "4 x 4 x 8"),
                ("layer", "fully connected"),
                ("volume", "10 scores"),
            ],
        ),
        model_pipeline(
            "1.4-2.png", [("volume", "input\n4 x 4 x 3"), ("layer", "fully connected"), ("volume", "10 scores")]
        ),
        dataset(),
        tensors(),
        optimizer_paths(),
        learning_curves(),
        width_curve(),
        network(),
        hinge_and_huber(),
    ]
    for path in paths:
        print(f"{path.relative_to(OUT.parent.parent.parent)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
