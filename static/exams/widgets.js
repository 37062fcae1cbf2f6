// Reading and writing each question kind's answer, in the JSON shape the server's kind module
// accepts (exams/kinds/*.py, clean_answer). null is a blank answer for every kind.
//
// Each widget is a <fieldset class="answer" data-question="<id>" data-kind="<kind>">
// (templates/exams/widgets/<kind>.html); its inputs are named q<id>, q<id>-<part> or
// q<id>-r<row>-c<col>.

function inputs(fieldset, selector) {
  return [...fieldset.querySelectorAll(selector)];
}

function named(fieldset) {
  return `q${fieldset.dataset.question}`;
}

function blankText(text) {
  return text.trim() === "" ? null : text;
}

function radios(fieldset) {
  return inputs(fieldset, `input[type=radio][name="${named(fieldset)}"]`);
}

function checkRadio(fieldset, value) {
  for (const radio of radios(fieldset)) radio.checked = radio.value === value;
}

function textInput(fieldset) {
  return fieldset.querySelector(`[name="${named(fieldset)}"]`);
}

function partAreas(fieldset) {
  const prefix = `${named(fieldset)}-`;
  return inputs(fieldset, "textarea").filter((area) => area.name.startsWith(prefix));
}

function gridCells(fieldset) {
  const pattern = new RegExp(`^${named(fieldset)}-r(\\d+)-c(\\d+)$`);
  return inputs(fieldset, "select").flatMap((select) => {
    const match = pattern.exec(select.name);
    return match ? [{ select, row: Number(match[1]), col: Number(match[2]) }] : [];
  });
}

const KINDS = {
  true_false: {
    read(fieldset) {
      const value = radios(fieldset).find((radio) => radio.checked)?.value ?? "";
      return value === "" ? null : value === "true";
    },
    write(fieldset, value) {
      checkRadio(fieldset, value === true ? "true" : value === false ? "false" : "");
    },
  },
  single_choice: {
    read(fieldset) {
      return radios(fieldset).find((radio) => radio.checked)?.value || null;
    },
    write(fieldset, value) {
      checkRadio(fieldset, typeof value === "string" ? value : "");
    },
  },
  multiple_select: {
    read(fieldset) {
      const chosen = inputs(fieldset, `input[type=checkbox][name="${named(fieldset)}"]`)
        .filter((box) => box.checked)
        .map((box) => box.value);
      return chosen.length ? chosen : null;
    },
    write(fieldset, value) {
      const chosen = new Set(Array.isArray(value) ? value : []);
      for (const box of inputs(fieldset, `input[type=checkbox][name="${named(fieldset)}"]`)) {
        box.checked = chosen.has(box.value);
      }
    },
  },
  short_answer: {
    // Parts are answered as {"a": text, "b": text}; a question without parts as one text.
    read(fieldset) {
      const parts = partAreas(fieldset);
      if (!parts.length) return blankText(textInput(fieldset).value);
      const prefix = `${named(fieldset)}-`;
      const texts = Object.fromEntries(parts.map((area) => [area.name.slice(prefix.length), area.value]));
      return Object.values(texts).every((text) => text.trim() === "") ? null : texts;
    },
    write(fieldset, value) {
      const parts = partAreas(fieldset);
      if (!parts.length) {
        textInput(fieldset).value = typeof value === "string" ? value : "";
        return;
      }
      const prefix = `${named(fieldset)}-`;
      for (const area of parts) {
        const text = value && typeof value === "object" ? value[area.name.slice(prefix.length)] : "";
        area.value = typeof text === "string" ? text : "";
      }
    },
  },
  // The text is sent as typed: the server parses it (and says so when it is not a number).
  numeric: {
    read(fieldset) {
      return blankText(textInput(fieldset).value);
    },
    write(fieldset, value) {
      textInput(fieldset).value = value === null || value === undefined ? "" : String(value);
    },
  },
  expression: {
    read(fieldset) {
      return blankText(textInput(fieldset).value);
    },
    write(fieldset, value) {
      textInput(fieldset).value = typeof value === "string" ? value : "";
    },
  },
  grid: {
    read(fieldset) {
      const cells = gridCells(fieldset);
      const rows = Math.max(-1, ...cells.map((cell) => cell.row)) + 1;
      const cols = Math.max(-1, ...cells.map((cell) => cell.col)) + 1;
      const matrix = Array.from({ length: rows }, () => Array(cols).fill(null));
      for (const { select, row, col } of cells) matrix[row][col] = select.value || null;
      return matrix.flat().every((cell) => cell === null) ? null : matrix;
    },
    write(fieldset, value) {
      for (const { select, row, col } of gridCells(fieldset)) {
        const symbol = Array.isArray(value) && Array.isArray(value[row]) ? value[row][col] : null;
        select.value = typeof symbol === "string" ? symbol : "";
      }
    },
  },
  // The sketch widget (sketch.js) keeps its strokes as JSON in the hidden input.
  sketch: {
    read(fieldset) {
      const text = textInput(fieldset).value;
      if (!text) return null;
      const value = JSON.parse(text);
      return value && Array.isArray(value.strokes) && value.strokes.length ? value : null;
    },
    write(fieldset, value) {
      const input = textInput(fieldset);
      input.value = value && Array.isArray(value.strokes) && value.strokes.length ? JSON.stringify(value) : "";
    },
  },
};

export function answerFieldsets(root = document) {
  return [...root.querySelectorAll("fieldset.answer[data-question][data-kind]")].filter(
    (fieldset) => fieldset.dataset.kind in KINDS,
  );
}

export function readAnswer(fieldset) {
  return KINDS[fieldset.dataset.kind].read(fieldset);
}

// Setting a control's value from code fires no event, so each control is sent "answer:load"
// for the previews and the sketch to redraw; it is not an edit, and nothing is saved.
export function writeAnswer(fieldset, value) {
  KINDS[fieldset.dataset.kind].write(fieldset, value);
  for (const control of fieldset.querySelectorAll("input, textarea, select")) {
    control.dispatchEvent(new Event("answer:load"));
  }
}

// Whether a stored value counts as answered (for the navigator): anything but blank.
export function isAnswered(value) {
  if (value === null || value === undefined) return false;
  if (typeof value === "string") return value.trim() !== "";
  if (Array.isArray(value)) return value.some((item) => (Array.isArray(item) ? item.some((c) => c !== null) : true));
  if (typeof value === "object") {
    if (Array.isArray(value.strokes)) return value.strokes.length > 0;
    return Object.values(value).some((text) => typeof text === "string" && text.trim() !== "");
  }
  return true; // true, false, a number
}
