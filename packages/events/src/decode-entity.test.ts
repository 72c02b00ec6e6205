import { IamError } from "@gatehouse/core";
import { ChangeEvent } from "@gatehouse/proto";
import { describe, expect, it } from "vitest";
import { decodeEntity, decodeEntityChange } from "./decode-entity.ts";
import { ENTITY_KINDS, type EntityKind, type EntityStates } from "./entity-state.ts";
import { changeEvent, decodeChangeEvent, encodeChangeEvent } from "./event-codec.ts";

const ACCOUNT = "123456789012";
const DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}';
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/ops/S3`;
const tags = [{ key: "team", value: "a" }];
const lists = {
  attachedPolicies: [{ policyId: "ANPAEXAMPLE", policyArn: POLICY_ARN }],
  inlinePolicies: [{ policyName: "inline", policyDocument: DOC }],
};

/** One state document of every kind, as the store builds them (typed, so the compiler keeps it complete). */
const samples: { readonly [K in EntityKind]: { readonly id: string; readonly state: EntityStates[K] } } = {
  account: {
    id: ACCOUNT,
    state: {
      accountId: ACCOUNT,
      alias: "acme",
      createdAtMs: 1767225600000,
      passwordPolicy: {
        minimumPasswordLength: 12,
        requireSymbols: true,
        requireNumbers: true,
        requireUppercaseCharacters: false,
        requireLowercaseCharacters: true,
        allowUsersToChangePassword: true,
        maxPasswordAge: 90,
        passwordReusePrevention: 3,
        hardExpiry: false,
      },
      guardrails: [{ policyArn: "arn:aws:iam::aws:policy/guardrails/NoIam", document: DOC }],
    },
  },
  user: {
    id: "AIDAEXAMPLE",
    state: {
      accountId: ACCOUNT,
      userId: "AIDAEXAMPLE",
      userName: "alice",
      path: "/eng/",
      arn: `arn:aws:iam::${ACCOUNT}:user/eng/alice`,
      createdAtMs: 1767225600001,
      tags,
      permissionsBoundaryArn: POLICY_ARN,
      groups: [{ groupId: "AGPAEXAMPLE", groupName: "devs" }],
      ...lists,
    },
  },
  group: {
    id: "AGPAEXAMPLE",
    state: {
      accountId: ACCOUNT,
      groupId: "AGPAEXAMPLE",
      groupName: "devs",
      path: "/",
      arn: `arn:aws:iam::${ACCOUNT}:group/devs`,
      createdAtMs: 1767225600002,
      ...lists,
    },
  },
  role: {
    id: "AROAEXAMPLE",
    state: {
      accountId: ACCOUNT,
      roleId: "AROAEXAMPLE",
      roleName: "deployer",
      path: "/",
      arn: `arn:aws:iam::${ACCOUNT}:role/deployer`,
      createdAtMs: 1767225600003,
      assumeRolePolicyDocument: DOC,
      description: "deploys",
      maxSessionDuration: 3600,
      tags,
      permissionsBoundaryArn: null,
      ...lists,
    },
  },
  policy: {
    id: "ANPAEXAMPLE",
    state: {
      accountId: ACCOUNT,
      policyId: "ANPAEXAMPLE",
      policyName: "S3",
      path: "/ops/",
      arn: POLICY_ARN,
      description: "",
      defaultVersionId: "v2",
      createdAtMs: 1767225600004,
      updatedAtMs: 1767225600005,
      tags,
      versions: [
        { versionId: "v1", document: DOC, isDefault: false, createdAtMs: 1767225600004 },
        { versionId: "v2", document: DOC, isDefault: true, createdAtMs: 1767225600005 },
      ],
    },
  },
  "access-key": {
    id: "AKIAEXAMPLE",
    state: {
      accessKeyId: "AKIAEXAMPLE",
      accountId: ACCOUNT,
      userId: null,
      userName: null,
      principalArn: `arn:aws:iam::${ACCOUNT}:root`,
      status: "Active",
      createdAtMs: 1767225600006,
      secretCiphertext: Buffer.from("sealed bytes").toString("base64"),
    },
  },
  "login-profile": {
    id: "AIDAEXAMPLE",
    state: {
      accountId: ACCOUNT,
      userId: "AIDAEXAMPLE",
      userName: "alice",
      passwordResetRequired: true,
      passwordChangedAtMs: 1767225600007,
      createdAtMs: 1767225600007,
    },
  },
  "mfa-device": {
    id: `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`,
    state: {
      serialNumber: `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`,
      accountId: ACCOUNT,
      path: "/",
      deviceName: "alice-phone",
      userId: "AIDAEXAMPLE",
      userName: "alice",
      enabledAtMs: 1767225600008,
      tags,
      createdAtMs: 1767225600008,
    },
  },
  "instance-profile": {
    id: "AIPAEXAMPLE",
    state: {
      instanceProfileId: "AIPAEXAMPLE",
      accountId: ACCOUNT,
      instanceProfileName: "web",
      path: "/",
      arn: `arn:aws:iam::${ACCOUNT}:instance-profile/web`,
      tags,
      createdAtMs: 1767225600009,
      roles: [{ roleId: "AROAEXAMPLE", roleName: "deployer", arn: `arn:aws:iam::${ACCOUNT}:role/deployer` }],
    },
  },
  "oidc-provider": {
    id: `arn:aws:iam::${ACCOUNT}:oidc-provider/issuer.example.com`,
    state: {
      arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/issuer.example.com`,
      accountId: ACCOUNT,
      url: "issuer.example.com",
      clientIds: ["sts.amazonaws.com"],
      thumbprints: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
      jwks: '{"keys":[]}',
      tags: [],
      createdAtMs: 1767225600010,
    },
  },
  "resource-policy": {
    id: "arn:aws:s3:::example-bucket",
    state: {
      resourceArn: "arn:aws:s3:::example-bucket",
      accountId: ACCOUNT,
      policyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::example-bucket/*"}]}',
      createdAtMs: 1767225600011,
      updatedAtMs: 1767225600012,
    },
  },
  "sts-key-set": {
    id: "sts",
    state: {
      keys: [
        {
          keyId: "0123456789abcdef",
          sealedKey: "R0hTMQ==",
          createdAtMs: 1767225600013,
          activatesAtMs: 1767225600013,
          retiredAtMs: null,
        },
      ],
    },
  },
};

/** The wire round trip a region sees: state → ChangeEvent bytes → typed entity. */
function throughTheWire(kind: string, id: string, state: unknown) {
  const bytes = encodeChangeEvent(
    changeEvent({ accountId: ACCOUNT, revision: 5, kind, id, state, eventId: "e-1", epoch: "7:1" }),
  );
  return decodeEntityChange(decodeChangeEvent(bytes));
}

function validationErrorOf(f: () => unknown): IamError {
  try {
    f();
  } catch (e) {
    if (IamError.is(e)) return e;
    throw e;
  }
  throw new Error("expected a ValidationError");
}

describe("typed entity states", () => {
  it("has a sample for every kind", () => {
    expect(Object.keys(samples).sort()).toEqual([...ENTITY_KINDS].sort());
  });

  it.each(ENTITY_KINDS)("round-trips a %s state and its tombstone through a change event", (kind) => {
    const { id, state } = samples[kind];
    expect(throughTheWire(kind, id, state)).toEqual({
      kind,
      id,
      state,
      accountId: ACCOUNT,
      revision: 5,
      eventId: "e-1",
      committedAtMs: 0,
      epoch: "7:1",
    });
    expect(throughTheWire(kind, id, null)).toMatchObject({ kind, id, state: null, revision: 5 });
  });

  it.each(ENTITY_KINDS)("refuses a %s state carrying a field its type lacks, naming the field", (kind) => {
    const { id, state } = samples[kind];
    const e = validationErrorOf(() => throughTheWire(kind, id, { ...state, addedByProducer: 1 }));
    expect([e.awsName, e.retriable, e.field]).toEqual(["ValidationError", false, "state.addedByProducer"]);
    expect(e.message).toContain(`${kind} ${JSON.stringify(id)} state`);
    expect(e.message).toContain("addedByProducer");
  });

  it.each(ENTITY_KINDS)("refuses a %s state missing a field of its type", (kind) => {
    const { id, state } = samples[kind];
    const [first] = Object.keys(state);
    const { [first as string]: _dropped, ...rest } = state as Record<string, unknown>;
    const e = validationErrorOf(() => decodeEntity(kind, id, rest));
    expect([e.awsName, e.field]).toEqual(["ValidationError", `state.${first}`]);
  });

  it("checks nested documents strictly too, and names the path", () => {
    const user = samples.user.state;
    const extraInGroup = { ...user, groups: [{ groupId: "AGPA1", groupName: "devs", addedByProducer: true }] };
    expect(validationErrorOf(() => decodeEntity("user", "AIDA1", extraInGroup)).field).toBe(
      "state.groups[0].addedByProducer",
    );
    const wrongType = { ...user, attachedPolicies: [{ policyId: "ANPA1", policyArn: 7 }] };
    const e = validationErrorOf(() => decodeEntity("user", "AIDA1", wrongType));
    expect(e.field).toBe("state.attachedPolicies[0].policyArn");
    expect(e.message).toContain("field attachedPolicies[0].policyArn");
    const account = samples.account.state;
    expect(
      validationErrorOf(() =>
        decodeEntity("account", ACCOUNT, { ...account, passwordPolicy: { ...account.passwordPolicy, x: 1 } }),
      ).field,
    ).toBe("state.passwordPolicy.x");
    const key = samples["access-key"].state;
    expect(validationErrorOf(() => decodeEntity("access-key", "AKIA1", { ...key, status: "Deleted" })).field).toBe(
      "state.status",
    );
  });

  it("decodes policy and MFA device states from before they carried tags with no tags", () => {
    for (const kind of ["policy", "mfa-device"] as const) {
      const { id, state } = samples[kind];
      const { tags: _, ...older } = state;
      expect(decodeEntity(kind, id, older).state).toEqual({ ...older, tags: [] });
    }
  });

  it("accepts an exported access key without its sealed secret", () => {
    const { secretCiphertext: _, ...exported } = samples["access-key"].state;
    expect(decodeEntity("access-key", "AKIAEXAMPLE", exported).state).toEqual(exported);
  });

  it("refuses unknown kinds, non-JSON and empty changes without retry", () => {
    const unknownKind = validationErrorOf(() => decodeEntity("session", "x", {}));
    expect([unknownKind.field, unknownKind.retriable]).toEqual(["key.kind", false]);
    expect(unknownKind.message).toContain('"session"');
    const bad = (change: ChangeEvent["change"]) =>
      validationErrorOf(() =>
        decodeEntityChange(ChangeEvent.fromPartial({ key: { kind: "user", id: "AIDA1" }, change })),
      ).field;
    expect(bad({ $case: "upsertJson", value: "{not json" })).toBe("upsertJson");
    expect(bad({ $case: "upsertJson", value: "null" })).toBe("upsertJson");
    expect(bad(undefined)).toBe("change");
    expect(validationErrorOf(() => decodeEntityChange(ChangeEvent.fromPartial({}))).field).toBe("key");
  });
});
