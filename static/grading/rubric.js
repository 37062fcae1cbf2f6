// The rubric page: the "Move up" / "Move down" buttons move an item in place instead of
// reloading the page. The button's own form is posted with Accept: application/json; the server
// answers with the rubric's new order ({"order": [item ids]}), which this script applies to the
// list, renumbering the items, updating which buttons are disabled at either end, keeping the
// keyboard focus on the button pressed and announcing the move in the page's live region.
// Without this script (or when a request fails) the same forms post normally and the page
// reloads at the moved item.

const list = document.getElementById("rubric-items");
const status = document.getElementById("rubric-status");

function rows() {
  return [...list.querySelectorAll(":scope > [data-item-id]")];
}

function renumber() {
  const all = rows();
  all.forEach((row, index) => {
    row.querySelector("[data-position]").textContent = `${index + 1}.`;
    row.querySelector('button[value="up"]').disabled = index === 0;
    row.querySelector('button[value="down"]').disabled = index === all.length - 1;
  });
}

async function post(form, button) {
  const body = new FormData(form);
  body.set("direction", button.value);
  // form.getAttribute, not form.action: the form's hidden input named "action" shadows that property.
  const response = await fetch(form.getAttribute("action"), {
    method: "POST",
    body,
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return (await response.json()).order;
}

function show(order, form, button) {
  const byId = new Map(rows().map((row) => [Number(row.dataset.itemId), row]));
  if (!Array.isArray(order) || order.length !== byId.size || !order.every((id) => byId.has(id))) {
    window.location.reload(); // someone else changed the rubric meanwhile: show it as it is
    return;
  }
  for (const id of order) list.append(byId.get(id));
  renumber();
  const itemId = Number(form.elements.namedItem("item").value); // not .item: that is a method
  const moved = byId.get(itemId);
  const other = button.value === "up" ? "down" : "up";
  (button.disabled ? moved.querySelector(`button[value="${other}"]`) : button).focus();
  const position = order.indexOf(itemId) + 1;
  status.textContent = `Moved “${moved.dataset.description}” to position ${position} of ${order.length}.`;
}

if (list) {
  list.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-move]");
    if (!form || form.dataset.plain) return;
    const button = event.submitter;
    if (!button || !button.value) return;
    event.preventDefault();
    post(form, button).then(
      (order) => {
        try {
          show(order, form, button);
        } catch {
          window.location.reload(); // the move is stored: show the page as it now is
        }
      },
      () => {
        form.dataset.plain = "1"; // not stored: post it the ordinary way, with the button pressed
        form.requestSubmit(button);
      },
    );
  });
}
