// The deployment files are validated by parsing them and checking every reference, since no
// Docker engine or cluster runs here: deploy/docker/Dockerfile, docker-compose.yml's Gatehouse
// services and deploy/k8s's overlays. Environment names, listen ports and readiness names come from
// the services' own modules (their config schemas, loaders and readiness constants), and each
// service's configuration is loaded from what the manifests would hand it, so a renamed setting,
// a moved port or a malformed value fails here.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { CONSOLE_ENV_NAMES, DEFAULT_WEB_DIR, loadConsoleConfig } from "@gatehouse/console";
import { CONTROL_PLANE_ENV_NAMES, CONTROL_PLANE_READINESS, loadControlPlaneConfig } from "@gatehouse/control-plane";
import { PROTO_DIR } from "@gatehouse/proto";
import {
  APPLIER_READINESS,
  DECIDER_READINESS,
  loadRegionConfig,
  REGION_ENV_NAMES,
  type RegionConfig,
} from "@gatehouse/region";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { type K8sObject, kustomizationFile, kustomizationResources, renderKustomization } from "./k8s/render.ts";
import { devCredentials } from "./stack/src/stack.ts";
import { loadStackConfig } from "./stack/src/stack-config.ts";

const root = resolve(import.meta.dirname, "..");
const read = (path: string): string => readFileSync(join(root, path), "utf8");
const defaults = JSON.parse(read("deploy/local/defaults.json")) as { redis: { regions: string[] } };
const REGIONS = defaults.redis.regions;

// ---------------------------------------------------------------------------------------------
// Shared: which service a process is, the env names it may get, the port it serves health on.
// ---------------------------------------------------------------------------------------------
type Env = Record<string, string>;
type Role = "control-plane" | "applier" | "decider" | "console";

/** The console gateway's HTTP health routes (services/console/API.md): readiness and liveness. */
const CONSOLE_READINESS_PATH = "/healthz";
const CONSOLE_LIVENESS_PATH = "/livez";
const CONSOLE_PROBE = "services/console/src/health-probe.ts";

/** Who may hold the operator's secret: the control plane and the appliers (heal, bootstrap). */
const holdsOperatorKey = (role: Role) => role === "control-plane" || role === "applier";

/** The operator's secret, which only the control plane and the appliers (heal, bootstrap) need. */
const OPERATOR_SECRET = /OPERATOR_SECRET_ACCESS_KEY$/;

/** Standard OpenTelemetry SDK variables (read by the telemetry bootstrap, not the services' schemas). */
const OTEL = /^OTEL_[A-Z_]+$/;

function unknownNames(role: Role, names: readonly string[]): string[] {
  const known = new Set(
    role === "control-plane" ? CONTROL_PLANE_ENV_NAMES : role === "console" ? CONSOLE_ENV_NAMES : REGION_ENV_NAMES,
  );
  return names.filter((n) => !known.has(n) && !OTEL.test(n));
}

/** Loads the service's configuration; returns the port and readiness name its health is served on. */
function healthEndpoint(role: Role, env: Env, args: readonly string[]): { port: number; readiness: string } {
  if (role === "control-plane") {
    return { port: loadControlPlaneConfig(env).listen.port, readiness: CONTROL_PLANE_READINESS };
  }
  if (role === "console") return { port: loadConsoleConfig(env).listen.port, readiness: CONSOLE_READINESS_PATH };
  const config: RegionConfig = loadRegionConfig(env, args);
  if (config.role !== role) throw new Error(`args ${args.join(" ")} give role ${config.role}, not ${role}`);
  if (role === "decider") return { port: config.listen.port, readiness: DECIDER_READINESS };
  if (config.healthListen === undefined)
    throw new Error("an applier without GATEHOUSE_REGION_HEALTH_LISTEN serves no health");
  return { port: config.healthListen.port, readiness: APPLIER_READINESS };
}

/** Development secrets made by the stack's own generator, as `stack credentials` writes them. */
const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-deploy-test-"));
const dev = devCredentials(loadStackConfig({ GATEHOUSE_STATE_DIR: stateDir }, root));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const hostPort = (address: string): { host: string; port: number } => {
  const m = /^(.*):(\d+)$/.exec(address);
  if (m === null) throw new Error(`${address} is not host:port`);
  return { host: m[1] ?? "", port: Number(m[2]) };
};

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------
interface Stage {
  name: string;
  from: string;
  lines: string[];
}

const dockerfilePath = "deploy/docker/Dockerfile";
const dockerfile = read(dockerfilePath).replace(/\\\n\s*/g, " ");
const nodeImageArg = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
const stages: Stage[] = [];
for (const line of dockerfile.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))) {
  const from = /^FROM\s+(\S+)\s+AS\s+(\S+)$/i.exec(line);
  if (from !== null) stages.push({ from: from[1] ?? "", name: from[2] ?? "", lines: [] });
  else stages.at(-1)?.lines.push(line);
}
const stage = (name: string): Stage => {
  const s = stages.find((x) => x.name === name);
  if (s === undefined) throw new Error(`${dockerfilePath} has no stage ${name}`);
  return s;
};
const instruction = (s: Stage, word: string): string[] =>
  s.lines.filter((l) => l.startsWith(`${word} `)).map((l) => l.slice(word.length + 1).trim());
const execForm = (text: string): string[] => JSON.parse(text.replace(/^.*?(\[.*\])\s*$/, "$1")) as string[];

/** The image a Gatehouse target is published as, in compose and (after the overlay's tag) in k8s. */
const IMAGE_PREFIX = "gatehouse/";
const SERVICE_TARGETS = { "control-plane": "control-plane", region: "region" } as const;

describe("deploy/docker/Dockerfile", () => {
  it("pins the base image to the exact Node release ./gw installs", () => {
    const version = /GATEHOUSE_NODE_VERSION:-([\d.]+)/.exec(read("deploy/local/node-env.sh"))?.[1];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(nodeImageArg).toBe(`node:${version}-bookworm-slim`);
    // Every stage starts from the pinned argument (Dockerfile syntax, not a template string).
    for (const s of stages) expect(s.from, `stage ${s.name}`).toBe(["$", "{NODE_IMAGE}"].join(""));
  });

  it("copies only paths that exist, and every workspace manifest npm ci checks", () => {
    const copies = stages.flatMap((s) =>
      instruction(s, "COPY")
        .filter((c) => !c.startsWith("--from"))
        .flatMap((c) => c.split(/\s+/).slice(0, -1)),
    );
    for (const path of copies) expect(existsSync(join(root, path)), path).toBe(true);
    const rootPkg = JSON.parse(read("package.json")) as { workspaces: string[] };
    for (const ws of rootPkg.workspaces.filter((w) => !w.endsWith("/*"))) {
      expect(
        // Its own COPY, or a copied directory it lives in (services/console/web under services).
        copies.some((c) => c === ws || c === `${ws}/package.json` || ws.startsWith(`${c}/`)),
        `workspace ${ws}`,
      ).toBe(true);
    }
    for (const ws of rootPkg.workspaces.filter((w) => w.endsWith("/*"))) {
      expect(copies, `workspaces ${ws}`).toContain(ws.slice(0, -2));
    }
  });

  it.each(Object.entries(SERVICE_TARGETS))(
    "target %s: production dependencies of its workspace only, non-root, a health check on its readiness",
    (pkgDir, target) => {
      const s = stage(target);
      const pkg = JSON.parse(read(`services/${pkgDir}/package.json`)) as { name: string };
      const install = instruction(s, "RUN").join(" ");
      expect(install).toMatch(/\bnpm ci\b/);
      expect(install).toContain("--omit=dev");
      expect(install).toContain("--ignore-scripts");
      expect(install).toContain(`--workspace ${pkg.name}`);
      const user = instruction(s, "USER");
      expect(user).toHaveLength(1);
      expect(user[0]).not.toMatch(/^(0|root)\b/);
      const entry = execForm(instruction(s, "ENTRYPOINT")[0] ?? "[]");
      const script = entry.find((a) => a.endsWith(".ts"));
      expect(script).toBe(`services/${pkgDir}/src/main.ts`);
      expect(existsSync(join(root, script ?? ""))).toBe(true);
      // The HEALTHCHECK probes the port the service listens on with no listen setting, for its readiness.
      const probe = execForm(instruction(s, "HEALTHCHECK")[0] ?? "[]");
      expect(probe.slice(0, 2)).toEqual(["node", "packages/lifecycle/src/health-probe.ts"]);
      expect(existsSync(join(root, "packages/lifecycle/src/health-probe.ts"))).toBe(true);
      const cmd = instruction(s, "CMD").map(execForm)[0] ?? [];
      const minimal: Env =
        target === "control-plane"
          ? { ...dev, GATEHOUSE_PG_URL: "postgres://x@y/z", GATEHOUSE_KAFKA_BROKERS: "k:9092" }
          : { GATEHOUSE_REGION_REDIS_URL: "redis://r:6379", GATEHOUSE_KAFKA_BROKERS: "k:9092" };
      const role: Role = target === "control-plane" ? "control-plane" : "decider";
      const served = healthEndpoint(role, minimal, cmd);
      expect(hostPort(probe[2] ?? "").port).toBe(served.port);
      expect(probe[3]).toBe(served.readiness);
      expect(instruction(s, "EXPOSE")).toEqual([String(served.port)]);
    },
  );
});

describe("deploy/docker/Dockerfile: the console target", () => {
  const envOf = (st: Stage): Env =>
    Object.fromEntries(
      instruction(st, "ENV").map((e) => {
        const m = /^(\S+?)=(\S*)$/.exec(e);
        if (m === null) throw new Error(`ENV ${e} is not NAME=value`);
        return [m[1] ?? "", m[2] ?? ""];
      }),
    );

  it("installs the gateway's production dependencies only and runs it as non-root", () => {
    const s = stage("console");
    const install = instruction(s, "RUN").join(" ");
    expect(install).toMatch(/\bnpm ci\b/);
    expect(install).toContain("--omit=dev");
    expect(install).toContain("--ignore-scripts");
    expect(install).toContain("--workspace @gatehouse/console");
    const user = instruction(s, "USER");
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^(0|root)\b/);
    const entry = execForm(instruction(s, "ENTRYPOINT")[0] ?? "[]");
    expect(entry.find((a) => a.endsWith(".ts"))).toBe("services/console/src/main.ts");
  });

  it("listens on every interface, exposes and health-checks that port over /healthz, with names its schema reads", () => {
    const s = stage("console");
    const env = envOf(s);
    expect(
      unknownNames(
        "console",
        Object.keys(env).filter((k) => k !== "NODE_ENV"),
      ),
    ).toEqual([]);
    const config = loadConsoleConfig(env);
    expect(config.listen.host).toBe("0.0.0.0");
    expect(instruction(s, "EXPOSE")).toEqual([String(config.listen.port)]);
    const probe = execForm(instruction(s, "HEALTHCHECK")[0] ?? "[]");
    expect(probe.slice(0, 2)).toEqual(["node", CONSOLE_PROBE]);
    expect(existsSync(join(root, CONSOLE_PROBE))).toBe(true);
    const url = new URL(probe[2] ?? "");
    expect(Number(url.port)).toBe(config.listen.port);
    expect(url.pathname).toBe(CONSOLE_READINESS_PATH);
  });

  it("has the .proto sources the gateway reads at start-up (its operation table), at the path it reads them from", () => {
    // Found by starting the gateway from a production install: it failed with ENOENT on control.proto.
    const copies = instruction(stage("sources"), "COPY").map((c) => c.split(/\s+/));
    expect(copies).toContainEqual(["proto", "./proto"]);
    expect(relative(root, PROTO_DIR)).toBe("proto");
    expect(existsSync(join(PROTO_DIR, "gatehouse/v1/control.proto"))).toBe(true);
  });

  it("carries the web app built in its own stage, where the gateway looks for it by default", () => {
    const s = stage("console");
    const web = stage("console-web");
    const build = instruction(web, "RUN").join(" ");
    // Built when the workspace is there (npm ci with its dev dependencies, then its build script).
    expect(build).toContain("services/console/web/package.json");
    expect(build).toContain("--workspace @gatehouse/console-web");
    expect(build).toMatch(/npm run build --workspace @gatehouse\/console-web/);
    const webDir = relative(root, DEFAULT_WEB_DIR);
    expect(webDir).toBe("services/console/web/dist");
    const copy = instruction(s, "COPY").find((c) => c.startsWith("--from=console-web"));
    expect(copy?.split(/\s+/).slice(1)).toEqual([`/src/${webDir}`, `./${webDir}`]);
    expect(instruction(s, "WORKDIR")).toEqual(["/app"]);
    expect(instruction(web, "WORKDIR")).toEqual(["/src"]);
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml
// ---------------------------------------------------------------------------------------------
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  configs?: { source: string; target: string }[];
  deploy?: { replicas?: number };
}

/** Compose's `${NAME:-default}` interpolation, from the dev credentials (as `--env-file` gives them). */
function interpolate(text: string, vars: Env): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::?-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
    return vars[name] ?? fallback ?? "";
  });
}
const composeText = read("docker-compose.yml");
const parseCompose = (vars: Env) =>
  YAML.parse(interpolate(composeText, vars), { merge: true }) as {
    services: Record<string, ComposeService>;
    configs: Record<string, { content: string }>;
  };
const compose = parseCompose(dev);
const gatehouseServices = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith(IMAGE_PREFIX));

function composeRole(name: string, s: ComposeService): Role {
  if (s.build?.target === "control-plane") return "control-plane";
  if (s.build?.target === "console") return "console";
  const at = s.command?.indexOf("--role") ?? -1;
  const role = at === -1 ? undefined : s.command?.[at + 1];
  if (role !== "applier" && role !== "decider") throw new Error(`${name}: no --role applier|decider`);
  return role;
}
const composeEnv = (s: ComposeService): Env =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
/** Published ports; `host` is the first of a host port range (`50080-50081:50080`, one per replica). */
const published = (s: ComposeService) =>
  (s.ports ?? []).map((p) => {
    const m = /^(?:([\d.]+):)?(\d+)(?:-(\d+))?:(\d+)$/.exec(p);
    if (m === null) throw new Error(`port ${p} is not ip:host[-last]:container`);
    return { host: Number(m[2]), hostCount: Number(m[3] ?? m[2]) - Number(m[2]) + 1, container: Number(m[4]) };
  });

describe("docker-compose.yml runs the whole stack", () => {
  it("has the control plane, the console and, per region, one applier and two deciders, each built from a Dockerfile target", () => {
    const byRole = (role: Role) => gatehouseServices.filter(([n, s]) => composeRole(n, s) === role).map(([n]) => n);
    expect(byRole("control-plane")).toEqual(["control-plane"]);
    expect(byRole("console")).toEqual(["console"]);
    for (const region of REGIONS) {
      const inRegion = (n: string) => composeEnv(compose.services[n] ?? {}).GATEHOUSE_REGION === region;
      expect(byRole("applier").filter(inRegion), region).toHaveLength(1);
      expect(byRole("decider").filter(inRegion), region).toHaveLength(2);
    }
    for (const [name, s] of gatehouseServices) {
      expect(s.build?.dockerfile, name).toBe(dockerfilePath);
      expect(s.build?.context, name).toBe(".");
      stage(s.build?.target ?? "");
      expect(s.image, name).toMatch(new RegExp(`^${IMAGE_PREFIX}${s.build?.target}:[\\w.-]+$`));
    }
  });

  it("gives each service only names its config schema reads, and a configuration that loads", () => {
    for (const [name, s] of gatehouseServices) {
      const role = composeRole(name, s);
      expect(unknownNames(role, Object.keys(composeEnv(s))), name).toEqual([]);
      expect(() => healthEndpoint(role, composeEnv(s), s.command ?? []), name).not.toThrow();
    }
  });

  it("hands the operator credential to the control plane and the appliers only", () => {
    for (const [name, s] of gatehouseServices) {
      const holds = Object.keys(composeEnv(s)).some((k) => OPERATOR_SECRET.test(k));
      expect(holds, name).toBe(holdsOperatorKey(composeRole(name, s)));
    }
  });

  it("without --env-file the secrets are empty and the services refuse to start, naming them", () => {
    const bare = parseCompose({}).services["control-plane"] ?? {};
    expect(() => healthEndpoint("control-plane", composeEnv(bare), [])).toThrow(/GATEHOUSE_SECRET_KEY/);
    expect(() => healthEndpoint("console", composeEnv(parseCompose({}).services.console ?? {}), [])).toThrow(
      /GATEHOUSE_CONSOLE_SESSION_SECRET_KEY/,
    );
  });

  it("probes, publishes and points at the ports the services really listen on", () => {
    for (const [name, s] of gatehouseServices) {
      const role = composeRole(name, s);
      const served = healthEndpoint(role, composeEnv(s), s.command ?? []);
      const test = s.healthcheck?.test ?? [];
      if (role === "console") {
        expect(test, name).toEqual([
          "CMD",
          "node",
          CONSOLE_PROBE,
          `http://127.0.0.1:${served.port}${served.readiness}`,
        ]);
      } else {
        expect(test.slice(0, 3), name).toEqual(["CMD", "node", "packages/lifecycle/src/health-probe.ts"]);
        expect(hostPort(test[3] ?? "").port, name).toBe(served.port);
        expect(test[4], name).toBe(served.readiness);
      }
      for (const p of published(s)) expect(p.container, `${name} publishes`).toBe(served.port);
    }
  });

  it("publishes the ports of the stack's demo profile (control plane, console, each region's deciders)", () => {
    const stack = loadStackConfig({}, root);
    const hostPorts = (role: Role, region?: string) =>
      gatehouseServices
        .filter(
          ([n, s]) => composeRole(n, s) === role && (region === undefined || composeEnv(s).GATEHOUSE_REGION === region),
        )
        .flatMap(([, s]) => published(s).map((p) => p.host))
        .sort();
    expect(hostPorts("control-plane")).toEqual([hostPort(stack.controlPlane).port]);
    expect(hostPorts("console")).toEqual([hostPort(stack.console).port]);
    for (const r of stack.regions) {
      expect(hostPorts("decider", r.name), r.name).toEqual(r.deciders.map((d) => hostPort(d).port).sort());
      expect(hostPorts("applier", r.name), r.name).toEqual([]);
    }
  });

  it("addresses services that exist, on their ports: Redis of the same region, Kafka, the control plane", () => {
    const kafkaInternal = String(compose.services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS ?? "")
      .split(",")
      .map((l) => l.replace(/^\w+:\/\//, ""));
    const cpPort = healthEndpoint("control-plane", composeEnv(compose.services["control-plane"] ?? {}), []).port;
    for (const [name, s] of gatehouseServices) {
      const env = composeEnv(s);
      if (composeRole(name, s) === "console") {
        // The console: the control plane and every region's deciders, by service name and listen port.
        const config = loadConsoleConfig(env);
        expect(config.controlPlane, name).toBe(`control-plane:${cpPort}`);
        expect(Object.keys(config.regions).sort(), name).toEqual([...REGIONS].sort());
        for (const [region, endpoints] of Object.entries(config.regions)) {
          const deciders = gatehouseServices
            .filter(([n, d]) => composeRole(n, d) === "decider" && composeEnv(d).GATEHOUSE_REGION === region)
            .map(([n, d]) => `${n}:${healthEndpoint("decider", composeEnv(d), d.command ?? []).port}`);
          expect([...endpoints].sort(), `${name} → ${region}`).toEqual(deciders.sort());
        }
        expect(Object.keys(s.depends_on ?? {}), name).toContain("control-plane");
        // Its replicas share sessions through a Redis of this file (sealed: the key from dev.env),
        // and each replica gets a host port of its own.
        const store = config.sessionStore;
        expect(store.kind, name).toBe("redis");
        const redisHost = new URL(store.kind === "redis" ? store.url : "redis://none").hostname;
        expect(compose.services[redisHost], name).toBeDefined();
        expect(Object.keys(s.depends_on ?? {}), name).toContain(redisHost);
        const replicas = s.deploy?.replicas ?? 1;
        expect(replicas, name).toBeGreaterThanOrEqual(2);
        for (const p of published(s)) expect(p.hostCount, `${name} host ports`).toBe(replicas);
        continue;
      }
      for (const broker of (env.GATEHOUSE_KAFKA_BROKERS ?? "").split(","))
        expect(kafkaInternal, name).toContain(broker);
      expect(
        Object.keys(s.depends_on ?? {}).every((d) => d in compose.services),
        name,
      ).toBe(true);
      if (composeRole(name, s) === "control-plane") {
        expect(hostPort(new URL(env.GATEHOUSE_PG_URL ?? "").host).host).toBe("postgres");
        continue;
      }
      const redis = new URL(env.GATEHOUSE_REGION_REDIS_URL ?? "");
      expect(redis.hostname, name).toBe(`redis-${env.GATEHOUSE_REGION}`);
      expect(compose.services[redis.hostname], name).toBeDefined();
      if (composeRole(name, s) === "applier")
        expect(env.GATEHOUSE_REGION_CONTROL_PLANE, name).toBe(`control-plane:${cpPort}`);
    }
  });

  it("runs an OTel collector and Jaeger only under the observability profile, wired to each other", () => {
    const optional = Object.entries(compose.services).filter(([, s]) => s.profiles !== undefined);
    expect(optional.map(([n]) => n).sort()).toEqual(["jaeger", "otel-collector"]);
    for (const [, s] of optional) expect(s.profiles).toEqual(["observability"]);
    const collector = compose.services["otel-collector"] ?? {};
    const configName = collector.configs?.[0]?.source ?? "";
    const config = YAML.parse(compose.configs[configName]?.content ?? "") as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, { endpoint?: string }>;
      service: { pipelines: Record<string, { exporters: string[] }> };
    };
    const jaegerOut = config.exporters[config.service.pipelines.traces?.exporters[0] ?? ""]?.endpoint ?? "";
    expect(hostPort(jaegerOut).host).toBe("jaeger");
    const otlpHttp = hostPort(config.receivers.otlp.protocols.http.endpoint).port;
    // The console gateway has no OpenTelemetry (its calls are traced by the services it calls).
    for (const [name, s] of gatehouseServices.filter(([n, x]) => composeRole(n, x) !== "console")) {
      const endpoint = new URL(composeEnv(s).OTEL_EXPORTER_OTLP_ENDPOINT ?? "");
      expect(endpoint.hostname, name).toBe("otel-collector");
      expect(Number(endpoint.port), name).toBe(otlpHttp);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// deploy/k8s
// ---------------------------------------------------------------------------------------------
const k8sDir = join(root, "deploy/k8s");
const overlays = readdirSync(join(k8sDir, "overlays"));
const rendered = new Map(overlays.map((o) => [o, renderKustomization(join(k8sDir, "overlays", o))]));
const all = [...rendered.values()].flat();

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}
interface Probe {
  grpc?: { port: number; service?: string };
  httpGet?: { port: number | string; path: string; scheme?: string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: Container[] };
}
type Workload = K8sObject & {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
};

const workloads = all.filter((o): o is Workload => o.kind === "Deployment" || o.kind === "StatefulSet");
const sameNamespace = (a: K8sObject) => (b: K8sObject) => a.metadata.namespace === b.metadata.namespace;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const configMapData = (ns: string | undefined, name: string): Env => {
  const cm = all.find((o) => o.kind === "ConfigMap" && o.metadata.name === name && o.metadata.namespace === ns);
  if (cm === undefined) throw new Error(`no ConfigMap ${name} in ${ns}`);
  return (cm as K8sObject & { data: Env }).data;
};
const portNumber = (c: Container, port: number | string) =>
  typeof port === "number" ? port : c.ports?.find((p) => p.name === port)?.containerPort;

/** A dummy for each secret a container takes, in the form the schema wants (PG URL from the manifests). */
function secretValue(key: string, ns: string | undefined): string {
  if (key === "GATEHOUSE_PG_URL") {
    const pg = workloads.find((w) => w.metadata.name === "postgres" && w.metadata.namespace === ns);
    const env = Object.fromEntries((pg?.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    const svc = all.find((o) => o.kind === "Service" && o.metadata.name === "postgres") as
      | (K8sObject & { spec: { ports: { port: number }[] } })
      | undefined;
    return `postgres://${env.POSTGRES_USER}:password@postgres:${svc?.spec.ports[0]?.port}/${env.POSTGRES_DB}`;
  }
  const value = dev[key];
  if (value === undefined) throw new Error(`no development value for the secret key ${key}`);
  return value;
}

function containerEnv(w: Workload, c: Container): { env: Env; secrets: { name: string; key: string }[] } {
  const env: Env = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef !== undefined)
      Object.assign(env, configMapData(w.metadata.namespace, from.configMapRef.name));
  }
  const secrets: { name: string; key: string }[] = [];
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref !== undefined) {
      secrets.push(ref);
      env[e.name] = secretValue(ref.key, w.metadata.namespace);
    } else env[e.name] = e.value ?? "";
  }
  return { env, secrets };
}

const gatehouseContainers = workloads.flatMap((w) =>
  w.spec.template.spec.containers
    .filter((c) => c.image.startsWith(IMAGE_PREFIX))
    .map((c) => {
      const role: Role = c.image.startsWith(`${IMAGE_PREFIX}control-plane`)
        ? "control-plane"
        : c.image.startsWith(`${IMAGE_PREFIX}console`)
          ? "console"
          : c.args?.includes("applier")
            ? "applier"
            : "decider";
      return { w, c, role };
    }),
);

describe("deploy/k8s (kustomize)", () => {
  it("has a global overlay and one overlay per region, each over a base, every resource file present", () => {
    expect(overlays.sort()).toEqual(["global", ...REGIONS].sort());
    const visit = (dir: string): void => {
      expect(kustomizationFile(dir), dir).toBeDefined();
      for (const entry of kustomizationResources(dir)) {
        const path = resolve(dir, entry);
        expect(existsSync(path), `${dir}: ${entry}`).toBe(true);
        if (!entry.endsWith(".yaml")) visit(path);
      }
    };
    for (const o of overlays) visit(join(k8sDir, "overlays", o));
    for (const [o, objects] of rendered) {
      const kinds = new Set(objects.map((x) => x.kind));
      const expected =
        o === "global"
          ? ["Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap", "Namespace"]
          : ["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap", "Namespace"];
      for (const k of expected) expect(kinds.has(k), `${o} has a ${k}`).toBe(true);
      expect(new Set(objects.map((x) => x.metadata.namespace ?? x.metadata.name)), o).toEqual(
        new Set([`gatehouse-${o}`]),
      );
      const ids = objects.map((x) => `${x.kind}/${x.metadata.name}`);
      expect(new Set(ids).size, `${o}: duplicate objects`).toBe(ids.length);
    }
  });

  it.skipIf(spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status !== 0)(
    "renders as kubectl kustomize does (skipped where kubectl is not installed)",
    () => {
      const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
      const sorted = (objects: K8sObject[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)));
      for (const [o, objects] of rendered) {
        const out = execFileSync("kubectl", ["kustomize", join(k8sDir, "overlays", o)], { encoding: "utf8" });
        const theirs = YAML.parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
        expect(sorted(objects), o).toEqual(sorted(theirs));
      }
    },
    60_000,
  );

  it("selectors match the labels of the pods they mean: workloads, Services, PDBs, the HPA's target", () => {
    for (const w of workloads) {
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels), w.metadata.name).toBe(true);
    }
    for (const o of all.filter((x) => x.kind === "Service" || x.kind === "PodDisruptionBudget")) {
      const spec = o.spec as { selector: Record<string, string> & { matchLabels?: Record<string, string> } };
      const selector = spec.selector.matchLabels ?? spec.selector;
      const targets = workloads
        .filter(sameNamespace(o))
        .filter((w) => matches(selector, w.spec.template.metadata.labels));
      expect(
        targets.map((t) => t.metadata.name),
        `${o.kind}/${o.metadata.name}`,
      ).toHaveLength(1);
      if (o.kind === "Service") {
        const container = targets[0]?.spec.template.spec.containers[0] as Container;
        for (const p of (o.spec as { ports: { targetPort: number | string }[] }).ports) {
          expect(portNumber(container, p.targetPort), `Service ${o.metadata.name} → ${p.targetPort}`).toBeDefined();
        }
      }
    }
    const hpas = all.filter((x) => x.kind === "HorizontalPodAutoscaler");
    expect(hpas).toHaveLength(REGIONS.length);
    for (const h of hpas) {
      const target = (h.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      const w = workloads
        .filter(sameNamespace(h))
        .find((x) => x.kind === target.kind && x.metadata.name === target.name);
      expect(w?.spec.template.spec.containers[0]?.args).toEqual(["--role", "decider"]);
      // CPU utilization needs a CPU request to be computed from.
      expect(w?.spec.template.spec.containers[0]?.resources?.requests?.cpu).toBeDefined();
    }
  });

  it("every container has resources and readiness and liveness probes on ports it declares", () => {
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers) {
        const at = `${w.metadata.namespace}/${w.metadata.name}/${c.name}`;
        expect(c.resources?.requests?.cpu, at).toBeDefined();
        expect(c.resources?.requests?.memory, at).toBeDefined();
        expect(c.resources?.limits?.memory, at).toBeDefined();
        for (const probe of [c.readinessProbe, c.livenessProbe]) expect(probe, at).toBeDefined();
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
          const port = probe?.grpc?.port ?? probe?.tcpSocket?.port ?? probe?.httpGet?.port;
          if (port !== undefined) expect(portNumber(c, port), `${at} probe port ${port}`).toBeDefined();
        }
      }
    }
  });

  it("runs the images the Dockerfile builds, under the names compose uses, as non-root", () => {
    const composeImages = new Set(gatehouseServices.map(([, s]) => s.image));
    expect(gatehouseContainers.length).toBeGreaterThan(0);
    for (const { w, c } of gatehouseContainers) {
      expect(composeImages.has(c.image), `${w.metadata.name}: ${c.image}`).toBe(true);
      stage(c.image.slice(IMAGE_PREFIX.length).replace(/:.*$/, ""));
      const pod = (w.spec.template.spec as { securityContext?: { runAsNonRoot?: boolean } }).securityContext;
      expect(pod?.runAsNonRoot, w.metadata.name).toBe(true);
    }
  });

  it("gives each Gatehouse container only names its config schema reads, and a configuration that loads", () => {
    for (const { w, c, role } of gatehouseContainers) {
      const at = `${w.metadata.namespace}/${w.metadata.name}`;
      const { env } = containerEnv(w, c);
      expect(unknownNames(role, Object.keys(env)), at).toEqual([]);
      expect(() => healthEndpoint(role, env, c.args ?? []), at).not.toThrow();
    }
  });

  it("hands the operator credential to the control plane and the appliers only", () => {
    for (const { w, c, role } of gatehouseContainers) {
      const holds = containerEnv(w, c).secrets.some((ref) => OPERATOR_SECRET.test(ref.key));
      expect(holds, `${w.metadata.namespace}/${w.metadata.name}`).toBe(holdsOperatorKey(role));
    }
  });

  it("probes the console over HTTP on its listen port: readiness /healthz, liveness /livez", () => {
    const consoles = gatehouseContainers.filter((x) => x.role === "console");
    expect(consoles.map(({ w }) => w.metadata.namespace)).toEqual(["gatehouse-global"]);
    for (const { w, c } of consoles) {
      const served = healthEndpoint("console", containerEnv(w, c).env, c.args ?? []);
      const config = loadConsoleConfig(containerEnv(w, c).env);
      expect(config.listen.host).toBe("0.0.0.0");
      expect(c.ports?.map((p) => p.containerPort)).toContain(served.port);
      const scheme = config.tls === undefined ? "HTTP" : "HTTPS";
      const http = (p?: Probe) => ({
        port: portNumber(c, p?.httpGet?.port ?? -1),
        path: p?.httpGet?.path,
        scheme: p?.httpGet?.scheme ?? "HTTP",
      });
      expect(http(c.readinessProbe)).toEqual({ port: served.port, path: CONSOLE_READINESS_PATH, scheme });
      expect(http(c.livenessProbe)).toEqual({ port: served.port, path: CONSOLE_LIVENESS_PATH, scheme });
      expect(c.image).toBe(`${IMAGE_PREFIX}console:0.1.0`);
    }
  });

  it("runs two console replicas sharing sessions through a Redis Service of their namespace, without affinity", () => {
    const consoles = gatehouseContainers.filter((x) => x.role === "console");
    for (const { w, c } of consoles) {
      expect(w.spec.replicas, w.metadata.name).toBeGreaterThanOrEqual(2);
      expect((w.spec as { strategy?: { type?: string } }).strategy?.type).not.toBe("Recreate");
      const store = loadConsoleConfig(containerEnv(w, c).env).sessionStore;
      expect(store.kind).toBe("redis");
      const host = new URL(store.kind === "redis" ? store.url : "redis://none").hostname;
      const svc = all.find((o) => o.kind === "Service" && o.metadata.name === host && sameNamespace(w)(o));
      expect(svc, `Service ${host}`).toBeDefined();
      expect(containerEnv(w, c).secrets.map((r) => r.key)).toContain("GATEHOUSE_CONSOLE_SESSION_SECRET_KEY");
      const front = all.find(
        (o) => o.kind === "Service" && o.metadata.name === w.metadata.name && sameNamespace(w)(o),
      ) as (K8sObject & { spec: { sessionAffinity?: string } }) | undefined;
      expect(front?.spec.sessionAffinity ?? "None").toBe("None");
    }
  });

  it("probes with gRPC health on the port each service listens on: readiness its readiness name, liveness ''", () => {
    for (const { w, c, role } of gatehouseContainers.filter((x) => x.role !== "console")) {
      const at = `${w.metadata.namespace}/${w.metadata.name}`;
      const served = healthEndpoint(role, containerEnv(w, c).env, c.args ?? []);
      expect(
        c.ports?.map((p) => p.containerPort),
        at,
      ).toContain(served.port);
      expect(c.readinessProbe?.grpc, at).toEqual({ port: served.port, service: served.readiness });
      expect(c.livenessProbe?.grpc, at).toEqual({ port: served.port });
      expect(c.startupProbe?.grpc?.port, at).toBe(served.port);
    }
  });

  it("takes secrets only by reference, from keys deploy/README.md tells operators to create", () => {
    expect(all.filter((o) => o.kind === "Secret")).toEqual([]);
    const doc = read("deploy/README.md");
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers) {
        for (const e of c.env ?? []) {
          if (/SECRET|PASSWORD|_PG_URL$/.test(e.name)) expect(e.value, `${w.metadata.name}: ${e.name}`).toBeUndefined();
          const ref = e.valueFrom?.secretKeyRef;
          if (ref === undefined) continue;
          expect(ref.name).toBe("gatehouse-secrets");
          expect(doc, `deploy/README.md names the secret key ${ref.key}`).toContain(`\`${ref.key}\``);
        }
      }
    }
    for (const cm of all.filter((o) => o.kind === "ConfigMap")) {
      for (const key of Object.keys((cm as K8sObject & { data: Env }).data)) {
        expect(key, `ConfigMap ${cm.metadata.name}`).not.toMatch(/SECRET|PASSWORD|_PG_URL$/);
      }
    }
  });

  it("points each service at objects that exist: Kafka pods and ports, Redis of its region, the control plane", () => {
    const global = rendered.get("global") ?? [];
    const kafka = global.find((o) => o.kind === "StatefulSet" && o.metadata.name === "kafka") as Workload;
    const kafkaPort = kafka.spec.template.spec.containers[0]?.ports?.find((p) => p.name === "kafka")?.containerPort;
    const kafkaPods = Array.from({ length: kafka.spec.replicas ?? 1 }, (_, i) => `kafka-${i}`);
    const serviceOf = (ns: string | undefined, name: string) =>
      all.find((o) => o.kind === "Service" && o.metadata.namespace === ns && o.metadata.name === name) as
        | (K8sObject & { spec: { ports: { port: number }[] } })
        | undefined;
    for (const { w, c, role } of gatehouseContainers) {
      const at = `${w.metadata.namespace}/${w.metadata.name}`;
      const { env } = containerEnv(w, c);
      if (role === "console") {
        // The control plane's Service, and every region's decider Service in its own namespace.
        const config = loadConsoleConfig(env);
        const cp = hostPort(config.controlPlane);
        const [cpName, cpNs] = cp.host.split(".");
        expect(serviceOf(cpNs ?? w.metadata.namespace, cpName ?? "")?.spec.ports[0]?.port, at).toBe(cp.port);
        expect(Object.keys(config.regions).sort(), at).toEqual([...REGIONS].sort());
        for (const [region, endpoints] of Object.entries(config.regions)) {
          for (const endpoint of endpoints) {
            const { host, port } = hostPort(endpoint);
            const [name, ns] = host.split(".");
            expect(ns, `${at} → ${endpoint}`).toBe(`gatehouse-${region}`);
            const decider = workloads.find((x) => x.metadata.namespace === ns && x.metadata.name === name);
            expect(decider?.spec.template.spec.containers[0]?.args, endpoint).toEqual(["--role", "decider"]);
            expect(serviceOf(ns, name ?? "")?.spec.ports[0]?.port, endpoint).toBe(port);
          }
        }
        continue;
      }
      for (const broker of (env.GATEHOUSE_KAFKA_BROKERS ?? "").split(",")) {
        const { host, port } = hostPort(broker);
        const [pod, svc, ns] = host.split(".");
        expect(kafkaPods, `${at}: ${broker}`).toContain(pod);
        expect(svc).toBe("kafka");
        expect(ns ?? w.metadata.namespace).toBe(kafka.metadata.namespace);
        expect(port).toBe(kafkaPort);
      }
      if (role === "control-plane") {
        const cp = loadControlPlaneConfig(env);
        expect(cp.kafka.replicationFactor, at).toBeLessThanOrEqual(kafkaPods.length);
        expect(cp.kafka.minInsyncReplicas, at).toBeLessThan(cp.kafka.replicationFactor);
        continue;
      }
      const redis = new URL(env.GATEHOUSE_REGION_REDIS_URL ?? "");
      expect(serviceOf(w.metadata.namespace, redis.hostname)?.spec.ports[0]?.port, at).toBe(Number(redis.port));
      expect(env.GATEHOUSE_REGION, at).toBe(w.metadata.namespace?.replace(/^gatehouse-/, ""));
      if (role === "decider") continue;
      const cp = hostPort(env.GATEHOUSE_REGION_CONTROL_PLANE ?? "");
      const [name, ns] = cp.host.split(".");
      expect(serviceOf(ns, name ?? "")?.spec.ports[0]?.port, at).toBe(cp.port);
    }
  });
});
