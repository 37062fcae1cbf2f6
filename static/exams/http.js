// JSON requests from the exam page to its own server, with Django's CSRF token.
//
// postJSON never throws for an HTTP answer: it resolves to {status, data, sentAt, receivedAt}
// so callers can act on a 409 refusal's {"code", "detail"}. It rejects with a NetworkError
// only when no answer came back at all (offline, server down): the caller keeps the data
// and retries.

export class NetworkError extends Error {
  constructor(cause) {
    super("The server could not be reached.");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

// Django documents reading the token from the csrftoken cookie for AJAX; a page that
// renders {% csrf_token %} also carries it in a hidden input, used when the cookie is absent.
export function csrfToken() {
  const cookie = document.cookie.split(";").map((part) => part.trim()).find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

async function send(url, init) {
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new NetworkError(error);
  }
  const receivedAt = Date.now();
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try {
      data = await response.json();
    } catch (error) {
      // A body cut off mid-way is a network failure, not an answer.
      throw new NetworkError(error);
    }
  }
  return { status: response.status, ok: response.ok, data, sentAt, receivedAt };
}

export function postJSON(url, body, { signal, keepalive = false } = {}) {
  return send(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    signal,
    keepalive,
  });
}

export function getJSON(url, { signal } = {}) {
  return send(url, { method: "GET", headers: { Accept: "application/json" }, signal, cache: "no-store" });
}

// A short human description of an HTTP answer that is neither a success nor a known refusal.
export function describeFailure(result) {
  const detail = result.data && (result.data.detail || result.data.error);
  return detail ? `the server answered ${result.status}: ${detail}` : `the server answered ${result.status}`;
}
