// The question navigator and the "flag for review" toggles.
//
// Each a[data-nav-question="<id>"] gets the class nav-answered or nav-blank, plus nav-flagged,
// and a visually hidden text saying the same for screen readers (" (answered, flagged for review)").
// Each button[data-flag-question="<id>"] is a toggle button: aria-pressed is its state.

export class Navigator {
  constructor(root = document) {
    this.root = root;
  }

  links(questionId) {
    return this.root.querySelectorAll(`a[data-nav-question="${questionId}"]`);
  }

  flagButtons(questionId) {
    return this.root.querySelectorAll(`button[data-flag-question="${questionId}"]`);
  }

  isFlagged(questionId) {
    return [...this.flagButtons(questionId)].some((button) => button.getAttribute("aria-pressed") === "true");
  }

  show(questionId, { answered, flagged }) {
    for (const button of this.flagButtons(questionId)) button.setAttribute("aria-pressed", String(flagged));
    for (const link of this.links(questionId)) {
      link.classList.toggle("nav-answered", answered);
      link.classList.toggle("nav-blank", !answered);
      link.classList.toggle("nav-flagged", flagged);
      let state = link.querySelector(".nav-state");
      if (!state) {
        state = document.createElement("span");
        state.className = "nav-state visually-hidden";
        link.append(state);
      }
      state.textContent = ` (${answered ? "answered" : "blank"}${flagged ? ", flagged for review" : ""})`;
    }
  }

  // onToggle(questionId, flagged) is called after a flag button changes.
  watchFlags(onToggle) {
    this.root.addEventListener("click", (event) => {
      const button = event.target.closest?.("button[data-flag-question]");
      if (!button || button.disabled) return;
      const flagged = button.getAttribute("aria-pressed") !== "true";
      onToggle(button.dataset.flagQuestion, flagged);
    });
  }
}
