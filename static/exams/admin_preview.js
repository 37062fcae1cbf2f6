// Live preview under each Markdown textarea of the authoring pages (prompts, instructions,
// choices): the server renders the text with the paper's own renderer (the staff-only
// endpoint named in the textarea's data-markdown-preview) and math.js typesets the math.
import { typeset } from "./math.js";

const SELECTOR = "textarea[data-markdown-preview]";
const DELAY_MS = 300;
const pending = new WeakMap();

function previewFor(textarea) {
  if (textarea.closest(".empty-form")) return null; // the inline template row, cloned by the admin
  if (!textarea.id) return null;
  let preview = document.getElementById(`${textarea.id}-preview`);
  if (!preview) {
    preview = document.createElement("div");
    preview.id = `${textarea.id}-preview`;
    preview.className = "markdown-preview";
    preview.setAttribute("role", "region");
    preview.setAttribute("aria-label", "Preview as students see it");
    (textarea.closest(".flex-container") ?? textarea).after(preview);
  }
  return preview;
}

function csrfToken(textarea) {
  const field = textarea.form?.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

async function render(textarea) {
  const preview = previewFor(textarea);
  if (!preview) return;
  pending.get(textarea)?.abort();
  if (!textarea.value.trim()) {
    preview.replaceChildren();
    return;
  }
  const controller = new AbortController();
  pending.set(textarea, controller);
  try {
    const response = await fetch(textarea.dataset.markdownPreview, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(textarea) },
      body: new URLSearchParams({ text: textarea.value }),
      signal: controller.signal,
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
    // The HTML comes from exams.markdown.render_markdown, which escapes all raw HTML.
    preview.innerHTML = data.html;
    preview.classList.remove("markdown-preview-error");
    typeset(preview);
  } catch (error) {
    if (error.name === "AbortError") return;
    preview.textContent = `No preview: ${error.message}`;
    preview.classList.add("markdown-preview-error");
  }
}

function schedule(textarea) {
  clearTimeout(Number(textarea.dataset.previewTimer));
  textarea.dataset.previewTimer = String(setTimeout(() => render(textarea), DELAY_MS));
}

document.addEventListener("input", (event) => {
  if (event.target.matches?.(SELECTOR)) schedule(event.target);
});
for (const textarea of document.querySelectorAll(SELECTOR)) render(textarea);
