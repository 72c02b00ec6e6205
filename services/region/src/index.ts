/**
 * `@gatehouse/region`: the applier (change topic → Redis view) and the deciders serving
 * AuthorizerService from compiled principals. `main.ts` is the process; these are for tests and
 * for embedding.
 */
export { type Applier, type ApplierOptions, type ApplierStats, startApplier } from "./applier.ts";
export { loadRegionConfig, REGION_ENV_NAMES, type RegionConfig, type RegionRole } from "./config.ts";
export {
  createDecider,
  type Decider,
  type DecisionRequest,
  type DecisionResult,
  type ViewListener,
} from "./decider.ts";
export { type DeciderServer, MAX_BATCH, startDeciderServer } from "./decider-server.ts";
export { APPLIER_READINESS, DECIDER_READINESS } from "./readiness.ts";
export { type Region, startRegion } from "./region.ts";
export {
  type AuthenticatedPrincipal,
  type AuthenticationInput,
  createRequestAuthenticator,
  type RequestAuthenticator,
  type RequestAuthenticatorOptions,
} from "./request-authenticator.ts";
export { checkCallerContext } from "./request-context.ts";
export { type CompleteRevision, RevisionAssembler } from "./revision-assembler.ts";
export type { ResolvedSession, SessionCredentialResolver, SessionPrincipal } from "./session-credentials.ts";
