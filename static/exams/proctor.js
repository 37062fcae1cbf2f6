// Reports what proctors want to know about (the window losing focus, the page being hidden,
// text pasted into an answer) to the sitting's events endpoint. At most one report per kind
// every few seconds: the server rate-limits too, and a flurry of alt-tabs says no more than one.
// Reports that find the server unreachable wait (a few, in memory) for the connection to return.
import { NetworkError, postJSON } from "./http.js";

const MIN_INTERVAL_MS = 5000;
const MAX_WAITING = 20;

export function watchProctorEvents({ url, isActive }) {
  const lastSent = new Map();
  const waiting = [];
  // Leaving the page (to the review page, the receipt, or a reload) hides it too: not news.
  let leaving = false;
  window.addEventListener("pagehide", () => {
    leaving = true;
  });
  window.addEventListener("pageshow", () => {
    leaving = false;
  });

  async function send(event) {
    try {
      // keepalive lets the report of a page being hidden or closed still leave.
      await postJSON(url, event, { keepalive: true });
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      if (waiting.length < MAX_WAITING) waiting.push(event);
    }
  }

  function report(kind, detail = {}) {
    if (leaving || !isActive()) return;
    const now = Date.now();
    if (now - (lastSent.get(kind) ?? -Infinity) < MIN_INTERVAL_MS) return;
    lastSent.set(kind, now);
    send({ kind, detail: { ...detail, client_time: new Date(now).toISOString() } });
  }

  window.addEventListener("blur", () => report("focus_loss"));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") report("visibility", { state: "hidden" });
  });
  document.addEventListener("paste", (event) => {
    const fieldset = event.target.closest?.("fieldset.answer[data-question]");
    const text = event.clipboardData?.getData("text") ?? "";
    report("paste", { question: Number(fieldset?.dataset.question) || 0, length: text.length });
  });
  window.addEventListener("online", () => {
    for (const event of waiting.splice(0)) send(event);
  });
}
