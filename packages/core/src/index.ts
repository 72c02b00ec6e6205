export { type Arn, checkArnPartition, DEFAULT_PARTITION, formatArn, iamArn, parseArn, tryParseArn } from "./arn.ts";
export { type Clock, createManualClock, type ManualClock, systemClock } from "./clock.ts";
export { IamError, IamErrorName, type IamErrorNameValue, type IamErrorOptions } from "./iam-error.ts";
export { type IdKind, IdPrefix, idKindOf, newId, randomBase32 } from "./ids.ts";
export { StatusCode, type StatusCodeName } from "./status-code.ts";
