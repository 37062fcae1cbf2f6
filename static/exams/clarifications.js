// The clarifications page of an exam (templates/exams/clarifications.html), for its staff: the
// message is previewed as students will see it (Markdown and $LaTeX$, typeset with KaTeX).
import { attachMarkdownPreviews } from "./markdown_preview.js";

attachMarkdownPreviews();
