// Typesets the TeX that exams/markdown.py leaves in [data-math] elements, with the
// self-hosted KaTeX. Exported so live previews can typeset what they insert.
import katex from "../vendor/katex/katex.mjs";

export function typeset(root = document) {
  for (const el of root.querySelectorAll("[data-math]:not([data-typeset])")) {
    const tex = el.textContent;
    try {
      katex.render(tex, el, { displayMode: el.dataset.math === "display", throwOnError: false, output: "htmlAndMathml" });
      el.setAttribute("data-typeset", "");
      el.setAttribute("data-tex", tex);
    } catch (error) {
      el.title = String(error);
    }
  }
}

typeset();
