// The issuer fetch's bounds, against a real local HTTP server (port 0): https required unless the
// loopback option is on, redirects only to the same host, size and time limits, validation, and
// public addresses only (checked after resolution, connected to as checked).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { IamError } from "@gatehouse/core";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchIssuerJwks, fetchJwksForCreate, JwksAddressRefused, JwksFetchError } from "./oidc-keys.ts";

const KEYS = JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", kid: "k" }] });
let server: Server;
let host: string;
const routes = new Map<string, (res: import("node:http").ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const route = routes.get(req.url ?? "");
    if (route === undefined) {
      res.statusCode = 404;
      res.end();
    } else route(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** An issuer at /<name> whose discovery document names `jwksUri`. */
const issuer = (name: string, jwksUri: string) => {
  routes.set(`/${name}/.well-known/openid-configuration`, (res) => res.end(JSON.stringify({ jwks_uri: jwksUri })));
  return `${host}/${name}`;
};
const loopback = { timeoutMs: 2000, allowHttpLoopback: true };
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(JwksFetchError);
      return (e as Error).message;
    },
  );

describe("fetchIssuerJwks", () => {
  it("reads discovery then jwks_uri, following a same-host redirect; the document comes back canonical", async () => {
    routes.set("/k", (res) => res.end(`  ${KEYS}\n`));
    routes.set("/moved", (res) => {
      res.statusCode = 302;
      res.setHeader("location", "/k");
      res.end();
    });
    expect(await fetchIssuerJwks(issuer("a", `http://${host}/moved`), loopback)).toBe(KEYS);
  });

  it("refuses plain http unless the loopback option is on, and an http jwks_uri off loopback", async () => {
    routes.set("/k", (res) => res.end(KEYS));
    // Without the option the issuer is read over https, which this server does not speak.
    const tls = { ...loopback, allowHttpLoopback: true, resolve: async () => [{ address: "127.0.0.1", family: 4 }] };
    expect(await failure(fetchIssuerJwks(`issuer.test:${port()}/b`, tls))).toContain("https://issuer.test");
    expect(await failure(fetchIssuerJwks(issuer("c", "http://8.8.8.8/k"), loopback))).toContain("must be https");
    expect(await failure(fetchIssuerJwks(issuer("c2", "file:///etc/passwd"), loopback))).toContain("must be https");
  });

  it("refuses a redirect to another host, non-200 answers, documents too large, invalid JWKS, slow issuers", async () => {
    routes.set("/away", (res) => {
      res.statusCode = 301;
      res.setHeader("location", "http://localhost:1/k");
      res.end();
    });
    expect(await failure(fetchIssuerJwks(issuer("d", `http://${host}/away`), loopback))).toContain("another host");
    routes.set("/gone", (res) => {
      res.statusCode = 500;
      res.end("secret body");
    });
    const gone = await failure(fetchIssuerJwks(issuer("e", `http://${host}/gone`), loopback));
    expect(gone).toContain("HTTP 500");
    expect(gone).not.toContain("secret body");
    routes.set("/big", (res) => res.end(JSON.stringify({ keys: [{ kty: "RSA", n: "x".repeat(70_000) }] })));
    expect(await failure(fetchIssuerJwks(issuer("f", `http://${host}/big`), loopback))).toContain("larger than");
    routes.set("/nokeys", (res) => res.end(JSON.stringify({ keys: [] })));
    expect(await failure(fetchIssuerJwks(issuer("g", `http://${host}/nokeys`), loopback))).toContain("1..100 keys");
    routes.set("/slow", (res) => setTimeout(() => res.end(KEYS), 1500).unref());
    expect(
      await failure(fetchIssuerJwks(issuer("h", `http://${host}/slow`), { ...loopback, timeoutMs: 300 })),
    ).toContain("timed out");
    expect(await failure(fetchIssuerJwks(`${host}/nowhere`, loopback))).toContain("HTTP 404");
  });
});

const port = () => (server.address() as AddressInfo).port;
const refused = async (p: Promise<unknown>) => {
  const message = await failure(p);
  expect(message).toContain("public addresses only");
  return message;
};

describe("fetchIssuerJwks: public addresses only (SSRF)", () => {
  it("refuses loopback issuers, by address or by a name resolving to one, unless loopback is allowed", async () => {
    routes.set("/k", (res) => res.end(KEYS));
    const off = { ...loopback, allowHttpLoopback: false };
    let hits = 0;
    routes.set("/l/.well-known/openid-configuration", (res) => {
      hits++;
      res.end(JSON.stringify({ jwks_uri: `http://${host}/k` }));
    });
    expect(await refused(fetchIssuerJwks(`127.0.0.1:${port()}/l`, off))).toContain("loopback address");
    expect(await refused(fetchIssuerJwks(`localhost:${port()}/l`, off))).toContain("loopback address");
    expect(await refused(fetchIssuerJwks(`[::1]:${port()}/l`, off))).toContain("loopback address");
    expect(await refused(fetchIssuerJwks(`[::ffff:127.0.0.1]:${port()}/l`, off))).toContain("loopback address");
    expect(hits).toBe(0);
    expect(await fetchIssuerJwks(`127.0.0.1:${port()}/l`, loopback)).toBe(KEYS);
    expect(hits).toBe(1);
  });

  it("refuses metadata, private, unique-local, multicast and unspecified addresses even with loopback allowed", async () => {
    const to = (address: string) => ({
      ...loopback,
      resolve: async () => [{ address, family: address.includes(":") ? 6 : 4 }],
    });
    const cases: [string, string][] = [
      ["169.254.169.254", "link-local"],
      ["10.1.2.3", "private"],
      ["172.20.0.1", "private"],
      ["192.168.1.1", "private"],
      ["100.100.100.200", "private"],
      ["fd00:ec2::254", "unique-local"],
      ["fe80::1", "link-local"],
      ["ff02::1", "multicast"],
      ["224.0.0.1", "multicast"],
      ["0.0.0.0", "unspecified"],
      ["::", "unspecified"],
      ["::ffff:a9fe:a9fe", "link-local"],
      ["64:ff9b::a00:1", "private"],
    ];
    for (const [address, kind] of cases) {
      expect(await refused(fetchIssuerJwks(`issuer.test:${port()}/x`, to(address))), address).toContain(
        `${kind} address`,
      );
    }
    // An issuer whose jwks_uri (an address literal) is the metadata service.
    routes.set("/meta/.well-known/openid-configuration", (res) =>
      res.end(JSON.stringify({ jwks_uri: "https://169.254.169.254/latest/meta-data/" })),
    );
    expect(await refused(fetchIssuerJwks(`${host}/meta`, loopback))).toContain("link-local address");
    // One public and one private answer: the private one refuses the name.
    const mixed = {
      ...loopback,
      resolve: async () => [
        { address: "8.8.8.8", family: 4 },
        { address: "10.0.0.1", family: 4 },
      ],
    };
    expect(await refused(fetchIssuerJwks("issuer.test/x", mixed))).toContain("private address");
  });

  it("refuses a real server on this host's non-loopback address before sending it anything", async () => {
    const own = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && !i.internal && i.family === "IPv4");
    if (own === undefined) return; // no such interface here: the resolver cases above cover the classes
    let hits = 0;
    const other = createServer((_req, res) => {
      hits++;
      res.end(JSON.stringify({ jwks_uri: "x" }));
    });
    await new Promise<void>((resolve) => other.listen(0, own.address, resolve));
    try {
      const at = `${own.address}:${(other.address() as AddressInfo).port}`;
      expect(await refused(fetchIssuerJwks(`${at}/i`, loopback))).toMatch(/(private|reserved) address/);
      expect(hits).toBe(0);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it("connects to the address it checked: a name the system cannot resolve, and a rebinding answer", async () => {
    routes.set("/k", (res) => res.end(KEYS));
    routes.set("/moved", (res) => {
      res.statusCode = 302;
      res.setHeader("location", "/k");
      res.end();
    });
    // issuer.test does not exist in DNS: the fetch works only because it connects to the checked answer.
    const url = issuer("r", `http://issuer.test:${port()}/moved`);
    const stable = { ...loopback, resolve: async () => [{ address: "127.0.0.1", family: 4 }] };
    expect(await fetchIssuerJwks(url, stable)).toBe(KEYS);
    // The name answers loopback for jwks_uri, then the metadata address for the redirect's hop.
    let answers = 0;
    const rebinding = {
      ...loopback,
      resolve: async () => [{ address: answers++ === 0 ? "127.0.0.1" : "169.254.169.254", family: 4 }],
    };
    expect(await refused(fetchIssuerJwks(url, rebinding))).toContain("link-local address");
    expect(answers).toBe(2);
  });

  it("at create, a refused address is InvalidInput naming url; an unreachable public issuer only delays keys", async () => {
    const logger = pino({ level: "silent" });
    const off = { ...loopback, allowHttpLoopback: false };
    const error = await fetchJwksForCreate(`169.254.169.254/latest`, off, logger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IamError);
    expect(error).toMatchObject({ field: "url" });
    expect((error as Error).message).toMatch(/^url "https:\/\/169\.254\.169\.254\/latest": .*link-local address/);
    expect(await fetchJwksForCreate(`127.0.0.1:${port()}/nowhere`, loopback, logger)).toBeNull();
    expect(JwksAddressRefused.prototype).toBeInstanceOf(JwksFetchError);
  });
});
