// A markdown-it plugin for $inline$, $$display$$ and block $$ … $$ math that reads the text the
// way the server's renderer does (exams/markdown.py: mdit-py-plugins' dollarmath with spaces
// and digits allowed and $$ inside paragraphs), so a student's preview matches what graders see.
// Math is emitted as escaped TeX in [data-math] elements, for math.js to typeset with KaTeX.

function escaped(src, pos) {
  let backslashes = 0;
  for (let at = pos - 1; at >= 0 && src[at] === "\\"; at--) backslashes++;
  return backslashes % 2 === 1;
}

function mathInline(state, silent) {
  const src = state.src;
  const start = state.pos;
  if (src[start] !== "$" || escaped(src, start) || start + 1 >= src.length) return false;
  const double = src[start + 1] === "$";
  let pos = start + (double ? 2 : 1);
  let end;
  for (;;) {
    end = src.indexOf("$", pos);
    if (end < 0) return false;
    if (escaped(src, end)) {
      pos = end + 1;
      continue;
    }
    if (double) {
      if (end + 1 >= src.length) return false;
      if (src[end + 1] !== "$") {
        pos = end + 1;
        continue;
      }
      end += 1;
    }
    break;
  }
  const text = double ? src.slice(start + 2, end - 1) : src.slice(start + 1, end);
  if (!text) return false;
  if (!silent) {
    const token = state.push(double ? "math_inline_double" : "math_inline", "math", 0);
    token.content = text;
    token.markup = double ? "$$" : "$";
  }
  state.pos = end + 1;
  return true;
}

function mathBlock(state, startLine, endLine, silent) {
  if (state.sCount[startLine] - state.blkIndent >= 4) return false; // an indented code block
  const startPos = state.bMarks[startLine] + state.tShift[startLine];
  let end = state.eMarks[startLine];
  if (startPos + 2 > end) return false;
  if (state.src[startPos] !== "$" || state.src[startPos + 1] !== "$") return false;
  let nextLine = startLine;
  let found = false;
  let lineText = state.src.slice(startPos, end);
  if (lineText.trim().length > 3) {
    if (lineText.trim().endsWith("$$")) {
      found = true;
      end = end - 2 - (lineText.length - lineText.trimEnd().length);
    } else if (lineText.slice(2).includes("$$")) {
      return false; // a $$ mid-line: inline math, not a block
    }
  }
  while (!found) {
    nextLine += 1;
    if (nextLine >= endLine) break;
    const start = state.bMarks[nextLine] + state.tShift[nextLine];
    end = state.eMarks[nextLine];
    lineText = state.src.slice(start, end);
    if (lineText.trim().endsWith("$$")) {
      found = true;
      end = end - 2 - (lineText.length - lineText.trimEnd().length);
    }
  }
  if (!found) return false;
  if (silent) return true;
  let content;
  if (nextLine === startLine) {
    content = state.src.slice(startPos + 2, end);
  } else {
    const lines = [state.src.slice(startPos + 2, state.eMarks[startLine])];
    for (let line = startLine + 1; line < nextLine; line++) {
      lines.push(state.src.slice(state.bMarks[line], state.eMarks[line]));
    }
    lines.push(state.src.slice(state.bMarks[nextLine], end));
    content = lines.join("\n");
  }
  state.line = nextLine + 1;
  const token = state.push("math_block", "math", 0);
  token.block = true;
  token.content = content;
  token.markup = "$$";
  token.map = [startLine, state.line];
  return true;
}

export function mathPlugin(md) {
  const escape = md.utils.escapeHtml;
  md.inline.ruler.before("escape", "math_inline", mathInline);
  md.block.ruler.before("fence", "math_block", mathBlock);
  md.renderer.rules.math_inline = (tokens, idx) =>
    `<span class="math" data-math="inline">${escape(tokens[idx].content.trim())}</span>`;
  md.renderer.rules.math_inline_double = (tokens, idx) =>
    `<div class="math" data-math="display">${escape(tokens[idx].content.trim())}</div>`;
  md.renderer.rules.math_block = (tokens, idx) =>
    `<div class="math" data-math="display">${escape(tokens[idx].content.trim())}</div>\n`;
}
