// Clarifications on the exam page (templates/exams/sitting_exam.html): each one is listed under
// #clarifications and shown as a note in the block of the question it is about; a new one is also
// announced in the dismissible banner at the top (#clarification-banner, role="alert").
//
// The ones published before the page opened come with the page (#sitting-pulse, and the list
// rendered by the server); later ones with the pulse. The server sends their Markdown as safe HTML
// (exams/markdown.py escapes raw HTML); math.js typesets its $LaTeX$ here with KaTeX.
//
// "New" means this sitting has never shown it: the browser remembers per sitting, in
// localStorage, which ones it showed, and the server says which ones any page of the sitting
// reported; a reload lists them again without announcing them. Every one shown is reported to the
// server (ClarificationSeen), again after a reload if the report did not get through.
import { NetworkError, postJSON } from "./http.js";
import { typeset } from "./math.js";

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

// What this browser knows of a sitting's clarifications: shown (on this page or an earlier one)
// and reported (the server acknowledged). Kept in memory when localStorage is unavailable.
class Memory {
  constructor(sittingId) {
    this.key = `examhall:sitting:${sittingId}:clarifications`;
    this.store = storage();
    this.state = { shown: [], reported: [] };
    try {
      const saved = JSON.parse(this.store?.getItem(this.key) || "{}");
      for (const name of ["shown", "reported"]) {
        if (Array.isArray(saved[name])) this.state[name] = saved[name].filter(Number.isInteger);
      }
    } catch {
      // Unreadable: start afresh (the server's record decides what is new).
    }
  }

  has(name, id) {
    return this.state[name].includes(id);
  }

  add(name, ids) {
    const fresh = ids.filter((id) => !this.has(name, id));
    if (!fresh.length) return;
    this.state[name].push(...fresh);
    try {
      this.store?.setItem(this.key, JSON.stringify(this.state));
    } catch {
      // The quota is full: the memory of this page still holds it.
    }
  }
}

function publishedTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

function aboutText(clarification) {
  return clarification.question ? `About ${clarification.number}` : "About the whole exam";
}

// The question's heading (both an answerable question and a group have id="q<id>-heading").
function questionHeading(clarification) {
  return clarification.question ? document.getElementById(`q${clarification.question}-heading`) : null;
}

export class Clarifications {
  constructor({ sittingId, seenUrl, initial = [] }) {
    this.seenUrl = seenUrl;
    this.memory = new Memory(sittingId);
    this.section = document.getElementById("clarifications");
    this.list = document.getElementById("clarification-list");
    this.banner = document.getElementById("clarification-banner");
    this.known = new Set();
    this.reporting = false;
    const serverSeen = initial.filter((clarification) => clarification.seen).map((clarification) => clarification.id);
    this.memory.add("reported", serverSeen);
    this.memory.add("shown", serverSeen);
    this.show(initial);
    window.addEventListener("online", () => this.report());
  }

  get lastId() {
    return Math.max(0, ...this.known);
  }

  // Show clarifications (from the page or a pulse); the ones this sitting never showed are
  // announced in the banner. Returns how many were new to this page.
  show(clarifications) {
    const added = clarifications.filter((clarification) => !this.known.has(clarification.id));
    const announce = [];
    for (const clarification of added) {
      this.known.add(clarification.id);
      this.listItem(clarification);
      this.note(clarification);
      if (!this.memory.has("shown", clarification.id)) announce.push(clarification);
    }
    if (announce.length) this.announce(announce);
    this.memory.add(
      "shown",
      added.map((clarification) => clarification.id),
    );
    this.report();
    return added.length;
  }

  // --- where they show ---------------------------------------------------------------------

  body(clarification, className) {
    const body = document.createElement("div");
    body.className = className;
    body.innerHTML = clarification.html; // safe: rendered by the server with raw HTML escaped
    return body;
  }

  listItem(clarification) {
    if (!this.list) return;
    if (!document.getElementById(`clarification-${clarification.id}`)) {
      const item = document.createElement("li");
      item.className = "clarification border-start border-3 border-info ps-2 mb-2";
      item.id = `clarification-${clarification.id}`;
      item.dataset.clarificationId = String(clarification.id);
      const meta = document.createElement("p");
      meta.className = "clarification-meta small text-body-secondary mb-1";
      const heading = questionHeading(clarification);
      if (heading) {
        const link = document.createElement("a");
        link.href = `#${heading.id}`;
        link.textContent = clarification.number;
        meta.append("About ", link);
      } else {
        meta.append(aboutText(clarification));
      }
      const time = document.createElement("time");
      time.dateTime = clarification.published_at;
      time.textContent = publishedTime(clarification.published_at);
      meta.append(" · ", time);
      item.append(meta, this.body(clarification, "clarification-body"));
      this.list.append(item);
      typeset(item);
    }
    if (this.section) this.section.hidden = false;
  }

  // A note in the question's own block, under its heading (and flag button), after any earlier note.
  note(clarification) {
    const heading = questionHeading(clarification);
    if (!heading || document.querySelector(`[data-clarification-note="${clarification.id}"]`)) return;
    const note = document.createElement("aside");
    note.className = "clarification-note alert alert-info py-2 my-2";
    note.dataset.clarificationNote = String(clarification.id);
    note.setAttribute("aria-label", `Clarification about ${clarification.number}`);
    const title = document.createElement("p");
    title.className = "fw-semibold mb-1";
    title.textContent = `Clarification (${publishedTime(clarification.published_at)})`;
    note.append(title, this.body(clarification, "clarification-body"));
    let after = heading;
    while (
      after.nextElementSibling &&
      (after.nextElementSibling.matches("[data-flag-question]") ||
        after.nextElementSibling.matches("[data-clarification-note]"))
    ) {
      after = after.nextElementSibling;
    }
    after.after(note);
    typeset(note);
  }

  // The dismissible alert at the top, inside the live region; newer ones join an open one.
  announce(clarifications) {
    if (!this.banner) return;
    let alert = this.banner.querySelector(".clarification-alert");
    if (!alert) {
      alert = document.createElement("div");
      alert.className = "clarification-alert alert alert-info d-flex align-items-start gap-2 mt-2 mb-0 py-2";
      const content = document.createElement("div");
      content.className = "flex-grow-1";
      const title = document.createElement("p");
      title.className = "fw-semibold mb-1";
      title.textContent = "New clarification from your instructors";
      const items = document.createElement("ul");
      items.className = "list-unstyled mb-0";
      items.dataset.clarificationItems = "";
      content.append(title, items);
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "btn-close";
      dismiss.setAttribute("aria-label", "Dismiss the new clarifications");
      dismiss.addEventListener("click", () => {
        alert.remove();
        document.getElementById("clarifications-heading")?.focus();
      });
      alert.append(content, dismiss);
      this.banner.append(alert);
    }
    const items = alert.querySelector("[data-clarification-items]");
    for (const clarification of clarifications) {
      const item = document.createElement("li");
      item.className = "clarification-banner-item";
      item.dataset.clarificationId = String(clarification.id);
      const about = document.createElement("p");
      about.className = "small mb-0";
      const heading = questionHeading(clarification);
      if (heading) {
        const link = document.createElement("a");
        link.href = `#${heading.id}`;
        link.textContent = clarification.number;
        about.append("About ", link, ":");
      } else {
        about.append(`${aboutText(clarification)}:`);
      }
      item.append(about, this.body(clarification, "clarification-body"));
      items.append(item);
    }
    typeset(alert);
  }

  // --- telling the server ------------------------------------------------------------------

  // Unreported ones are sent again with the next pulse, or when the browser is back online.
  async report() {
    const ids = [...this.known].filter((id) => !this.memory.has("reported", id));
    if (!ids.length || this.reporting) return;
    this.reporting = true;
    let reported = false;
    try {
      const result = await postJSON(this.seenUrl, { ids });
      reported = result.ok;
      if (reported) this.memory.add("reported", ids);
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    } finally {
      this.reporting = false;
    }
    // Shown while this report was on its way.
    if (reported) this.report();
  }
}
