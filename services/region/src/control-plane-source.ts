import { createSigningInterceptor } from "@gatehouse/auth";
import { IamError } from "@gatehouse/core";
import { decodeAccountSnapshot, decodeEntityChange, type TypedEntity } from "@gatehouse/events";
import {
  ControlServiceClient,
  type ExportAccountRequest,
  type ExportAccountResponse,
  type ListAccountsRequest,
  type ListAccountsResponse,
} from "@gatehouse/proto";
import { grpcClientSpans, type Telemetry } from "@gatehouse/telemetry";
import { credentials as grpcCredentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";

/** An account's state at one revision, as the region applies it. */
export interface AccountExport {
  readonly accountId: string;
  readonly revision: number;
  /**
   * The control plane's history the export was read under (`<system identifier>:<timeline>`);
   * empty from a control plane that does not say.
   */
  readonly epoch: string;
  /** Every live entity; access keys carry their sealed secret (`secretCiphertext`). */
  readonly entities: readonly TypedEntity[];
}

/** An account and its revision when listed. */
export interface ListedAccount {
  readonly accountId: string;
  readonly revision: number;
}

/**
 * Where a region reads accounts whole: the control plane's operator calls. The applier heals a
 * gap with {@link exportAccount}; a new or emptied region bootstraps with {@link listAccounts}
 * then {@link exportAccount} for each.
 */
export interface AccountSource {
  /** The account's current state (at its current revision, which is at least any it published). */
  exportAccount(accountId: string): Promise<AccountExport>;
  /** Every account with its revision, in account id order, and the epoch of those revisions. */
  listAccounts(): Promise<{ readonly epoch: string; readonly accounts: readonly ListedAccount[] }>;
  close(): void;
}

/** Options of {@link createControlPlaneSource}. */
export interface ControlPlaneSourceOptions {
  /** `host:port` of the control plane's gRPC `ControlService`. */
  readonly address: string;
  /** The operator credential (ExportAccount with sealed secrets and ListAccounts are operator calls). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Deadline of one call. */
  readonly callTimeoutMs?: number;
  /** With telemetry on, each call is a CLIENT span whose `traceparent` the control plane continues. */
  readonly telemetry?: Telemetry;
}

/**
 * The control plane as an {@link AccountSource}: operator calls signed with SigV4
 * (`@gatehouse/auth`). Failures are {@link IamError}s; an unreachable or overloaded control plane
 * is `retriable`.
 * @example
 * const source = createControlPlaneSource({ address: "cp:50051", credentials: operator });
 * const { revision, entities } = await source.exportAccount("111122223333");
 */
/** The largest export the region takes in: 16 times gRPC's default, some 15 times the system account's today. */
const EXPORT_MAX_BYTES = 64 * 1024 * 1024;

export function createControlPlaneSource(options: ControlPlaneSourceOptions): AccountSource {
  const timeout = options.callTimeoutMs ?? 30_000;
  const client = new ControlServiceClient(options.address, grpcCredentials.createInsecure(), {
    // The system account's export carries every AWS managed policy (1,594 default versions, 4.2 MB
    // as a snapshot), more than gRPC's default 4 MiB a client takes in.
    "grpc.max_receive_message_length": EXPORT_MAX_BYTES,
    interceptors: [
      createSigningInterceptor({ credentials: { ...options.credentials }, authority: options.address }),
      // Inside the signing one: `traceparent` is added after signing, and SigV4 covers only what it signed.
      ...(options.telemetry?.enabled ? [grpcClientSpans(options.telemetry)] : []),
    ],
  });
  const unary = <Req, Res>(
    call: (req: Req, md: Metadata, opts: { deadline: number }, cb: (e: ServiceError | null, res: Res) => void) => void,
    request: Req,
  ) =>
    new Promise<Res>((resolve, reject) =>
      call.call(client, request, new Metadata(), { deadline: Date.now() + timeout }, (e, res) => {
        if (e === null) resolve(res);
        else reject(fromGrpc(e));
      }),
    );
  return {
    async exportAccount(accountId) {
      const request: ExportAccountRequest = { accountId, atRevision: 0, includeSealedSecrets: true };
      const res = await unary<ExportAccountRequest, ExportAccountResponse>(client.exportAccount, request);
      const snapshot = decodeAccountSnapshot(res.snapshot);
      if (snapshot.accountId !== accountId) {
        throw new IamError("ServiceFailure", `export of ${accountId} answered account ${snapshot.accountId}`);
      }
      const entities = snapshot.entities.map((event): TypedEntity => {
        const { kind, id, state } = decodeEntityChange(event);
        return { kind, id, state } as TypedEntity;
      });
      return { accountId, revision: Number(snapshot.revision), epoch: res.epoch, entities };
    },
    async listAccounts() {
      const accounts: ListedAccount[] = [];
      let epoch = "";
      let marker = "";
      do {
        const request: ListAccountsRequest = { page: { marker, maxItems: 1000 } };
        const page = await unary<ListAccountsRequest, ListAccountsResponse>(client.listAccounts, request);
        // Only 12-digit accounts have a stream: "aws" (the AWS managed policies' owner) has none;
        // its policies travel on the system account's stream (all of them) and on each account's
        // stream that uses them.
        for (const a of page.accounts) {
          if (/^\d{12}$/.test(a.accountId)) accounts.push({ accountId: a.accountId, revision: Number(a.revision) });
        }
        if (epoch !== "" && page.epoch !== epoch) {
          throw new IamError(
            "ServiceUnavailable",
            `the control plane's epoch changed while listing: ${epoch} -> ${page.epoch}`,
            {
              retriable: true,
            },
          );
        }
        epoch = page.epoch;
        marker = page.page?.isTruncated === true ? page.page.marker : "";
      } while (marker !== "");
      return { epoch, accounts };
    },
    close: () => client.close(),
  };
}

function fromGrpc(e: ServiceError): IamError {
  const retriable =
    e.code === status.UNAVAILABLE ||
    e.code === status.DEADLINE_EXCEEDED ||
    e.code === status.RESOURCE_EXHAUSTED ||
    e.code === status.ABORTED;
  return new IamError(retriable ? "ServiceUnavailable" : "ServiceFailure", `control plane: ${e.details || e.message}`, {
    cause: e,
    retriable,
  });
}
