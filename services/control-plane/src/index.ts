/** The control plane's composable parts (the process starts from `src/main.ts`). */
export { type Authenticator, createAuthenticator } from "./authenticator.ts";
export { type ApiRequest, type Authorizer, createAuthorizer } from "./authorizer.ts";
export type { Caller } from "./caller.ts";
export { CONTROL_PLANE_ENV_NAMES, type ControlPlaneConfig, loadControlPlaneConfig } from "./config.ts";
export {
  CONTROL_PLANE_READINESS,
  type ControlPlane,
  type StartControlPlaneOptions,
  startControlPlane,
} from "./control-plane.ts";
export { createControlService } from "./control-service.ts";
export { ERROR_DETAIL_TRAILER } from "./grpc-handler.ts";
export type { JwksRefresher, JwksRefreshSummary } from "./oidc-keys.ts";
export { createOutboxCompactor, type OutboxCompactor, type OutboxCompactorOptions } from "./outbox-compactor.ts";
export {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelayStats,
  type ParkedNotice,
  toChangeEvent,
} from "./outbox-relay.ts";
