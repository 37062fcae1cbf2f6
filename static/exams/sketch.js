// Drawing on a sketch question's labelled axes (templates/exams/widgets/sketch.html).
//
// Mouse, pen and touch draw through Pointer Events; the keyboard moves a cross with the arrow
// keys, Space adds a point and Enter ends the line. Strokes are kept in axis units, clamped to
// the axes, as {"strokes": [[[x, y], ...], ...]} in the hidden input q<id>, and shown as SVG
// polylines. A change event from that input tells the page to save it.

const SVG = "http://www.w3.org/2000/svg";
// The server's limits (exams/kinds/sketch.py).
const MAX_STROKES = 200;
const MAX_POINTS = 20000;
// Points closer than this (in SVG units, the axes being 400 wide) add nothing a grader can see.
const MIN_SPACING = 1.5;
const KEY_STEPS = 50; // arrow-key moves across the plot; Shift moves five at a time

function round(value) {
  return Math.round(value * 10000) / 10000;
}

function numberLabel(value) {
  return String(Math.round(value * 100) / 100);
}

class Sketch {
  constructor(area) {
    this.area = area;
    this.fieldset = area.closest("fieldset");
    this.svg = area.querySelector("svg");
    this.input = area.querySelector("input[type=hidden]");
    this.layer = area.querySelector(".sketch-strokes");
    this.cursorMark = area.querySelector(".sketch-cursor");
    this.title = this.svg.querySelector("title");
    this.emptyTitle = this.title?.textContent ?? "";
    this.status = this.fieldset.querySelector(".sketch-status");
    const data = area.dataset;
    this.box = { left: +data.left, right: +data.right, top: +data.top, bottom: +data.bottom };
    this.range = { xMin: +data.xMin, xMax: +data.xMax, yMin: +data.yMin, yMax: +data.yMax };
    this.labels = { x: data.xLabel || "x", y: data.yLabel || "y" };
    this.strokes = [];
    this.drawing = null; // the stroke under the pointer or the keyboard, not yet committed
    this.pointerId = null;
    this.cursor = [(this.range.xMin + this.range.xMax) / 2, (this.range.yMin + this.range.yMax) / 2];
    this.load();
    this.listen();
  }

  get readOnly() {
    return this.fieldset.disabled;
  }

  // --- coordinates --------------------------------------------------------------------

  toAxis(sx, sy) {
    const { left, right, top, bottom } = this.box;
    const { xMin, xMax, yMin, yMax } = this.range;
    const cx = Math.min(Math.max(sx, left), right);
    const cy = Math.min(Math.max(sy, top), bottom);
    return [
      round(xMin + ((cx - left) / (right - left)) * (xMax - xMin)),
      round(yMin + ((bottom - cy) / (bottom - top)) * (yMax - yMin)),
    ];
  }

  toSvg([x, y]) {
    const { left, right, top, bottom } = this.box;
    const { xMin, xMax, yMin, yMax } = this.range;
    return [
      left + ((x - xMin) / (xMax - xMin)) * (right - left),
      bottom - ((y - yMin) / (yMax - yMin)) * (bottom - top),
    ];
  }

  fromEvent(event) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return null;
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return { svg: [point.x, point.y], axis: this.toAxis(point.x, point.y) };
  }

  // --- the answer -----------------------------------------------------------------------

  load() {
    let strokes = [];
    try {
      const value = this.input.value ? JSON.parse(this.input.value) : null;
      if (value && Array.isArray(value.strokes)) strokes = value.strokes;
    } catch {
      strokes = [];
    }
    this.strokes = strokes.filter((stroke) => Array.isArray(stroke) && stroke.length);
    this.drawing = null;
    this.redraw();
  }

  pointCount() {
    return this.strokes.reduce((total, stroke) => total + stroke.length, 0) + (this.drawing?.points.length ?? 0);
  }

  commit() {
    this.input.value = this.strokes.length ? JSON.stringify({ strokes: this.strokes }) : "";
    this.input.dispatchEvent(new Event("change", { bubbles: true }));
    this.redraw();
  }

  say(text) {
    if (this.status) this.status.textContent = text;
  }

  describe() {
    const lines = this.strokes.length;
    return lines ? `${lines} line${lines === 1 ? "" : "s"} drawn` : "Nothing drawn yet";
  }

  // --- drawing --------------------------------------------------------------------------

  polyline(points, className) {
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("class", className);
    // A single point is drawn as a dot: a zero-length segment with round caps.
    const svgPoints = (points.length === 1 ? [points[0], points[0]] : points).map((p) => this.toSvg(p));
    line.setAttribute("points", svgPoints.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(" "));
    return line;
  }

  redraw() {
    const lines = this.strokes.map((stroke) => this.polyline(stroke, "sketch-stroke"));
    if (this.drawing?.points.length) lines.push(this.polyline(this.drawing.points, "sketch-stroke sketch-stroke-open"));
    this.layer.replaceChildren(...lines);
    const [cx, cy] = this.toSvg(this.cursor);
    this.cursorMark?.setAttribute("transform", `translate(${cx.toFixed(2)} ${cy.toFixed(2)})`);
    if (this.title) {
      this.title.textContent = this.strokes.length
        ? `${this.describe()} on the axes of ${this.labels.y} against ${this.labels.x}`
        : this.emptyTitle;
    }
  }

  full() {
    if (this.strokes.length >= MAX_STROKES || this.pointCount() >= MAX_POINTS) {
      this.say("The sketch is full: undo or clear to draw more.");
      return true;
    }
    return false;
  }

  addPoint(axisPoint, svgPoint) {
    const points = this.drawing.points;
    if (this.pointCount() >= MAX_POINTS) return;
    if (points.length && svgPoint) {
      const [px, py] = this.toSvg(points[points.length - 1]);
      if (Math.hypot(svgPoint[0] - px, svgPoint[1] - py) < MIN_SPACING) return;
    }
    points.push(axisPoint);
  }

  finishStroke() {
    const stroke = this.drawing;
    this.drawing = null;
    if (stroke?.points.length) {
      this.strokes.push(stroke.points);
      this.commit();
    } else {
      this.redraw();
    }
    this.say(this.describe());
  }

  undo() {
    if (this.drawing) {
      this.drawing = null;
      this.redraw();
    } else if (this.strokes.length) {
      this.strokes.pop();
      this.commit();
    }
    this.say(`Undone. ${this.describe()}`);
  }

  clear() {
    this.drawing = null;
    if (this.strokes.length) {
      this.strokes = [];
      this.commit();
    } else {
      this.redraw();
    }
    this.say("Cleared. Nothing drawn yet");
  }

  // --- input ------------------------------------------------------------------------------

  onPointerDown(event) {
    if (this.readOnly || !event.isPrimary || (event.pointerType === "mouse" && event.button !== 0)) return;
    if (this.full()) return;
    const at = this.fromEvent(event);
    if (!at) return;
    event.preventDefault(); // no text selection or scrolling while drawing
    this.pointerId = event.pointerId;
    this.svg.setPointerCapture(event.pointerId);
    this.drawing = { points: [] };
    this.addPoint(at.axis, null);
    this.redraw();
  }

  onPointerMove(event) {
    if (event.pointerId !== this.pointerId || !this.drawing) return;
    // Pens and fast mice deliver several positions per frame; keep them all.
    const events = event.getCoalescedEvents?.() ?? [];
    for (const each of events.length ? events : [event]) {
      const at = this.fromEvent(each);
      if (at) this.addPoint(at.axis, at.svg);
    }
    this.redraw();
  }

  onPointerEnd(event) {
    if (event.pointerId !== this.pointerId) return;
    this.pointerId = null;
    if (this.svg.hasPointerCapture(event.pointerId)) this.svg.releasePointerCapture(event.pointerId);
    this.finishStroke();
  }

  onKey(event) {
    if (this.readOnly || event.altKey || event.ctrlKey || event.metaKey) return;
    const step = event.shiftKey ? 5 : 1;
    const dx = ((this.range.xMax - this.range.xMin) / KEY_STEPS) * step;
    const dy = ((this.range.yMax - this.range.yMin) / KEY_STEPS) * step;
    const moves = { ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, dy], ArrowDown: [0, -dy] };
    if (event.key in moves) {
      event.preventDefault();
      const [mx, my] = moves[event.key];
      const [x, y] = this.cursor;
      this.cursor = [
        round(Math.min(Math.max(x + mx, this.range.xMin), this.range.xMax)),
        round(Math.min(Math.max(y + my, this.range.yMin), this.range.yMax)),
      ];
      this.redraw();
      this.say(`${this.labels.x} ${numberLabel(this.cursor[0])}, ${this.labels.y} ${numberLabel(this.cursor[1])}`);
    } else if (event.key === " ") {
      event.preventDefault();
      if (!this.drawing && this.full()) return;
      this.drawing ??= { points: [] };
      this.addPoint([...this.cursor], null);
      this.redraw();
      const count = this.drawing.points.length;
      this.say(`Point ${count} of this line at ${numberLabel(this.cursor[0])}, ${numberLabel(this.cursor[1])}`);
    } else if (event.key === "Enter" || event.key === "Escape") {
      if (!this.drawing) return;
      event.preventDefault();
      this.finishStroke();
    } else if (event.key === "Backspace") {
      event.preventDefault();
      this.undo();
    }
  }

  listen() {
    this.svg.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    this.svg.addEventListener("pointermove", (event) => this.onPointerMove(event));
    this.svg.addEventListener("pointerup", (event) => this.onPointerEnd(event));
    this.svg.addEventListener("pointercancel", (event) => this.onPointerEnd(event));
    this.area.addEventListener("keydown", (event) => this.onKey(event));
    // Leaving the area mid-line with the keyboard keeps what was drawn.
    this.area.addEventListener("blur", () => {
      if (this.drawing && this.pointerId === null) this.finishStroke();
    });
    this.fieldset.querySelector("[data-sketch-undo]")?.addEventListener("click", () => this.undo());
    this.fieldset.querySelector("[data-sketch-clear]")?.addEventListener("click", () => this.clear());
    this.input.addEventListener("answer:load", () => this.load());
  }
}

export function attachSketches(root = document) {
  for (const area of root.querySelectorAll("[data-sketch]")) {
    if (!area.closest("fieldset")?.dataset.question) continue;
    area.classList.add("sketch-live");
    new Sketch(area);
  }
}
