/**
 * Finds where a JSON path (`$.Statement[1].Condition.StringLike`, as the policy engine's findings
 * and explanations name places) lies in a document's text, so the editor can underline a finding
 * and the simulator can highlight the deciding statement. A tolerant scanner: it maps what it can
 * read of a malformed document, and a path that goes deeper than the text answers with the deepest
 * part found.
 */

/** A character range `[from, to)` in the document's text. */
export interface TextRange {
  from: number;
  to: number;
}

/** One step of a path: an object member's name or an array index. */
export type PathStep = string | number;

/** Splits `$.Statement[1].Condition["aws:username"]` into its steps; `$` alone is no step. */
export function parseJsonPath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  let i = path.startsWith("$") ? 1 : 0;
  while (i < path.length) {
    const c = path[i];
    if (c === ".") {
      let j = i + 1;
      while (j < path.length && path[j] !== "." && path[j] !== "[") j++;
      steps.push(path.slice(i + 1, j));
      i = j;
    } else if (c === "[") {
      const quote = path[i + 1];
      if (quote === '"' || quote === "'") {
        const end = path.indexOf(`${quote}]`, i + 2);
        const stop = end === -1 ? path.length : end;
        steps.push(path.slice(i + 2, stop));
        i = stop + 2;
      } else {
        const end = path.indexOf("]", i);
        const stop = end === -1 ? path.length : end;
        const text = path.slice(i + 1, stop);
        steps.push(/^\d+$/.test(text) ? Number(text) : text);
        i = stop + 1;
      }
    } else {
      // A path without a leading "." (`Statement[0]`): read a name.
      let j = i;
      while (j < path.length && path[j] !== "." && path[j] !== "[") j++;
      steps.push(path.slice(i, j));
      i = j;
    }
  }
  return steps;
}

class Scanner {
  i = 0;
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  skip(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i] as string)) this.i++;
  }

  /** Reads a string starting at a quote; returns its value, or undefined when none starts here. */
  string(): string | undefined {
    if (this.text[this.i] !== '"') return undefined;
    const start = this.i;
    this.i++;
    while (this.i < this.text.length && this.text[this.i] !== '"') this.i += this.text[this.i] === "\\" ? 2 : 1;
    this.i = Math.min(this.i + 1, this.text.length);
    try {
      return JSON.parse(this.text.slice(start, this.i)) as string;
    } catch {
      return this.text.slice(start + 1, this.i - 1);
    }
  }

  /** Skips one value (any kind) and returns its range. */
  value(): TextRange {
    this.skip();
    const from = this.i;
    const c = this.text[this.i];
    if (c === '"') this.string();
    else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      this.i++;
      for (;;) {
        this.skip();
        if (this.i >= this.text.length) break;
        if (this.text[this.i] === close) {
          this.i++;
          break;
        }
        if (this.text[this.i] === ",") {
          this.i++;
          continue;
        }
        if (c === "{") {
          if (this.string() === undefined) this.i++;
          this.skip();
          if (this.text[this.i] === ":") this.i++;
        }
        const before = this.i;
        this.value();
        if (this.i === before) this.i++;
      }
    } else {
      while (this.i < this.text.length && !/[\s,\]}]/.test(this.text[this.i] as string)) this.i++;
    }
    return { from, to: this.i };
  }

  /** At an object's `{`: finds member `name` and returns its value's range (and its key's start). */
  member(name: string): { value: TextRange; keyFrom: number } | undefined {
    this.i++;
    for (;;) {
      this.skip();
      if (this.i >= this.text.length || this.text[this.i] === "}") return undefined;
      if (this.text[this.i] === ",") {
        this.i++;
        continue;
      }
      const keyFrom = this.i;
      const key = this.string();
      if (key === undefined) return undefined;
      this.skip();
      if (this.text[this.i] !== ":") return undefined;
      this.i++;
      this.skip();
      const valueFrom = this.i;
      const value = this.value();
      if (key === name) return { value, keyFrom };
      if (this.i === valueFrom) return undefined;
    }
  }

  /** At an array's `[`: finds element `index` and returns its range. */
  element(index: number): TextRange | undefined {
    this.i++;
    let n = 0;
    for (;;) {
      this.skip();
      if (this.i >= this.text.length || this.text[this.i] === "]") return undefined;
      if (this.text[this.i] === ",") {
        this.i++;
        continue;
      }
      const before = this.i;
      const range = this.value();
      if (n === index) return range;
      if (this.i === before) return undefined;
      n++;
    }
  }
}

/**
 * The range of the value at `path` in `text` (a member is given with its key: `"Effect": "Deny"`),
 * or the range of the deepest step found; the whole text for `$`. A single statement written as
 * an object answers `Statement[0]` too, as AWS reads it.
 *
 * @example
 * locateJsonPath('{"Statement":[{"Effect":"Allow"}]}', "$.Statement[0]") // { from: 14, to: 32 }
 */
export function locateJsonPath(text: string, path: string): TextRange {
  const s = new Scanner(text);
  s.skip();
  let found: TextRange = { from: s.i, to: text.length };
  for (const step of parseJsonPath(path)) {
    s.i = found.from;
    const c = text[s.i];
    if (typeof step === "number") {
      if (c === "{" && step === 0) continue; // a lone statement object stands for Statement[0]
      if (c !== "[") break;
      const range = s.element(step);
      if (range === undefined) break;
      found = range;
    } else {
      if (c !== "{") break;
      const m = s.member(step);
      if (m === undefined) break;
      found = m.value;
    }
  }
  return found;
}

/** Line and column (1-based) of an offset, for messages that name a place in the text. */
export function lineColumnOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
