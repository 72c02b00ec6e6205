import { createSessionTokenCodec, type SecretBox, type SessionTokenCodec, stsKey } from "@gatehouse/auth";
import { type Clock, IamError } from "@gatehouse/core";
import { STS_KEY_SET_ID, SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import type { RegionView } from "@gatehouse/view-redis";
import type { Logger } from "pino";

/**
 * The region's STS key set, unsealed in memory only: read from the view (where it rests sealed,
 * as it travelled), reloaded when the system account's revision is applied. The newest key whose
 * activation time has passed seals new session tokens; every key of the set opens them.
 */
export interface StsKeyring {
  /** The codec at the clock's now; ServiceUnavailable while the region holds no key. */
  codec(): SessionTokenCodec;
  /** Reads the set from the view again (on a system account notification). */
  reload(): Promise<void>;
  /** The ids of the keys held, oldest first. */
  keyIds(): readonly string[];
}

/** Options of {@link createStsKeyring}. */
export interface StsKeyringOptions {
  readonly view: RegionView;
  /** Opens the keys (the control plane's secret keys). */
  readonly box: SecretBox;
  readonly clock: Clock;
  readonly logger: Logger;
}

interface Held {
  readonly keyId: string;
  readonly key: Buffer;
  readonly activatesAtMs: number;
}

/** Loads the key set once and returns the keyring. */
export async function createStsKeyring(options: StsKeyringOptions): Promise<StsKeyring> {
  const { view, box, clock, logger } = options;
  let held: Held[] = [];
  let built: { codec: SessionTokenCodec; current: string; size: number } | undefined;

  const reload = async () => {
    const read = await view.readEntity(SYSTEM_ACCOUNT_ID, "sts-key-set", STS_KEY_SET_ID);
    const e = read.entity;
    const keys = e?.kind === "sts-key-set" && e.state !== null ? e.state.keys : [];
    const next: Held[] = [];
    for (const k of keys) {
      try {
        const clear = Buffer.from(box.open(Buffer.from(k.sealedKey, "base64"), `sts-key:${k.keyId}`), "base64");
        const key = stsKey(clear);
        if (key.keyId !== k.keyId) throw new Error(`key ${k.keyId} opens to a key with id ${key.keyId}`);
        next.push({ keyId: k.keyId, key: clear, activatesAtMs: k.activatesAtMs });
      } catch (err) {
        // A key this region cannot open (its secret keys lag the control plane's) is skipped:
        // tokens under it are refused here, the others still work.
        logger.error({ err, keyId: k.keyId }, "an STS key does not open with this region's secret keys");
      }
    }
    held = next;
    built = undefined;
  };
  await reload();

  return {
    reload,
    keyIds: () => held.map((k) => k.keyId),
    codec() {
      if (held.length === 0) {
        throw new IamError("ServiceUnavailable", "this region holds no STS key yet", { retriable: true });
      }
      const now = clock.now();
      const active = held.filter((k) => k.activatesAtMs <= now);
      // Before any key is active (a fresh set whose only key waits), the oldest one seals.
      const current = active.length > 0 ? (active[active.length - 1] as Held) : (held[0] as Held);
      if (built === undefined || built.current !== current.keyId || built.size !== held.length) {
        built = {
          current: current.keyId,
          size: held.length,
          codec: createSessionTokenCodec({
            current: { keyId: current.keyId, key: current.key },
            verifying: held.filter((k) => k !== current).map((k) => ({ keyId: k.keyId, key: k.key })),
            clock,
          }),
        };
      }
      return built.codec;
    },
  };
}
