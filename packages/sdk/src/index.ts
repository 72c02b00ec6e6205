/**
 * `@gatehouse/sdk`: the client services and operators import.
 *
 * - {@link Gatehouse}: `iam` (every control-plane operation under AWS's names, async iterators
 *   over paged lists), `authz` (authorize, batchAuthorize, batchAuthorizePrincipal, simulate,
 *   authenticate, authenticateAndAuthorize, regionStatus), `sts`.
 * - Credentials and endpoints like the AWS SDK's default chain ({@link resolveClientConfig}),
 *   assumed-role profiles refreshed before expiry ({@link RefreshingCredentials}), and region
 *   routing with fail-over ({@link RegionRouter}: the configured region, an order, or the nearest).
 * - Typed errors carrying the AWS error name ({@link NoSuchEntityError}, …), the field and `retriable`.
 * - {@link iamOperations}: the one table the SDK methods and the `gatehouse iam` commands come from.
 *
 * @example
 * import { Gatehouse } from "@gatehouse/sdk";
 * const gh = new Gatehouse({ region: "us-east-1", profile: "demo" });
 * await gh.iam.createUser({ userName: "alice" });
 */
export {
  type AuthenticatedPrincipal,
  type SignedRequestInput,
  signingRegionOf,
} from "./authenticate.ts";
export {
  type AssumeRoleSpec,
  type ClientConfig,
  type ClientConfigOptions,
  type CredentialProvider,
  type CredentialSource,
  DEFAULT_CONTROL_PLANE,
  type EndpointOptions,
  GatehouseConfigError,
  type RegionRouting,
  resolveClientConfig,
  type WebIdentitySpec,
} from "./client-config.ts";
export {
  type AssumeRoleOptions,
  type ConnectionOptions,
  type CredentialCache,
  IAM_SIGNING_REGION,
  type RoutingOptions,
} from "./client-connections.ts";
export {
  AccessDeniedError,
  ConcurrentModificationError,
  ConsistencyTimeoutError,
  DeleteConflictError,
  EntityAlreadyExistsError,
  ERROR_DETAIL_TRAILER,
  ExpiredTokenError,
  errorClassOf,
  fromServiceError,
  GatehouseError,
  type GatehouseErrorInit,
  HistoryRewoundError,
  InvalidIdentityTokenError,
  InvalidInputError,
  isRetriable,
  LimitExceededError,
  MalformedPolicyDocumentError,
  NoSuchEntityError,
  ServiceUnavailableError,
  ThrottlingError,
} from "./errors.ts";
export {
  type AnsweredBy,
  type AuthenticateAndAuthorizeInput,
  type AuthorizeInput,
  type AuthorizeResult,
  AuthzClient,
  type BatchAuthorizePrincipalInput,
  type ContextInput,
  type DecisionName,
  Gatehouse,
  type GatehouseOptions,
  type IamClient,
  type IamMethods,
  type PrincipalCheckInput,
  type PrincipalInput,
  type RevisionToken,
  type SimulateInput,
  type SimulateResult,
  StsClient,
} from "./gatehouse.ts";
export {
  buildRequest,
  type ControlMethod,
  type IamOperationName,
  type IamOperationSpec,
  type InputOf,
  type ItemOf,
  iamOperations,
  inputFieldsOf,
  isPaged,
  isWrite,
  type OutputOf,
  type PagedOperationName,
  type PageInput,
  type RequestOf,
  type ResponseOf,
} from "./iam-operations.ts";
export {
  DEFAULT_REFRESH_WINDOW_MS,
  type ExpiringCredentials,
  RefreshingCredentials,
  type RefreshingCredentialsOptions,
} from "./refreshing-credentials.ts";
export { type RegionHealth, RegionRouter, type RegionRouterOptions } from "./region-router.ts";
export {
  backoffDelayMs,
  type RetryOptions,
  type RetryPlan,
  type RetryPolicy,
  validateRetryOptions,
  withRetries,
} from "./retry.ts";
export {
  configDirOf,
  type Env,
  loadSharedFiles,
  type Profile,
  type SharedFiles,
  splitEndpoints,
} from "./shared-config.ts";
export type { CallOptions } from "./transport.ts";
