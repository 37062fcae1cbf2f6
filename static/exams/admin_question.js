// On the question page, show the help and fields for the selected kind only: each kind's
// worked example stays listed (and shown without JavaScript), but the others are hidden.
const kindSelect = document.querySelector("select[name=kind]");

function showKind(kind) {
  for (const list of document.querySelectorAll(".kind-help")) {
    list.classList.toggle("kind-help-filtered", Boolean(kind));
    for (const item of list.querySelectorAll("[data-kind-help]")) {
      item.hidden = Boolean(kind) && item.dataset.kindHelp !== kind;
    }
  }
  const trueFalseRow = document.querySelector(".field-true_false_key");
  trueFalseRow?.classList.toggle("kind-hidden", Boolean(kind) && kind !== "true_false");
}

if (kindSelect) {
  kindSelect.addEventListener("change", () => showKind(kindSelect.value));
  showKind(kindSelect.value);
}
