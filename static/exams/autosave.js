// Autosave: every change is kept in the outbox at once, then sent about a second later in a
// batch with a per-sitting sequence number, until the server acknowledges it.
//
// - Before its first save the page claims the sitting for its device (tab); a newer tab or
//   device that claims it turns this one read-only (409 taken_over).
// - A save that gets no answer (offline, server down) stays in the outbox and is retried with
//   exponential backoff, and at once when the browser says it is online again.
// - 409 time_up / closed / taken_over stop saving for good; the page is told why.
// - Per answer the server says saved, stale (it holds a newer one) or invalid (with a message
//   for the student); saved and stale entries leave the outbox, invalid ones wait for an edit.
import { NetworkError, describeFailure, postJSON } from "./http.js";

const DEBOUNCE_MS = 1000;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;
const MAX_BATCH = 500; // the server's limit per request (exams/sitting_api.py)
const REFUSALS = new Set(["time_up", "closed", "taken_over"]);

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export class Autosave {
  constructor({ urls, device, outbox, lastSeq = 0, on = {} }) {
    this.urls = urls;
    this.device = device;
    this.outbox = outbox;
    this.floor = lastSeq;
    this.on = on; // status, claimed, saved, stale, invalid, refused, serverTime
    this.claimed = false;
    this.stopped = null;
    this.due = new Set();
    this.timers = new Map();
    this.errors = new Map();
    this.inFlight = null;
    this.failure = null;
    this.retryTimer = null;
    this.retryDelay = FIRST_RETRY_MS;
    window.addEventListener("online", () => this.retryNow());
  }

  // --- what the page reports ------------------------------------------------------------

  pending() {
    return Object.keys(this.outbox.entries()).filter((id) => !this.errors.has(id));
  }

  statusText() {
    const count = this.pending().length;
    const where = this.outbox.persistent ? "on this device" : "in this page only";
    if (this.stopped) {
      if (!count) return "All answers saved";
      return `Not saved: ${plural(count, "answer")} kept ${where}. ${this.stopped.detail}`;
    }
    if (count && this.failure?.kind === "network") return `Offline: ${plural(count, "answer")} kept ${where}, retrying`;
    if (count && this.failure) {
      return `Not saved yet (${this.failure.message}): ${plural(count, "answer")} kept ${where}, retrying`;
    }
    if (count) return "Saving…";
    if (this.errors.size) {
      return `Not saved: ${plural(this.errors.size, "answer")} the server refused; see the message under it`;
    }
    return "All answers saved";
  }

  get state() {
    if (this.stopped) return "stopped";
    const count = this.pending().length;
    if (count && this.failure) return "offline";
    if (count) return "saving";
    return this.errors.size ? "error" : "saved";
  }

  report() {
    this.on.status?.(this.state, this.statusText());
  }

  // --- changes --------------------------------------------------------------------------

  // Keep the new answer and schedule its save; returns its sequence number.
  record(questionId, value, flagged) {
    const id = String(questionId);
    const seq = this.outbox.nextSeq(this.floor);
    this.outbox.put(id, { value, flagged, seq });
    this.errors.delete(id);
    if (this.stopped) {
      this.report(); // kept, never sent from this page
      return seq;
    }
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        this.due.add(id);
        if (!this.failure) this.kick();
      }, DEBOUNCE_MS),
    );
    this.report();
    return seq;
  }

  // Send whatever the outbox holds (after a reload, or answers another tab left behind).
  resume() {
    for (const id of Object.keys(this.outbox.entries())) this.due.add(id);
    this.report();
    return this.kick();
  }

  // Send everything now; resolves true once the server holds every answer, false when it
  // could not be reached (the answers stay in the outbox and retries go on).
  async flush() {
    for (const [id, timer] of this.timers) {
      clearTimeout(timer);
      this.due.add(id);
    }
    this.timers.clear();
    for (const id of this.pending()) this.due.add(id);
    let attempts = 0;
    for (;;) {
      if (this.stopped) return false;
      if (this.inFlight) {
        await this.inFlight;
        continue;
      }
      if (!this.sendable().length && this.claimed) return this.pending().length === 0;
      if (attempts++ > 0 && this.failure) return false;
      clearTimeout(this.retryTimer);
      await this.kick();
      if (this.failure) return false;
    }
  }

  setDevice(device) {
    this.device = device;
    this.claimed = false;
  }

  stop(code, detail) {
    if (this.stopped) return;
    this.stopped = { code, detail };
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    clearTimeout(this.retryTimer);
    this.report();
  }

  retryNow() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    for (const id of this.pending()) this.due.add(id);
    this.kick();
  }

  // --- sending --------------------------------------------------------------------------

  sendable() {
    const entries = this.outbox.entries();
    return [...this.due].filter((id) => entries[id] && !this.errors.has(id) && !this.timers.has(id));
  }

  kick() {
    if (this.stopped) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    if (this.claimed && !this.sendable().length) return Promise.resolve();
    this.inFlight = (this.claimed ? this.sendBatch() : this.claim())
      .then(
        () => this.succeeded(),
        (error) => this.failed(error),
      )
      .finally(() => {
        this.inFlight = null;
        this.report();
        if (!this.failure && !this.stopped && (!this.claimed || this.sendable().length)) this.kick();
      });
    return this.inFlight;
  }

  async claim() {
    const result = await postJSON(this.urls.claim, { device: this.device });
    if (this.refusal(result)) return;
    if (!result.ok) throw Object.assign(new Error(describeFailure(result)), { name: "ServerError" });
    this.claimed = true;
    this.raiseFloor(result.data.last_seq);
    this.on.serverTime?.(result);
    this.on.claimed?.(result.data);
  }

  async sendBatch() {
    const entries = this.outbox.entries();
    const ids = this.sendable().slice(0, MAX_BATCH);
    for (const id of ids) this.due.delete(id);
    const answers = ids.map((id) => ({
      question: Number(id),
      value: entries[id].value,
      flagged: Boolean(entries[id].flagged),
      seq: entries[id].seq,
    }));
    let result;
    try {
      result = await postJSON(this.urls.answers, { device: this.device, answers });
    } catch (error) {
      for (const id of ids) this.due.add(id);
      throw error;
    }
    if (this.refusal(result)) return;
    if (!result.ok) {
      for (const id of ids) this.due.add(id);
      throw Object.assign(new Error(describeFailure(result)), { name: "ServerError" });
    }
    this.raiseFloor(result.data.last_seq);
    this.on.serverTime?.(result);
    for (const outcome of result.data.results) {
      const id = String(outcome.question);
      if (outcome.status === "invalid") {
        // Unless the student changed it meanwhile, this answer waits for an edit.
        if (this.outbox.get(id)?.seq === outcome.seq) this.errors.set(id, outcome.error);
        this.on.invalid?.(id, outcome.error);
        continue;
      }
      this.outbox.acknowledge(id, outcome.seq);
      if (outcome.status === "saved") this.on.saved?.(id, outcome.seq);
      else this.on.stale?.(id, outcome.seq);
    }
  }

  refusal(result) {
    if (result.status !== 409 || !REFUSALS.has(result.data?.code)) return false;
    this.stop(result.data.code, result.data.detail);
    this.on.refused?.(result.data.code, result.data.detail);
    return true;
  }

  raiseFloor(lastSeq) {
    if (Number.isFinite(lastSeq) && lastSeq > this.floor) this.floor = lastSeq;
    this.outbox.raiseSeq(this.floor);
  }

  succeeded() {
    this.failure = null;
    this.retryDelay = FIRST_RETRY_MS;
    clearTimeout(this.retryTimer);
  }

  failed(error) {
    if (error.name === "AbortError") return;
    if (error instanceof NetworkError) this.failure = { kind: "network", message: error.message };
    else if (error.name === "ServerError") this.failure = { kind: "server", message: error.message };
    else throw error;
    // Jitter spreads the retries of a whole exam room after the server comes back.
    const delay = this.retryDelay * (0.8 + Math.random() * 0.4);
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.retryNow(), delay);
  }
}
