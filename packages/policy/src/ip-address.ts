/**
 * Hand-written IPv4/IPv6 parsing and CIDR matching for `IpAddress`/`NotIpAddress`. Request values
 * are parsed into a scratch buffer, so matching allocates nothing.
 */

/** A parsed CIDR block as four 32-bit words (big-endian); IPv4 uses word 3 only. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly n0: number;
  readonly n1: number;
  readonly n2: number;
  readonly n3: number;
  readonly m0: number;
  readonly m1: number;
  readonly m2: number;
  readonly m3: number;
}

const scratch = new Uint32Array(4);
const groupScratch = new Uint16Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses dotted-quad IPv4 in `s[start, end)`; returns the address as an unsigned 32-bit number or -1. */
export function parseIPv4(s: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    let n = 0;
    let digits = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || n > 255) return -1;
    value = value * 256 + n;
    octets++;
    if (octets < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

/** Parses IPv6 (with `::` and an optional trailing dotted quad) into `out`; returns false when invalid. */
function parseIPv6(s: string, start: number, end: number, out: Uint32Array): boolean {
  // 8 groups of 16 bits, collected in two halves around "::".
  const groups = groupScratch;
  let count = 0;
  let gap = -1;
  let i = start;
  if (i + 1 < end && s.charCodeAt(i) === 58 && s.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (count >= 8) return false;
    // Trailing embedded IPv4?
    let j = i;
    while (j < end && s.charCodeAt(j) !== 58 && s.charCodeAt(j) !== 46) j++;
    if (j < end && s.charCodeAt(j) === 46) {
      const v4 = parseIPv4(s, i, end);
      if (v4 < 0 || count > 6) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    let n = 0;
    let digits = 0;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      n = n * 16 + h;
      digits++;
      i++;
      if (digits > 4) return false;
    }
    if (digits === 0) return false;
    groups[count++] = n;
    if (i < end) {
      if (s.charCodeAt(i) !== 58) return false;
      i++;
      if (i < end && s.charCodeAt(i) === 58) {
        if (gap >= 0) return false;
        gap = count;
        i++;
      } else if (i === end) return false;
    }
  }
  if (gap < 0 && count !== 8) return false;
  if (gap >= 0 && count > 7) return false;
  if (gap >= 0) {
    // Move the groups after "::" to the end and zero the gap.
    const tail = count - gap;
    for (let k = tail - 1; k >= 0; k--) groups[8 - tail + k] = groups[gap + k] as number;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = (((groups[2 * w] as number) << 16) | (groups[2 * w + 1] as number)) >>> 0;
  return true;
}

function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

const cidrScratch = new Uint32Array(4);

/** Parses `a.b.c.d/n`, `a.b.c.d`, `x::y/n` or `x::y`; undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const addrEnd = slash < 0 ? text.length : slash;
  let family: 4 | 6;
  const v4 = parseIPv4(text, 0, addrEnd);
  if (v4 >= 0) {
    family = 4;
    cidrScratch[0] = 0;
    cidrScratch[1] = 0;
    cidrScratch[2] = 0;
    cidrScratch[3] = v4;
  } else if (parseIPv6(text, 0, addrEnd, cidrScratch)) {
    family = 6;
  } else return undefined;
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const digits = text.length - slash - 1;
    if (digits < 1 || digits > 3) return undefined;
    bits = 0;
    for (let i = slash + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      bits = bits * 10 + (c - 48);
    }
    if (bits > max) return undefined;
  }
  const m0 = family === 4 ? 0 : maskWord(bits);
  const m1 = family === 4 ? 0 : maskWord(bits - 32);
  const m2 = family === 4 ? 0 : maskWord(bits - 64);
  const m3 = family === 4 ? maskWord(bits) : maskWord(bits - 96);
  return {
    family,
    n0: ((cidrScratch[0] as number) & m0) >>> 0,
    n1: ((cidrScratch[1] as number) & m1) >>> 0,
    n2: ((cidrScratch[2] as number) & m2) >>> 0,
    n3: ((cidrScratch[3] as number) & m3) >>> 0,
    m0,
    m1,
    m2,
    m3,
  };
}

/**
 * Parses a request IP into the module scratch buffer; returns 4, 6 or 0 (invalid). An IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`) is read as IPv4.
 */
function parseRequestIp(s: string): 0 | 4 | 6 {
  const v4 = parseIPv4(s, 0, s.length);
  if (v4 >= 0) {
    scratch[3] = v4;
    return 4;
  }
  if (!parseIPv6(s, 0, s.length, scratch)) return 0;
  if (scratch[0] === 0 && scratch[1] === 0 && scratch[2] === 0xffff) return 4;
  return 6;
}

/** Whether a request IP string is inside any of `cidrs`; undefined when the string is not an IP. */
export function ipInAny(s: string, cidrs: readonly Cidr[]): boolean | undefined {
  const family = parseRequestIp(s);
  if (family === 0) return undefined;
  const w3 = scratch[3] as number;
  for (const c of cidrs) {
    if (c.family !== family) continue;
    if ((w3 & c.m3) >>> 0 !== c.n3) continue;
    if (
      family === 4 ||
      (((scratch[0] as number) & c.m0) >>> 0 === c.n0 &&
        ((scratch[1] as number) & c.m1) >>> 0 === c.n1 &&
        ((scratch[2] as number) & c.m2) >>> 0 === c.n2)
    ) {
      return true;
    }
  }
  return false;
}
