// The answers this browser has not yet had acknowledged, kept in localStorage per sitting so
// they survive a reload, a crash or a lost connection, plus the sitting's sequence counter.
//
// Each entry is {value, flagged, seq}; per question only the newest (highest seq) is kept.
// localStorage is shared by the tabs of one browser, so every write re-reads and merges by
// seq rather than overwriting another tab's newer entry. When storage is unavailable (private
// mode, quota) the entries live in memory and the page says so.

function storage() {
  try {
    const probe = "examhall:probe";
    window.localStorage.setItem(probe, probe);
    window.localStorage.removeItem(probe);
    return window.localStorage;
  } catch {
    return null;
  }
}

export class Outbox {
  constructor(sittingId) {
    this.key = `examhall:sitting:${sittingId}:outbox`;
    this.seqKey = `examhall:sitting:${sittingId}:seq`;
    this.store = storage();
    this.memory = {};
    this.memorySeq = 0;
  }

  get persistent() {
    return this.store !== null;
  }

  entries() {
    if (!this.store) return { ...this.memory };
    try {
      const parsed = JSON.parse(this.store.getItem(this.key) || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch {
      return {};
    }
  }

  write(entries) {
    if (this.store) {
      try {
        this.store.setItem(this.key, JSON.stringify(entries));
        return;
      } catch {
        // The quota is full: keep going in memory rather than lose the answer.
        this.store = null;
      }
    }
    this.memory = entries;
  }

  get(questionId) {
    return this.entries()[questionId] ?? null;
  }

  // Keep the entry unless one with a newer seq is already there (from another tab).
  put(questionId, entry) {
    const entries = this.entries();
    const current = entries[questionId];
    if (!current || current.seq < entry.seq) {
      entries[questionId] = entry;
      this.write(entries);
    }
  }

  // The server has this seq (or a newer one) for the question: the entry can go, unless the
  // student changed the answer again since.
  acknowledge(questionId, seq) {
    const entries = this.entries();
    if (entries[questionId] && entries[questionId].seq <= seq) {
      delete entries[questionId];
      this.write(entries);
    }
  }

  // The next sequence number: above the server's last accepted one, everything stored
  // here, and every number handed out before (in this tab or another).
  nextSeq(floor = 0) {
    const stored = this.store ? Number(this.store.getItem(this.seqKey)) || 0 : this.memorySeq;
    const highestEntry = Math.max(0, ...Object.values(this.entries()).map((entry) => entry.seq));
    const seq = Math.max(stored, highestEntry, floor) + 1;
    this.memorySeq = seq;
    if (this.store) {
      try {
        this.store.setItem(this.seqKey, String(seq));
      } catch {
        this.store = null;
      }
    }
    return seq;
  }

  raiseSeq(floor) {
    const stored = this.store ? Number(this.store.getItem(this.seqKey)) || 0 : this.memorySeq;
    if (floor > stored) {
      this.memorySeq = floor;
      if (this.store) {
        try {
          this.store.setItem(this.seqKey, String(floor));
        } catch {
          this.store = null;
        }
      }
    }
  }
}
