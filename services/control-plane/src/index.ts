/** The control plane's composable parts (the service itself starts from `src/main.ts`). */
export {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelayStats,
  toChangeEvent,
} from "./outbox-relay.ts";
