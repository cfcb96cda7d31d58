// A lesson's "In PyTorch" block (templates/learn/*.html): runnable code whose numbers follow the lesson's
// inputs ([data-v] spans, written as Python literals), and what it prints, built from the server's numbers
// exactly as Python prints them (repr of a float, or format(v, ".6g")). tests/test_lesson_code.py runs
// the template's code; tests/browser/test_learn.py runs the code on the page and compares the two.

/** Python's repr() of a float: the shortest digits that read back the same, 2.4, -4.0, 1e-05, 1.5e+16. */
export function pyRepr(value) {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponent] = value.toExponential().split("e"); // JS also gives the shortest digits
  const sign = value < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  const e = Number(exponent);
  if (e < -4 || e >= 16) return `${sign}${scientific(digits, e)}`;
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  if (digits.length <= e + 1) return `${sign}${digits}${"0".repeat(e + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
}

/** Python's format(value, f".{precision}g"): rounded, trailing zeros dropped, 1.23457e-05 below 1e-4. */
export function pyG(value, precision = 6) {
  if (!Number.isFinite(value)) return pyRepr(value);
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const [mantissa, exponent] = value.toExponential(precision - 1).split("e");
  const sign = value < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  const e = Number(exponent);
  if (e < -4 || e >= precision) return `${sign}${scientific(digits.replace(/0+$/, ""), e)}`;
  const text = e < 0 ? `0.${"0".repeat(-e - 1)}${digits}` : `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
  return sign + text.replace(/\.?0+$/, "");
}

function scientific(digits, e) {
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

/** A value as a Python literal: a float as repr (2.0), a whole count as itself (3), a list of either. */
export function pyLiteral(value, { whole = false } = {}) {
  if (Array.isArray(value)) return `[${value.map((v) => pyLiteral(v, { whole })).join(", ")}]`;
  if (typeof value === "number") return whole ? String(value) : pyRepr(value);
  return String(value); // an expression the code names, e.g. torch.sigmoid
}

export class CodeBlock {
  constructor(id) {
    this.root = document.getElementById(id);
    this.output = this.root.querySelector(".code-output");
  }

  /** values: {name: Python source}, one for each [data-v="name"] of the code. */
  fill(values) {
    for (const span of this.root.querySelectorAll("[data-v]")) {
      if (span.dataset.v in values) span.textContent = values[span.dataset.v];
    }
  }

  /** The lines the code prints, from the server's numbers. */
  prints(lines) {
    this.output.textContent = lines.map((line) => line + "\n").join("");
  }
}
