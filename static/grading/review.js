// An answer's grading page (templates/grading/review_evaluation.html), keyboard first.
//
// - An item's key (its shortcut, or the digit of its place) applies or removes it;
// - Enter saves and moves on (in the comment box, Ctrl+Enter: there Enter is a new line);
// - ArrowLeft / ArrowRight go to the previous / next answer in queue order;
// - "?" opens the list of shortcuts (which the page also shows), Esc closes it.
// Keys act only when the grader is not typing in a box. The points shown beside Save follow the
// rubric as items are toggled, computed here from #rubric-data as grading.scoring.rubric does;
// the server computes them again, authoritatively, when it saves.

const form = document.getElementById("grade-form");
const saveButton = document.getElementById("save-button");
const total = document.getElementById("points-total");
const dialog = document.getElementById("shortcuts-dialog");
const rubric = JSON.parse(document.getElementById("rubric-data").textContent);
const MINUS = "\u2212";

// Points in hundredths, so that 0.1 + 0.2 is 0.3 (the server's points have two decimals).
function hundredths(text) {
  const value = String(text ?? "").trim().replace(MINUS, "-");
  if (value === "") return 0;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value)) return null;
  return Math.round(Number(value) * 100);
}

function formatPoints(value) {
  const text = (Math.abs(value) / 100).toFixed(2).replace(/\.?0+$/, "");
  return value < 0 ? MINUS + text : text;
}

const boxes = new Map(); // item id → checkbox
const byKey = new Map(); // key → checkbox
for (const box of form.querySelectorAll('input[name="items"]')) boxes.set(Number(box.value), box);
for (const item of rubric.items) {
  const box = boxes.get(item.id);
  if (!box) continue;
  for (const key of item.keys) if (!byKey.has(key)) byKey.set(key, box);
}

export function pointsNow() {
  const adjustment = hundredths(form.elements.adjustment?.value);
  if (adjustment === null) return null;
  let points = hundredths(rubric.base) + adjustment;
  for (const item of rubric.items) if (boxes.get(item.id)?.checked) points += hundredths(item.points);
  const max = hundredths(rubric.max);
  if (rubric.floor && points < 0) points = 0;
  if (rubric.cap && points > max) points = max;
  return points;
}

function showPoints() {
  const points = pointsNow();
  total.textContent = points === null ? "— (the adjustment is not a number)" : formatPoints(points);
}

function typing(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable ||
      target.matches("textarea, select, input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit])"))
  );
}

function save() {
  form.requestSubmit(saveButton);
}

let submitting = false;
form.addEventListener("submit", (event) => {
  if (submitting) event.preventDefault(); // a held Enter must not post twice
  submitting = true;
});
window.addEventListener("pageshow", () => {
  submitting = false; // back from the next page: the form is live again
});

form.addEventListener("change", showPoints);
form.addEventListener("input", showPoints);

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing) return;
  if (dialog.open) return; // the dialog closes itself on Esc
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey) {
    event.preventDefault();
    if (!event.repeat) save();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    dialog.showModal();
    return;
  }
  if (event.key === "Enter") {
    if (event.target instanceof HTMLElement && event.target.closest("a, button, summary")) return; // follows or presses it
    event.preventDefault();
    if (!event.repeat) save();
    return;
  }
  if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
    const link = document.getElementById(event.key === "ArrowLeft" ? "previous-link" : "next-link");
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
    return;
  }
  const box = event.key.length === 1 ? byKey.get(event.key.toLowerCase()) : undefined;
  if (box) {
    event.preventDefault();
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }
});

showPoints();
