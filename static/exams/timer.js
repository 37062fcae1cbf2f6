// The countdown to the server's deadline. The computer's clock may be off by any amount, so
// the page keeps the offset between the server's clock and Date.now(), measured at load and
// again on every answer from the server (the midpoint of the request stands for the moment
// the server read its clock), and counts down in server time.

export class ServerClock {
  constructor(serverNowIso) {
    this.offset = Date.parse(serverNowIso) - Date.now();
  }

  // result: what http.js resolved, with data.server_now.
  update(result) {
    const serverNow = Date.parse(result.data?.server_now ?? "");
    if (!Number.isFinite(serverNow)) return;
    this.offset = serverNow - (result.sentAt + result.receivedAt) / 2;
  }

  now() {
    return Date.now() + this.offset;
  }
}

function format(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return `${hours}:${String(minutes).padStart(2, "0")}:${seconds}`; // as the server renders it
}

function spoken(ms) {
  const minutes = Math.ceil(Math.max(0, ms) / 60000);
  return minutes === 1 ? "1 minute left" : `${minutes} minutes left`;
}

const WARNING_MS = 5 * 60 * 1000;

export class Countdown {
  // element: #exam-timer; its [data-timer-value] child gets the time when there is one.
  constructor({ element, clock, deadlineIso, onExpire }) {
    this.element = element;
    this.display = element?.querySelector("[data-timer-value]") ?? element;
    this.clock = clock;
    this.deadline = Date.parse(deadlineIso);
    this.onExpire = onExpire;
    this.expired = false;
    this.timer = null;
  }

  setDeadline(deadlineIso) {
    const deadline = Date.parse(deadlineIso);
    if (!Number.isFinite(deadline) || deadline === this.deadline) return;
    this.deadline = deadline;
    this.tick();
  }

  remaining() {
    return this.deadline - this.clock.now();
  }

  start() {
    // Browsers slow the timers of hidden tabs down to one a minute: catch up when shown again.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.timer !== null) this.tick();
    });
    this.tick();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  tick() {
    clearTimeout(this.timer);
    const left = this.remaining();
    if (this.display) {
      this.display.textContent = format(left);
      // role=timer is not announced on every second; its label says the time in words.
      this.element.setAttribute("aria-label", `Time left: ${spoken(left)}`);
      this.element.classList.toggle("exam-timer-warning", left <= WARNING_MS);
    }
    if (left <= 0) {
      if (!this.expired) {
        this.expired = true;
        this.onExpire?.();
      }
      return;
    }
    // Wake at the next whole second of the remaining time.
    this.timer = setTimeout(() => this.tick(), (left % 1000 || 1000) + 5);
  }
}
