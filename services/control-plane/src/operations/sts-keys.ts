import { toWire } from "../mappers.ts";
import { forOperator, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";

/**
 * The regions' STS key set: RotateStsKeys (operator only). The first key is made at start-up
 * (`ensureStsKey` in `control-plane.ts`); the set reaches the regions sealed, on the system
 * account's stream.
 */
export function stsKeyOperations({ store }: OperationDeps) {
  return {
    rotateStsKeys: forOperator("RotateStsKeys", async (r) => {
      const m = await store.rotateStsKeys({ activationDelayMs: r.activationDelaySeconds * 1000 });
      return {
        keys: m.value.map((k) => ({
          keyId: k.keyId,
          createdAtMs: k.createdAtMs,
          activatesAtMs: k.activatesAtMs,
          retiredAtMs: k.retiredAtMs ?? 0,
        })),
        revision: toWire.revision(m),
      };
    }),
  } satisfies OperationFamily;
}
