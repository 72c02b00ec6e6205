/**
 * `@gatehouse/stack`: the local multi-region stack as a library, for tools that drive the whole
 * system (the load-test harness): its settings, the infrastructure, the dev credentials, starting
 * and stopping the control plane and the regions. `main.ts` is the `./gw run stack` command.
 */
export { logTail, type RunningService, type ServiceSpec, startService, stopServices } from "./processes.ts";
export type { SeedResult } from "./seed.ts";
export {
  devCredentials,
  infraDown,
  infraUp,
  processDirs,
  type StartedStack,
  stackRunning,
  startStack,
} from "./stack.ts";
export {
  loadStackConfig,
  regionNames,
  type StackConfig,
  type StackRegion,
  withRegionCount,
} from "./stack-config.ts";
