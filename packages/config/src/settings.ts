import { z } from "zod";

/**
 * Settings more than one service reads, each a zod schema of one environment variable's text:
 * the same variable means the same thing, with the same checks and messages, wherever it is read.
 */

/** A whole number in `min..max` (from its decimal text). */
export const intSetting = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `host:port`. */
export const hostPortSetting = () => z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be host:port");

/** `GATEHOUSE_KAFKA_BROKERS`: comma-separated `host:port`, at least one. */
export const kafkaBrokersSetting = () =>
  z
    .string()
    .transform((s) => s.split(",").map((b) => b.trim()))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, "each broker must be host:port")).min(1));

/** A legal Kafka topic name. */
export const topicSetting = () => z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, "must be a legal Kafka topic name");

/** `GATEHOUSE_SECRET_KEY`: base64 of the 32-byte AES-256-GCM key sealing secrets. */
export const secretKeySetting = () =>
  z
    .string()
    .transform((s) => Buffer.from(s, "base64"))
    .refine((b) => b.length === 32, "must be base64 of exactly 32 bytes");

/** `GATEHOUSE_SECRET_KEYS_PREVIOUS`: comma-separated base64 keys rotated out, newest first. */
export const previousSecretKeysSetting = () =>
  z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== "")
        .map((k) => Buffer.from(k, "base64")),
    )
    .refine((keys) => keys.every((b) => b.length === 32), "each key must be base64 of exactly 32 bytes")
    .default([]);

/** An operator access key id. */
export const accessKeyIdSetting = () => z.string().regex(/^[A-Z0-9]{16,128}$/, "must be an access key id");

/** An operator secret access key. */
export const secretAccessKeySetting = () => z.string().min(32, "must be at least 32 characters");

/** `GATEHOUSE_LOG_LEVEL`: pino's levels. */
export const logLevelSetting = () =>
  z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");
