/**
 * Parsers for typed condition values (numbers, dates, booleans, base64). Policy values are parsed
 * once at compile time; request values at evaluation time, without regular expressions.
 */

/** Parses a decimal number (`-12`, `3.5`); NaN when invalid. Exponents are not accepted. */
export function parseDecimal(s: string): number {
  const n = s.length;
  if (n === 0) return Number.NaN;
  let i = 0;
  const first = s.charCodeAt(0);
  if (first === 43 || first === 45) i++;
  let digits = 0;
  let dot = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else return Number.NaN;
  }
  return digits === 0 ? Number.NaN : Number(s);
}

/** A request value as a number: numbers as is, strings parsed; NaN otherwise. */
export function toNumber(v: string | number | boolean): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return parseDecimal(v);
  return Number.NaN;
}

function digitsAt(s: string, at: number, count: number): number {
  if (at + count > s.length) return -1;
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses an AWS date condition value into epoch milliseconds; NaN when invalid. Accepts epoch
 * seconds (`1700000000`) and ISO 8601: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`, `…:ss`, `….sss`, then
 * `Z` or `±hh:mm` (no zone means UTC).
 */
export function parseDate(s: string): number {
  const n = s.length;
  if (n === 0) return Number.NaN;
  let allDigits = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) {
      allDigits = false;
      break;
    }
  }
  if (allDigits) return Number(s) * 1000;
  const year = digitsAt(s, 0, 4);
  if (year < 0 || s[4] !== "-") return Number.NaN;
  const month = digitsAt(s, 5, 2);
  if (month < 1 || month > 12 || s[7] !== "-") return Number.NaN;
  const day = digitsAt(s, 8, 2);
  if (day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  let i = 10;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  if (i < n && (s[i] === "T" || s[i] === "t")) {
    hour = digitsAt(s, i + 1, 2);
    if (hour < 0 || hour > 23 || s[i + 3] !== ":") return Number.NaN;
    minute = digitsAt(s, i + 4, 2);
    if (minute < 0 || minute > 59) return Number.NaN;
    i += 6;
    if (i < n && s[i] === ":") {
      second = digitsAt(s, i + 1, 2);
      if (second < 0 || second > 60) return Number.NaN;
      i += 3;
      if (i < n && s[i] === ".") {
        i++;
        let scale = 100;
        let digits = 0;
        while (i < n) {
          const c = s.charCodeAt(i);
          if (c < 48 || c > 57) break;
          ms += (c - 48) * scale;
          scale /= 10;
          digits++;
          i++;
        }
        if (digits === 0) return Number.NaN;
        ms = Math.floor(ms);
      }
    }
  }
  let offsetMinutes = 0;
  if (i < n) {
    const z = s[i];
    if ((z === "Z" || z === "z") && i + 1 === n) {
      i++;
    } else if (z === "+" || z === "-") {
      const oh = digitsAt(s, i + 1, 2);
      if (oh < 0 || oh > 23) return Number.NaN;
      let om = 0;
      if (s[i + 3] === ":") {
        om = digitsAt(s, i + 4, 2);
        i += 6;
      } else if (i + 3 < n) {
        om = digitsAt(s, i + 3, 2);
        i += 5;
      } else i += 3;
      if (om < 0 || om > 59 || i !== n) return Number.NaN;
      offsetMinutes = (oh * 60 + om) * (z === "-" ? -1 : 1);
    } else return Number.NaN;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

/** A request value as epoch milliseconds: numbers are epoch seconds (`aws:EpochTime`). */
export function toEpochMillis(v: string | number | boolean): number {
  if (typeof v === "number") return v * 1000;
  if (typeof v === "string") return parseDate(v);
  return Number.NaN;
}

/** A request value as a boolean; undefined when it is not `true`/`false` (any case). */
export function toBool(v: string | number | boolean): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v !== "string") return undefined;
  if (v.length === 4 && v.toLowerCase() === "true") return true;
  if (v.length === 5 && v.toLowerCase() === "false") return false;
  return undefined;
}

function base64Value(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43) return 62;
  if (c === 47) return 63;
  return -1;
}

/** Where the payload of standard base64 text ends (padding stripped), or -1 when its length is impossible. */
function base64End(s: string): number {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  return s.length - end > 2 || end % 4 === 1 ? -1 : end;
}

/** Decodes `s[0, end)` into the first `floor(end * 3 / 4)` bytes of `out`; false on a non-base64 character. */
function decodeInto(s: string, end: number, out: Uint8Array): boolean {
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const v = base64Value(s.charCodeAt(i));
    if (v < 0) return false;
    buffer = ((buffer << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return true;
}

/** Decodes standard base64 (padding optional); undefined when invalid. */
export function decodeBase64(s: string): Uint8Array | undefined {
  const end = base64End(s);
  if (end < 0) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  return decodeInto(s, end, out) ? out : undefined;
}

// Reused by base64Equals so that comparing on the hot path allocates nothing once it has grown.
let scratch = new Uint8Array(64);

/** Compares a base64 request string with decoded bytes; undefined when the string is not base64. */
export function base64Equals(s: string, bytes: Uint8Array): boolean | undefined {
  const end = base64End(s);
  if (end < 0) return undefined;
  const n = Math.floor((end * 3) / 4);
  if (scratch.length < n) scratch = new Uint8Array(n);
  if (!decodeInto(s, end, scratch)) return undefined;
  if (n !== bytes.length) return false;
  for (let i = 0; i < n; i++) if (scratch[i] !== bytes[i]) return false;
  return true;
}
