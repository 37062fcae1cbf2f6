// The live rendering of a formula answer: the server parses the text exactly as scoring will
// (exams/expressions.py) and answers with LaTeX, or with a hint on why it does not parse; the
// page typesets the LaTeX with KaTeX. Nothing here ever says whether the formula is right.
import { NetworkError, postJSON } from "./http.js";
import { typeset } from "./math.js";

const DELAY_MS = 400;

// The page's URL template names question 0; the last "/0/" is where the id goes.
function urlFor(template, questionId) {
  const at = template.lastIndexOf("/0/");
  return at < 0 ? template : `${template.slice(0, at)}/${questionId}/${template.slice(at + 3)}`;
}

function show(preview, { latex = "", hint = "", note = "" }) {
  preview.classList.toggle("expression-preview-hint", Boolean(hint));
  preview.classList.toggle("expression-preview-note", Boolean(note));
  if (latex) {
    const math = document.createElement("div");
    math.className = "math";
    math.dataset.math = "display";
    math.textContent = latex;
    preview.replaceChildren(math);
    typeset(preview);
  } else {
    preview.textContent = hint || note;
  }
}

export function attachExpressionPreviews({ urlTemplate, root = document }) {
  for (const preview of root.querySelectorAll("[data-expression-preview-of]")) {
    const input = document.getElementById(preview.dataset.expressionPreviewOf);
    const fieldset = input?.closest("fieldset[data-question]");
    if (!input || !fieldset) continue;
    const url = urlFor(urlTemplate, fieldset.dataset.question);
    let timer = null;
    let controller = null;
    let lastText = null;

    async function update() {
      const text = input.value;
      if (text === lastText) return;
      controller?.abort();
      if (!text.trim()) {
        lastText = text;
        show(preview, {});
        return;
      }
      controller = new AbortController();
      try {
        const result = await postJSON(url, { text }, { signal: controller.signal });
        if (!result.ok) {
          show(preview, { note: "No preview right now; your formula is kept as typed." });
          return;
        }
        lastText = text;
        if (result.data.error) show(preview, { hint: `Not a formula yet: ${result.data.error}` });
        else show(preview, { latex: result.data.latex });
      } catch (error) {
        if (error.name === "AbortError") return;
        if (!(error instanceof NetworkError)) throw error;
        show(preview, { note: "No preview while offline; your formula is kept as typed." });
      }
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(update, DELAY_MS);
    });
    input.addEventListener("answer:load", update);
    window.addEventListener("online", () => {
      lastText = null;
      update();
    });
    update();
  }
}
