/**
 * `@gatehouse/view-redis`: the region's materialized view in Redis (ioredis). Entity states by
 * (account, kind, id), the reverse indexes the deciders need (principal ARN → entity, group →
 * members, policy ARN → what it is attached to or bounds, access key id → account), each
 * account's applied revision and epoch, partition watermarks, and one pub/sub channel naming the
 * principals whose decisions a revision may change. A revision is applied by one Lua script.
 */
export { type IndexRecord, indexRecordOf } from "./index-record.ts";
export {
  type AppliedRevision,
  type ApplyOutcome,
  createRegionView,
  type HistoryPoint,
  type Invalidation,
  type PartitionLag,
  type PrincipalSnapshot,
  type RegionView,
  type RegionViewOptions,
  type ReplaceOutcome,
  type ViewBootstrap,
  type ViewNotification,
  type ViewSize,
} from "./region-view.ts";
