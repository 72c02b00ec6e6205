import { BlockList, isIP } from "node:net";

/**
 * Which addresses the control plane may open a connection to on a caller's say-so (an OIDC
 * issuer's URL): public ones only. A caller naming `http://169.254.169.254/…` or an internal host
 * must not make the control plane read the cloud's metadata service or the private network for
 * them (server-side request forgery). The ranges are IANA's special-purpose registries' entries
 * that are not globally reachable, grouped by the reason reported.
 */

/** Why an address is not public; `null` for a public address. */
export type AddressClass =
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "multicast"
  | "unspecified"
  | "reserved";

const ranges: readonly [AddressClass, "ipv4" | "ipv6", string, number][] = [
  ["unspecified", "ipv4", "0.0.0.0", 8],
  ["private", "ipv4", "10.0.0.0", 8],
  ["private", "ipv4", "100.64.0.0", 10],
  ["loopback", "ipv4", "127.0.0.0", 8],
  ["link-local", "ipv4", "169.254.0.0", 16],
  ["private", "ipv4", "172.16.0.0", 12],
  ["reserved", "ipv4", "192.0.0.0", 24],
  ["reserved", "ipv4", "192.0.2.0", 24],
  ["private", "ipv4", "192.168.0.0", 16],
  ["reserved", "ipv4", "198.18.0.0", 15],
  ["reserved", "ipv4", "198.51.100.0", 24],
  ["reserved", "ipv4", "203.0.113.0", 24],
  ["multicast", "ipv4", "224.0.0.0", 4],
  ["reserved", "ipv4", "240.0.0.0", 4],
  ["unspecified", "ipv6", "::", 128],
  ["loopback", "ipv6", "::1", 128],
  ["reserved", "ipv6", "100::", 64],
  ["reserved", "ipv6", "2001:db8::", 32],
  ["unique-local", "ipv6", "fc00::", 7],
  ["link-local", "ipv6", "fe80::", 10],
  ["unique-local", "ipv6", "fec0::", 10],
  ["multicast", "ipv6", "ff00::", 8],
];

const lists = new Map<AddressClass, BlockList>();
for (const [kind, family, network, prefix] of ranges) {
  let list = lists.get(kind);
  if (list === undefined) {
    list = new BlockList();
    lists.set(kind, list);
  }
  list.addSubnet(network, prefix, family);
}

/**
 * The IPv4 address an IPv6 one carries and routes to (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
 * `::a.b.c.d`, NAT64 `64:ff9b::/96`), or `null`: each is judged as the IPv4 address it reaches.
 */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const groups = expandIpv6(lower);
  if (groups === null) return null;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0xffff || groups[5] === 0);
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!mapped && !nat64) return null;
  const [hi = 0, lo = 0] = groups.slice(6);
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4 ones.
  if (!nat64 && groups[5] === 0 && hi === 0 && lo <= 1) return null;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad included), or `null`. */
function expandIpv6(address: string): number[] | null {
  let text = address.split("%")[0] ?? "";
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad !== null) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return null;
  return [...left, ...Array.from({ length: fill }, () => 0), ...right];
}

/**
 * The class of a non-public IP address, or `null` when it is public. Anything that is not an IP
 * address at all is `"reserved"`: the caller resolves names first and judges what it resolved.
 *
 * @example addressClass("169.254.169.254") // "link-local" (the cloud metadata service)
 */
export function addressClass(address: string): AddressClass | null {
  const family = isIP(address.split("%")[0] ?? "");
  if (family === 0) return "reserved";
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== null) return addressClass(v4);
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  const bare = address.split("%")[0] ?? "";
  for (const [kind, list] of lists) if (list.check(bare, type)) return kind;
  return null;
}
