/**
 * Hand-written IPv4/IPv6 parsing and CIDR matching for `IpAddress`/`NotIpAddress`. Request values
 * are parsed into a scratch buffer, so matching allocates nothing.
 */

/** A parsed CIDR block. IPv4 uses word 3 only; IPv6 uses words 0..3 (big-endian). */
export interface Cidr {
  readonly family: 4 | 6;
  readonly network: Uint32Array;
  readonly mask: Uint32Array;
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

function prefixMask(bits: number, words: number, out: Uint32Array): void {
  for (let w = 4 - words; w < 4; w++) {
    const take = Math.max(0, Math.min(32, bits));
    out[w] = take === 0 ? 0 : take === 32 ? 0xffffffff : (0xffffffff << (32 - take)) >>> 0;
    bits -= 32;
  }
}

/** Parses `a.b.c.d/n`, `a.b.c.d`, `x::y/n` or `x::y`; undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const addrEnd = slash < 0 ? text.length : slash;
  let bits: number;
  const network = new Uint32Array(4);
  const mask = new Uint32Array(4);
  let family: 4 | 6;
  const v4 = parseIPv4(text, 0, addrEnd);
  if (v4 >= 0) {
    family = 4;
    network[3] = v4;
  } else if (parseIPv6(text, 0, addrEnd, network)) {
    family = 6;
  } else return undefined;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) bits = max;
  else {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    bits = Number(p);
    if (bits > max) return undefined;
  }
  prefixMask(bits, family === 4 ? 1 : 4, mask);
  for (let w = 0; w < 4; w++) network[w] = ((network[w] as number) & (mask[w] as number)) >>> 0;
  return { family, network, mask };
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
  for (const c of cidrs) {
    if (c.family !== family) continue;
    if (family === 4) {
      if (((scratch[3] as number) & (c.mask[3] as number)) >>> 0 === c.network[3]) return true;
    } else if (
      ((scratch[0] as number) & (c.mask[0] as number)) >>> 0 === c.network[0] &&
      ((scratch[1] as number) & (c.mask[1] as number)) >>> 0 === c.network[1] &&
      ((scratch[2] as number) & (c.mask[2] as number)) >>> 0 === c.network[2] &&
      ((scratch[3] as number) & (c.mask[3] as number)) >>> 0 === c.network[3]
    ) {
      return true;
    }
  }
  return false;
}
