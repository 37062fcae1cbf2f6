// Which tab holds the sitting.
//
// The device id is per tab: kept in sessionStorage, so a reload keeps it and a new tab makes
// its own. The server lets the newest claim win; tabs of one browser also tell each other at
// once over a BroadcastChannel, so the older tab turns read-only without waiting for its next
// save to be refused. A duplicated tab starts with a copy of the original's sessionStorage,
// hence the same id: the older tab says so, and the new one takes a fresh id and claims again.

function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; the exam may be served over plain HTTP on a LAN.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function deviceKey(sittingId) {
  return `examhall:sitting:${sittingId}:device`;
}

export function tabDevice(sittingId, { fresh = false } = {}) {
  const key = deviceKey(sittingId);
  try {
    let device = fresh ? null : window.sessionStorage.getItem(key);
    if (!device) {
      device = uuid4();
      window.sessionStorage.setItem(key, device);
    }
    return device;
  } catch {
    return uuid4(); // no sessionStorage: a reload will claim as a new device, which is safe
  }
}

export class TabChannel {
  // onTakenOver(): another tab of this browser claimed the sitting after this one.
  // onDuplicate(): this tab turned out to share its device id with an older tab.
  constructor(sittingId, { onTakenOver, onDuplicate }) {
    this.instance = uuid4();
    this.device = null;
    this.channel = "BroadcastChannel" in window ? new BroadcastChannel(`examhall:sitting:${sittingId}`) : null;
    this.channel?.addEventListener("message", ({ data }) => {
      if (!data || data.instance === this.instance) return;
      if (data.type === "claimed") {
        if (data.device === this.device) this.channel.postMessage({ type: "same-device", to: data.instance });
        onTakenOver();
      } else if (data.type === "same-device" && data.to === this.instance) {
        onDuplicate();
      }
    });
  }

  announceClaim(device) {
    this.device = device;
    this.channel?.postMessage({ type: "claimed", device, instance: this.instance });
  }
}
