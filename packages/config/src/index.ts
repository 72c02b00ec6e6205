/**
 * The services' shared configuration pieces: schemas of the environment variables more than one
 * service reads, and the parse that names every bad variable (the env is always passed in; only a
 * service's `config.ts` reads `process.env`).
 * @packageDocumentation
 */
export { parseSettings, rejectUnknownSettings, type ShowSetting, showHidingSecrets } from "./parse-settings.ts";
export {
  accessKeyIdSetting,
  hostPortSetting,
  intSetting,
  kafkaBrokersSetting,
  logLevelSetting,
  previousSecretKeysSetting,
  secretAccessKeySetting,
  secretKeySetting,
  topicSetting,
} from "./settings.ts";
