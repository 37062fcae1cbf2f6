// The live preview under each short-answer textarea: Markdown with $LaTeX$, rendered in the
// browser (markdown-it, raw HTML disabled, links limited as on the server) so that it works
// with no connection, and math typeset by math.js with the self-hosted KaTeX.
import markdownit from "../vendor/markdown-it/markdown-it.esm.min.mjs";
import { mathPlugin } from "./markdown_math.js";
import { typeset } from "./math.js";

const DELAY_MS = 200;
const ALIGN_CLASSES = { left: "text-start", center: "text-center", right: "text-end" };

// markdown-it aligns table cells with a style attribute, which the page's Content-Security-Policy
// (style-src 'self') refuses; Bootstrap's alignment classes say the same thing.
function alignWithClasses(state) {
  for (const token of state.tokens) {
    if (token.type !== "th_open" && token.type !== "td_open") continue;
    const style = token.attrGet("style");
    if (!style) continue;
    const align = /text-align:\s*(left|center|right)/.exec(style);
    token.attrs = token.attrs.filter(([name]) => name !== "style");
    if (align) token.attrJoin("class", ALIGN_CLASSES[align[1]]);
  }
}

// The same preset and extensions as exams/markdown.py.
const md = markdownit("commonmark", { html: false, linkify: false, typographer: false })
  .enable(["table", "strikethrough"])
  .use(mathPlugin);
md.core.ruler.push("align_with_classes", alignWithClasses);
// A link in the preview must not take the student away from the exam page.
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet("target", "_blank");
  tokens[idx].attrSet("rel", "noopener noreferrer");
  return self.renderToken(tokens, idx, options);
};
md.validateLink = (url) => /^(https?:\/\/|\/|#|mailto:)/i.test(url);

export function renderMarkdown(text) {
  return md.render(text);
}

function render(textarea, preview) {
  if (!textarea.value.trim()) {
    preview.replaceChildren();
    return;
  }
  // Safe to insert: markdown-it escapes all raw HTML (html: false) and the math plugin escapes TeX.
  preview.innerHTML = renderMarkdown(textarea.value);
  typeset(preview);
}

export function attachMarkdownPreviews(root = document) {
  for (const preview of root.querySelectorAll("[data-markdown-preview-of]")) {
    const textarea = document.getElementById(preview.dataset.markdownPreviewOf);
    if (!textarea) continue;
    let timer = null;
    const update = () => render(textarea, preview);
    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(update, DELAY_MS);
    });
    // Hydration sets the value from code: it announces that with this event.
    textarea.addEventListener("answer:load", update);
    update();
  }
}
