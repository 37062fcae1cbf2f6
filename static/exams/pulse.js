// The exam page's pulse: every ~7 s it asks the server for the sitting's status and deadline and
// for the clarifications published after the last one the page has, so that an extension and a
// clarification reach a page whose student types nothing (autosave answers carry the deadline
// too, but only when there is something to save).
//
// - Jittered (6–8 s, the first one anywhere in the first interval) so that a room of pages opened
//   together does not ask together. With the server's memo of at most 2 s, a clarification
//   reaches every visible page within 10 s.
// - Paused while the page is hidden; once shown again it asks at once.
// - One request at a time; a failed one (offline, server down) is simply tried at the next beat.
import { getJSON, NetworkError } from "./http.js";

const INTERVAL_MS = 7000;
const JITTER_MS = 1000;

function interval() {
  return INTERVAL_MS - JITTER_MS + Math.random() * 2 * JITTER_MS;
}

export class Pulse {
  // url: the sitting's pulse endpoint; since: the id of the newest clarification the page has;
  // onPulse(result): what http.js resolved, with data {status, deadline, server_now, clarifications}.
  constructor({ url, since = 0, onPulse }) {
    this.url = url;
    this.since = since;
    this.onPulse = onPulse;
    this.timer = null;
    this.inFlight = false;
    this.stopped = false;
    this.onVisibility = () => {
      if (document.visibilityState === "visible") this.beat();
      else this.pause();
    };
  }

  start() {
    document.addEventListener("visibilitychange", this.onVisibility);
    if (document.visibilityState === "visible") this.schedule(Math.random() * INTERVAL_MS);
  }

  stop() {
    this.stopped = true;
    this.pause();
    document.removeEventListener("visibilitychange", this.onVisibility);
  }

  pause() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  schedule(delay = interval()) {
    this.pause();
    if (this.stopped || document.visibilityState !== "visible") return;
    this.timer = setTimeout(() => this.beat(), delay);
  }

  async beat() {
    if (this.stopped || this.inFlight) return;
    this.pause();
    this.inFlight = true;
    try {
      const result = await getJSON(`${this.url}?since=${this.since}`);
      if (result.ok && result.data && !this.stopped) {
        for (const clarification of result.data.clarifications ?? []) {
          this.since = Math.max(this.since, clarification.id);
        }
        this.onPulse(result);
      }
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }
}
