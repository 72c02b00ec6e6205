// The issuer fetch's bounds, against a real local HTTP server (port 0): https required unless the
// loopback option is on, redirects only to the same host, size and time limits, validation.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchIssuerJwks, JwksFetchError } from "./oidc-keys.ts";

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
    const url = issuer("b", `http://${host}/k`);
    // Without the option the issuer is read over https, which this server does not speak.
    expect(await failure(fetchIssuerJwks(url, { ...loopback, allowHttpLoopback: false }))).toContain("https://");
    expect(await failure(fetchIssuerJwks(issuer("c", "http://example.com/k"), loopback))).toContain("must be https");
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
