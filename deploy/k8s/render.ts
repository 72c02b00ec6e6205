// Renders a kustomization as `kubectl kustomize` does, for the subset deploy/k8s uses (resources,
// namespace, images), so the manifests' tests run where no kubectl is installed. Any other
// kustomization field is refused: the subset cannot silently drift from what kustomize would do.
// Where kubectl is installed, deploy/deployment.test.ts checks both renderings agree.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import YAML from "yaml";

/** One Kubernetes object as parsed (only the fields every object has are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources", "images"]);
/** Kinds without a namespace among those the manifests use. */
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"]);

/** The kustomization file of a directory (kustomize accepts these three names). */
export function kustomizationFile(dir: string): string | undefined {
  return ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((n) => join(dir, n)).find(existsSync);
}

function readKustomization(dir: string): Kustomization {
  const file = kustomizationFile(dir);
  if (file === undefined) throw new Error(`${dir}: no kustomization.yaml`);
  const k = YAML.parse(readFileSync(file, "utf8")) as Kustomization;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0)
    throw new Error(`${file}: fields this renderer does not apply: ${unsupported.join(", ")}`);
  return k;
}

/** Every object of a manifest file (a multi-document YAML stream). */
export function readManifest(file: string): K8sObject[] {
  return YAML.parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

function setImages(objects: K8sObject[], images: NonNullable<Kustomization["images"]>): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const record = node as Record<string, unknown>;
    for (const key of ["containers", "initContainers"]) {
      const list = record[key];
      if (!Array.isArray(list)) continue;
      for (const c of list as { image?: string }[]) {
        if (typeof c.image !== "string") continue;
        const name = c.image.replace(/[@:][^/]*$/, "");
        const rule = images.find((i) => i.name === name);
        if (rule === undefined) continue;
        const tag = rule.digest !== undefined ? `@${rule.digest}` : rule.newTag !== undefined ? `:${rule.newTag}` : "";
        c.image = `${rule.newName ?? name}${tag || c.image.slice(name.length)}`;
      }
    }
    for (const value of Object.values(record)) visit(value);
  };
  visit(objects);
}

/**
 * The objects `kubectl kustomize <dir>` prints, in kustomize's resource order (resources in the
 * order listed, depth first; kustomize then sorts by kind, which callers need not rely on).
 * @example
 * const objects = renderKustomization("deploy/k8s/overlays/us-east-1");
 */
export function renderKustomization(dir: string): K8sObject[] {
  const k = readKustomization(dir);
  const objects: K8sObject[] = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${dir}: resource ${entry} does not exist`);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readManifest(path)));
  }
  if (k.namespace !== undefined) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  if (k.images !== undefined) setImages(objects, k.images);
  return objects;
}

/** The resource entries of a kustomization (for existence checks). */
export function kustomizationResources(dir: string): string[] {
  return readKustomization(dir).resources ?? [];
}
