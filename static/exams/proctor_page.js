// The proctor page (templates/exams/proctor_page.html): poll the rows endpoint every few seconds
// while the tab is visible, and redraw the counts, the rows and the recent actions without a
// reload. Between polls, time left counts down from each deadline against the server's clock
// (the offset is measured at each poll), so a wrong clock on the proctor's laptop changes nothing.
// The search box and the section filter apply at once, and stay in the address bar. Every value
// reaches the page through textContent: nothing from the server is parsed as HTML.
import { describeFailure, getJSON, NetworkError } from "./http.js";

const MAX_BACKOFF_MS = 60000;

function el(tag, { text = "", className = "", attrs = {} } = {}) {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function timeCell(iso, text) {
  const td = el("td");
  if (iso) td.append(el("time", { text, attrs: { datetime: iso } }));
  return td;
}

export function formatLeft(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

function rowElement(row) {
  const tr = el("tr", { className: `proctor-row proctor-${row.state}`, attrs: { "data-student": row.student, "data-state": row.state } });
  const name = el("th", { attrs: { scope: "row" } });
  name.append(el("a", { text: row.name, attrs: { href: row.url } }));
  if (!row.on_roster) {
    name.append(" ");
    name.append(el("span", { text: "dropped", className: "badge text-bg-warning" }));
  }
  const started = row.sitting !== null;
  const left = el("td", { text: row.time_left, className: "text-end", attrs: { "data-cell": "time_left" } });
  if (row.deadline && row.seconds_left !== null) left.dataset.deadline = row.deadline;
  const adjustments = [row.accommodation, row.extension_minutes ? `+${row.extension_minutes} min` : ""].filter(Boolean);
  tr.append(
    name,
    el("td", { text: row.net_id }),
    el("td", { text: row.section }),
    el("td", { text: row.state_label, attrs: { "data-cell": "state" } }),
    timeCell(row.started_at, row.started),
    left,
    timeCell(row.last_saved_at, row.last_saved),
    el("td", { text: started ? String(row.answered) : "", className: "text-end" }),
    el("td", { text: started ? String(row.focus_losses) : "", className: "text-end" }),
    el("td", { text: started ? String(row.takeovers) : "", className: "text-end" }),
    el("td", { text: row.ips.join(", "), className: "small" }),
    el("td", { text: adjustments.join("; "), className: "small" }),
  );
  return tr;
}

function actionElement(action) {
  const tr = el("tr", { attrs: { "data-kind": action.kind } });
  const when = el("td", { className: "text-nowrap" });
  when.append(el("time", { text: action.at_text, attrs: { datetime: action.at } }));
  tr.append(
    when,
    el("td", { text: action.actor }),
    el("td", { text: action.summary ? `${action.kind_label}: ${action.summary}` : action.kind_label }),
    el("td", { text: action.student }),
    el("td", { text: action.reason }),
  );
  return tr;
}

function emptyRow(columns, text) {
  const tr = el("tr", { className: "proctor-empty" });
  tr.append(el("td", { text, className: "text-body-secondary", attrs: { colspan: String(columns) } }));
  return tr;
}

export function startProctorPage({ config, document: doc = document }) {
  const rowsBody = doc.getElementById("proctor-rows");
  const actionsBody = doc.getElementById("proctor-actions");
  const status = doc.getElementById("proctor-status");
  const filter = doc.getElementById("proctor-filter");
  const pollMs = Math.max(1, Number(config.poll_seconds) || 4) * 1000;
  let offsetMs = 0; // server clock − this browser's clock, measured at each poll
  let timer = null;
  let failures = 0;
  let inFlight = null;

  function query() {
    const params = new URLSearchParams(new FormData(filter));
    for (const [key, value] of [...params]) if (!value) params.delete(key);
    return params;
  }

  function tick() {
    const now = Date.now() + offsetMs;
    for (const cell of rowsBody.querySelectorAll("td[data-deadline]")) {
      cell.textContent = formatLeft((Date.parse(cell.dataset.deadline) - now) / 1000);
    }
  }

  function draw(data, receivedAt) {
    offsetMs = Date.parse(data.now) - receivedAt;
    for (const [name, value] of Object.entries(data.counts)) {
      const badge = doc.querySelector(`[data-count="${name}"]`);
      if (badge) badge.textContent = String(value);
    }
    rowsBody.replaceChildren(...(data.rows.length ? data.rows.map(rowElement) : [emptyRow(12, "No student matches.")]));
    actionsBody.replaceChildren(
      ...(data.actions.length ? data.actions.map(actionElement) : [emptyRow(5, "No action yet.")]),
    );
    const time = new Date(Date.parse(data.now)).toLocaleTimeString();
    status.textContent = `Updated at ${time} (server time); updates every ${pollMs / 1000} seconds while this page is visible.`;
  }

  function schedule(wait) {
    window.clearTimeout(timer);
    timer = doc.visibilityState === "hidden" ? null : window.setTimeout(poll, wait);
  }

  async function poll() {
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const url = `${config.rows_url}?${query()}`;
    try {
      const result = await getJSON(url, { signal: controller.signal });
      if (controller !== inFlight) return; // a newer poll (the filter changed) replaced this one
      // A signed-out session is redirected to the sign-in page (HTML, not JSON).
      if (result.status === 403 || result.status === 404 || (result.ok && !result.data)) {
        status.textContent = "Not updated: you are signed out or no longer on this course's staff. Reload the page.";
        return;
      }
      if (!result.ok) throw new Error(describeFailure(result));
      failures = 0;
      draw(result.data, result.receivedAt);
    } catch (error) {
      if (error.name === "AbortError") return;
      failures += 1;
      const why = error instanceof NetworkError ? "the server could not be reached" : error.message;
      status.textContent = `Not updated: ${why}. Retrying…`;
    } finally {
      if (controller === inFlight) inFlight = null;
    }
    schedule(failures ? Math.min(pollMs * 2 ** failures, MAX_BACKOFF_MS) : pollMs);
  }

  // Pause while the tab is hidden; catch up at once when it shows again.
  doc.addEventListener("visibilitychange", () => {
    if (doc.visibilityState === "hidden") {
      window.clearTimeout(timer);
      timer = null;
      inFlight?.abort();
    } else {
      poll();
    }
  });

  let typing = null;
  function refilter() {
    const params = query();
    const address = params.toString() ? `?${params}` : window.location.pathname;
    window.history.replaceState(null, "", address);
    poll();
  }
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    refilter();
  });
  filter.addEventListener("input", () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(refilter, 300);
  });

  window.setInterval(tick, 1000);
  schedule(pollMs);
}

const configNode = document.getElementById("proctor-config");
if (configNode) startProctorPage({ config: JSON.parse(configNode.textContent) });
