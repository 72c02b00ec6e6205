/**
 * `@gatehouse/live-stack` (dev only): a real control plane and one or more real regions for the
 * integration tests of the packages above the services (the SDK, the CLI). It cannot live in
 * `@gatehouse/testkit`, which the services themselves depend on.
 */
export { createLiveAccount, type LiveAccount } from "./live-account.ts";
export { deadPort, type LiveRegion, type LiveStack, type LiveStackOptions, startLiveStack } from "./live-stack.ts";
