// The student's exam page (templates/exams/sitting_exam.html): fills the widgets with the
// saved answers, saves every change, counts down to the server's deadline and submits at it,
// keeps the navigator and flags current, and reports proctor events. Its pulse (pulse.js)
// brings a longer deadline (an extension) and new clarifications (sitting_clarifications.js)
// even when the student types nothing.
//
// Answers shown at load are the server's (#sitting-answers) merged with any newer ones this
// browser kept but the server never acknowledged (the outbox); those are sent again.
import { Autosave } from "./autosave.js";
import { attachExpressionPreviews } from "./expression_preview.js";
import { getJSON, NetworkError, postJSON } from "./http.js";
import { attachMarkdownPreviews } from "./markdown_preview.js";
import { Navigator } from "./navigator.js";
import { Outbox } from "./outbox.js";
import { watchProctorEvents } from "./proctor.js";
import { Pulse } from "./pulse.js";
import { Clarifications } from "./sitting_clarifications.js";
import { attachSketches } from "./sketch.js";
import { TabChannel, tabDevice } from "./tabs.js";
import { Countdown, ServerClock } from "./timer.js";
import { answerFieldsets, isAnswered, readAnswer, writeAnswer } from "./widgets.js";

const SUBMIT_RETRY_MS = 3000;

const config = JSON.parse(document.getElementById("sitting-config").textContent);
const serverAnswers = JSON.parse(document.getElementById("sitting-answers").textContent) ?? {};
const pulseConfig = JSON.parse(document.getElementById("sitting-pulse").textContent);
const fieldsets = new Map(answerFieldsets().map((fieldset) => [fieldset.dataset.question, fieldset]));
const statusElement = document.getElementById("save-status");
const navigator_ = new Navigator(document);
const outbox = new Outbox(config.sitting);
const clock = new ServerClock(config.server_now);
// What each question shows now, and the sequence number of that answer (0: never saved).
const shown = new Map();
let readOnly = false;
let finishing = false;

// --- showing answers ---------------------------------------------------------------------

function show(questionId, { value, flagged, seq }) {
  const id = String(questionId);
  const fieldset = fieldsets.get(id);
  shown.set(id, { value, flagged: Boolean(flagged), seq, json: JSON.stringify(value ?? null) });
  if (fieldset) writeAnswer(fieldset, value ?? null);
  navigator_.show(id, { answered: isAnswered(value), flagged: Boolean(flagged) });
}

// Show an answer from elsewhere (the server, another tab) only when it is newer than ours.
function adopt(questionId, answer) {
  const current = shown.get(String(questionId));
  if (current && current.seq >= answer.seq) return false;
  show(questionId, answer);
  return true;
}

function hydrate() {
  const pending = outbox.entries();
  for (const id of fieldsets.keys()) {
    const saved = serverAnswers[id] ?? null;
    const local = pending[id] ?? null;
    if (local && (!saved || local.seq > saved.seq)) {
      show(id, local);
    } else {
      if (local) outbox.acknowledge(id, saved.seq); // the server already holds a newer one
      show(id, saved ?? { value: null, flagged: false, seq: 0 });
    }
  }
}

// Another tab of this browser wrote to the outbox (typically just before this one took over):
// the newest answer there is the student's latest word.
function adoptOutbox() {
  let adopted = false;
  for (const [id, entry] of Object.entries(outbox.entries())) {
    if (fieldsets.has(id) && adopt(id, entry)) adopted = true;
  }
  if (adopted) autosave.resume();
}

// After the claim, and whenever a save comes back stale: the server's answers may be newer
// than what the page shows (saved from another device before this one took over).
async function refreshFromServer() {
  let result;
  try {
    result = await getJSON(config.urls.state);
  } catch (error) {
    if (error instanceof NetworkError) return;
    throw error;
  }
  if (!result.ok || !result.data) return;
  clock.update(result);
  countdown.setDeadline(result.data.deadline);
  for (const [id, answer] of Object.entries(result.data.answers ?? {})) {
    if (fieldsets.has(id)) adopt(id, answer);
  }
  if (result.data.status !== "in_progress") closed("This exam is closed and your answers are final.");
}

// --- saving --------------------------------------------------------------------------------

function renderStatus(state, text) {
  statusElement.textContent = text;
  statusElement.dataset.state = state;
  for (const name of ["saved", "saving", "offline", "error", "stopped"]) {
    statusElement.classList.toggle(`save-status-${name}`, state === name);
  }
}

function showError(questionId, message) {
  const fieldset = fieldsets.get(String(questionId));
  if (!fieldset) return;
  let note = fieldset.querySelector(".answer-error");
  if (!message) {
    note?.remove();
    for (const control of fieldset.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    return;
  }
  if (!note) {
    note = document.createElement("p");
    note.className = "answer-error";
    note.setAttribute("role", "alert");
    fieldset.append(note);
  }
  note.textContent = `Not saved: ${message}`;
  for (const control of fieldset.querySelectorAll("input:not([type=hidden]), textarea")) {
    control.setAttribute("aria-invalid", "true");
  }
}

const autosave = new Autosave({
  urls: config.urls,
  device: tabDevice(config.sitting),
  outbox,
  lastSeq: Math.max(config.last_seq ?? 0, ...Object.values(serverAnswers).map((answer) => answer.seq ?? 0)),
  on: {
    status: renderStatus,
    serverTime(result) {
      clock.update(result);
      if (result.data?.deadline) countdown.setDeadline(result.data.deadline);
    },
    claimed() {
      tabs.announceClaim(autosave.device);
      adoptOutbox();
      refreshFromServer();
    },
    saved(id) {
      showError(id, "");
    },
    stale() {
      refreshFromServer();
    },
    invalid(id, message) {
      showError(id, message);
    },
    refused(code, detail) {
      if (code === "taken_over") takenOver(detail);
      else closed(detail);
    },
  },
});

function record(questionId, value, flagged) {
  const id = String(questionId);
  const json = JSON.stringify(value ?? null);
  const current = shown.get(id);
  // A text field fires "change" on blur after its "input" events: nothing new to save.
  if (current && current.json === json && current.flagged === flagged) return;
  const seq = autosave.record(id, value, flagged);
  shown.set(id, { value, flagged, seq, json });
  navigator_.show(id, { answered: isAnswered(value), flagged });
}

function onEdit(event) {
  if (readOnly) return;
  const fieldset = event.target.closest?.("fieldset.answer[data-question]");
  if (!fieldset || !fieldsets.has(fieldset.dataset.question)) return;
  const id = fieldset.dataset.question;
  record(id, readAnswer(fieldset), shown.get(id)?.flagged ?? false);
}

// --- read-only: taken over, closed, or time up ------------------------------------------------

function lock() {
  readOnly = true;
  for (const fieldset of fieldsets.values()) fieldset.disabled = true;
  for (const button of document.querySelectorAll("button[data-flag-question]")) button.disabled = true;
  for (const area of document.querySelectorAll("[data-sketch]")) area.tabIndex = -1;
}

function showBanner(id, detail) {
  const banner = document.getElementById(id);
  if (!banner) return;
  let line = banner.querySelector("[data-banner-detail]");
  if (!line) {
    line = document.createElement("p");
    line.className = "mb-0 mt-2";
    line.dataset.bannerDetail = "";
    banner.append(line);
  }
  const unsaved = autosave.pending().length;
  const one = unsaved === 1;
  line.textContent = unsaved
    ? `${detail} ${unsaved} ${one ? "answer was" : "answers were"} not saved from this page; ` +
      `${one ? "it is" : "they are"} kept in this browser.`
    : detail;
  banner.hidden = false;
}

// The timer keeps running for information; a stopped autosave never submits.
function takenOver(detail) {
  if (readOnly) return;
  lock();
  autosave.stop("taken_over", detail);
  showBanner("takeover-banner", detail);
}

function closed(detail) {
  if (finishing) return;
  lock();
  autosave.stop("closed", detail);
  countdown.stop();
  showBanner("closed-banner", detail);
}

// --- the end: at the deadline the page saves what it can and submits ------------------------

async function submitAtDeadline() {
  if (finishing || autosave.stopped) return;
  finishing = true;
  lock();
  await autosave.flush();
  for (;;) {
    try {
      const result = await postJSON(config.urls.submit, {});
      if (result.ok && result.data?.receipt_url) {
        window.location.assign(result.data.receipt_url);
        return;
      }
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    }
    // Unreachable: the server closes the sitting itself at deadline + grace, with what it has.
    renderStatus("offline", `Time is up. Submitting… (${autosave.statusText()})`);
    await new Promise((resolve) => setTimeout(resolve, SUBMIT_RETRY_MS));
    await autosave.flush();
  }
}

// "Review and submit" shows what the server holds, so everything is saved first.
function sameUrl(href, target) {
  return new URL(href, window.location.href).pathname === new URL(target, window.location.href).pathname;
}

function questionNumber(id) {
  const number = document.getElementById(`q${id}-heading`)?.querySelector(".paper-number");
  return number?.textContent.trim() || `question ${id}`;
}

function reviewWarning(link, text) {
  let note = link.parentElement.querySelector(".review-warning");
  if (!note) {
    note = document.createElement("span");
    note.className = "review-warning";
    note.setAttribute("role", "alert");
    link.after(note);
  }
  note.textContent = text;
}

async function onReviewClick(event) {
  const link = event.target.closest?.("a[href]");
  if (!link || !sameUrl(link.href, config.urls.review) || readOnly) return;
  event.preventDefault();
  reviewWarning(link, "");
  if (await autosave.flush()) {
    const refused = [...autosave.errors.keys()];
    if (refused.length && link.dataset.warned !== "true") {
      // An answer the server refused is not what the review page will list: say so once.
      link.dataset.warned = "true";
      const numbers = refused.map(questionNumber).join(", ");
      reviewWarning(
        link,
        `Not saved: the server refused your answer to ${numbers} (see the message there). ` +
          "Fix it, or press again to review anyway.",
      );
      return;
    }
    window.location.assign(link.href);
    return;
  }
  const count = autosave.pending().length;
  reviewWarning(
    link,
    navigator.onLine === false || autosave.failure?.kind === "network"
      ? `You are offline: ${count} ${count === 1 ? "answer is" : "answers are"} kept on this device ` +
          "but not yet on the server. Reconnect, then review."
      : `Not everything is saved yet (${autosave.statusText()}). Try again in a moment.`,
  );
}

// --- the pulse: extensions and clarifications ----------------------------------------------

// The deadline only grows here: a pulse that left before an extension must not take it back.
// A sitting closed by the server (submitted elsewhere, voided, expired) closes the page.
function onPulse(result) {
  clock.update(result);
  clarifications.show(result.data.clarifications ?? []);
  if (result.data.status !== "in_progress") {
    pulse.stop();
    closed("This exam is closed and your answers are final.");
    return;
  }
  if (Date.parse(result.data.deadline) > countdown.deadline) countdown.setDeadline(result.data.deadline);
}

// --- start -----------------------------------------------------------------------------------

const countdown = new Countdown({
  element: document.getElementById("exam-timer"),
  clock,
  deadlineIso: config.deadline,
  onExpire: submitAtDeadline,
});
const clarifications = new Clarifications({
  sittingId: config.sitting,
  seenUrl: pulseConfig.urls.seen,
  initial: pulseConfig.clarifications,
});
const pulse = new Pulse({ url: pulseConfig.urls.pulse, since: clarifications.lastId, onPulse });
const tabs = new TabChannel(config.sitting, {
  onTakenOver: () => takenOver("It was opened in another tab of this browser."),
  onDuplicate: () => {
    autosave.setDevice(tabDevice(config.sitting, { fresh: true }));
    autosave.kick();
  },
});

hydrate();
attachSketches();
attachMarkdownPreviews();
attachExpressionPreviews({ urlTemplate: config.urls.expression_preview });
navigator_.watchFlags((id, flagged) => {
  if (readOnly || !fieldsets.has(String(id))) return;
  record(id, readAnswer(fieldsets.get(String(id))), flagged);
});
document.addEventListener("input", onEdit);
document.addEventListener("change", onEdit);
document.addEventListener("click", onReviewClick);
window.addEventListener("storage", (event) => {
  if (event.key === outbox.key && !readOnly && autosave.claimed) adoptOutbox();
});
window.addEventListener("beforeunload", (event) => {
  // Kept in this browser either way, but the student should know they are not on the server.
  if (readOnly || !autosave.pending().length) return;
  event.preventDefault();
  event.returnValue = true; // browsers before the preventDefault() convention
});
// Back from the review page (a page restored from the back-forward cache): the sitting may
// have been submitted meanwhile, or answered elsewhere.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && !readOnly) refreshFromServer();
});
watchProctorEvents({ url: config.urls.events, isActive: () => !readOnly });

if (config.status !== "in_progress") {
  closed("This exam is closed and your answers are final.");
} else {
  countdown.start();
  autosave.resume();
  pulse.start();
}
