"""Markdown with $inline$ and $$display$$ LaTeX, rendered to safe HTML.

Raw HTML in the source is escaped, never passed through. Math is emitted as escaped TeX in
elements marked ``data-math`` that the self-hosted KaTeX module (``static/exams/math.js``)
typesets in the browser, so a page without JavaScript still shows the TeX source.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin


def _math_inline(content: str, options: Any) -> str:
    return f'<span class="math" data-math="inline">{escape(content)}</span>'


def _math_block(content: str, options: Any) -> str:
    return f'<div class="math" data-math="display">{escape(content)}</div>\n'


# The Content-Security-Policy forbids style attributes, so aligned table cells get
# Bootstrap's text classes instead of markdown-it's style="text-align:…".
_ALIGN_CLASSES = {"text-align:left": "text-start", "text-align:center": "text-center", "text-align:right": "text-end"}


def _cell_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    style = token.attrGet("style")
    if style:
        token.attrs.pop("style", None)
        token.attrJoin("class", _ALIGN_CLASSES.get(str(style), ""))
    return str(self.renderToken(tokens, idx, options, env))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(
        dollarmath_plugin,
        allow_labels=False,
        allow_space=True,
        allow_digits=True,
        double_inline=True,
        renderer=lambda content, options: (
            _math_block(content, options) if options.get("display_mode") else _math_inline(content, options)
        ),
    )
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    md.validateLink = lambda url: url.lower().startswith(("http://", "https://", "/", "#", "mailto:"))  # type: ignore[method-assign]
    return md


def render_markdown(text: str) -> SafeString:
    """HTML for trusted display: escaped source, no raw HTML, no javascript: links."""
    return mark_safe(_parser().render(text or ""))  # noqa: S308 — html is disabled above
