import { IamError } from "@gatehouse/core";
import { describe, expect, it } from "vitest";
import {
  checkAccessKeyId,
  checkAccountAlias,
  checkClientId,
  checkClientIds,
  checkEntityFilter,
  checkJwks,
  checkMaxSessionDuration,
  checkName,
  checkNewPath,
  checkOidcUrl,
  checkPasswordInput,
  checkPath,
  checkPolicyDocument,
  checkSetting,
  checkTagKeys,
  checkTags,
  checkText,
  checkThumbprints,
  findingsOf,
} from "./validation.ts";

/** The IamError `fn` throws; fails the test when it returns or throws anything else. */
function refusal(fn: () => unknown): IamError {
  try {
    fn();
  } catch (e) {
    if (IamError.is(e)) return e;
    throw e;
  }
  throw new Error("expected an IamError, but the value was accepted");
}

/** `[awsName, field, message]` of what `fn` throws, for one-line assertions. */
function refused(fn: () => unknown): [string, string | undefined, string] {
  const e = refusal(fn);
  return [e.awsName, e.field, e.message];
}

describe("checkEntityFilter", () => {
  it("accepts AWS's five entity types, drops duplicates, and takes none as none", () => {
    expect(checkEntityFilter(["Role", "User", "Role"])).toEqual(["Role", "User"]);
    const all = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"];
    expect(checkEntityFilter(all)).toEqual(all);
    expect(checkEntityFilter([])).toEqual([]);
  });

  it("refuses another spelling or value, naming its index", () => {
    for (const bad of ["user", "USER", "Policy", "", " User"]) {
      expect(refused(() => checkEntityFilter(["Group", bad]))).toEqual([
        "ValidationError",
        "filter[1]",
        `filter[1] ${JSON.stringify(bad)} must be one of User, Role, Group, LocalManagedPolicy, AWSManagedPolicy`,
      ]);
    }
  });
});

describe("checkName", () => {
  it("accepts exactly the maximum length and refuses one more, for each maximum in use", () => {
    for (const max of [64, 128, 226]) {
      expect(checkName("a".repeat(max), "userName", max)).toBe("a".repeat(max));
      const long = "a".repeat(max + 1);
      expect(refused(() => checkName(long, "userName", max))).toEqual([
        "ValidationError",
        "userName",
        `userName "${long}" is longer than ${max} characters`,
      ]);
    }
  });

  it("requires at least one character", () => {
    expect(checkName("a", "roleName", 64)).toBe("a");
    expect(refused(() => checkName("", "roleName", 64))).toEqual([
      "ValidationError",
      "roleName",
      "roleName is required",
    ]);
  });

  it("accepts letters, digits and +=,.@_- only, anywhere in the name", () => {
    expect(checkName("Az09+=,.@_-", "groupName", 128)).toBe("Az09+=,.@_-");
    for (const bad of ["a b", "!ab", "ab!", "a/b", "é", "a:b"]) {
      expect(refused(() => checkName(bad, "groupName", 128))).toEqual([
        "ValidationError",
        "groupName",
        `groupName ${JSON.stringify(bad)} may contain only letters, digits and +=,.@_-`,
      ]);
    }
  });
});

describe("checkNewPath", () => {
  it("keeps absent as absent, refuses empty (unlike checkPath) and checks the rest as a path", () => {
    expect(checkNewPath(undefined)).toBeUndefined();
    expect(checkNewPath("/")).toBe("/");
    expect(checkNewPath("/team/")).toBe("/team/");
    expect(refused(() => checkNewPath(""))).toEqual([
      "ValidationError",
      "newPath",
      "newPath must not be empty (leave it out to keep the current path)",
    ]);
    expect(refused(() => checkNewPath("team"))[1]).toBe("newPath");
  });
});

describe("checkPath", () => {
  it("takes empty as / and accepts / and /segments/", () => {
    expect(checkPath("")).toBe("/");
    expect(checkPath("/")).toBe("/");
    expect(checkPath("/division/team-1/")).toBe("/division/team-1/");
    expect(checkPath("/!~/")).toBe("/!~/");
  });

  it("accepts exactly 512 characters and refuses 513", () => {
    const max = `/${"a".repeat(510)}/`;
    expect(checkPath(max)).toBe(max);
    const long = `/${"a".repeat(511)}/`;
    expect(refused(() => checkPath(long, "pathPrefix"))).toEqual([
      "ValidationError",
      "pathPrefix",
      `pathPrefix ${JSON.stringify(long)} must begin and end with "/" and be at most 512 printable characters`,
    ]);
  });

  it("refuses a path not beginning and ending with /, an empty segment, and characters beyond printable ASCII", () => {
    // AWS's pattern is `/` or `/[\x21-\x7e]+/`: "//" has nothing between its slashes.
    for (const bad of ["a/", "/a", "a", "//", "/a b/", "/é/", "/a\t/"]) {
      expect(refusal(() => checkPath(bad)).field).toBe("path");
    }
  });
});

describe("checkTags", () => {
  const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));

  it("accepts 50 tags and refuses 51 as LimitExceeded", () => {
    expect(checkTags(tags(50))).toEqual(tags(50));
    expect(checkTags([])).toEqual([]);
    expect(refused(() => checkTags(tags(51)))).toEqual(["LimitExceeded", "tags", "tags has 51 entries; at most 50"]);
  });

  it("accepts keys of 1 to 128 characters and values of 0 to 256, naming the tag at fault", () => {
    expect(checkTags([{ key: "k".repeat(128), value: "v".repeat(256) }])).toEqual([
      { key: "k".repeat(128), value: "v".repeat(256) },
    ]);
    expect(checkTags([{ key: "k", value: "" }])).toEqual([{ key: "k", value: "" }]);
    expect(refused(() => checkTags([...tags(2), { key: "k".repeat(129), value: "" }]))).toEqual([
      "ValidationError",
      "tags[2].key",
      `tags[2].key ${JSON.stringify("k".repeat(129))} is not a valid tag key`,
    ]);
    expect(refusal(() => checkTags([{ key: "", value: "v" }])).field).toBe("tags[0].key");
    expect(refused(() => checkTags([...tags(1), { key: "k", value: "v".repeat(257) }]))).toEqual([
      "ValidationError",
      "tags[1].value",
      `tags[1].value ${JSON.stringify("v".repeat(257))} is not a valid tag value`,
    ]);
  });

  it("accepts Unicode letters, digits, spaces and _.:/=+-@ and nothing else, anywhere", () => {
    const ok = { key: "Kostenstelle ключ_.:/=+-@ 7", value: "Équipe données_.:/=+-@ 9" };
    expect(checkTags([ok])).toEqual([ok]);
    for (const key of ["*k", "k*", "k#k"])
      expect(refusal(() => checkTags([{ key, value: "" }])).field).toBe("tags[0].key");
    for (const value of ["*v", "v*", "v#v"]) {
      expect(refusal(() => checkTags([{ key: "k", value }])).field).toBe("tags[0].value");
    }
  });

  it("refuses a key given twice, naming the second", () => {
    expect(refused(() => checkTags([{ key: "team", value: "a" }, ...tags(1), { key: "team", value: "b" }]))).toEqual([
      "ValidationError",
      "tags[2].key",
      'tags[2].key "team" is duplicated',
    ]);
  });

  it("returns only keys and values", () => {
    const withExtra = [{ key: "k", value: "v", extra: "x" }];
    expect(checkTags(withExtra)).toStrictEqual([{ key: "k", value: "v" }]);
  });
});

describe("checkTagKeys", () => {
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);

  it("accepts 1 to 50 keys, refuses none and 51", () => {
    expect(checkTagKeys(keys(1))).toEqual(keys(1));
    expect(checkTagKeys(keys(50))).toEqual(keys(50));
    expect(refused(() => checkTagKeys([]))).toEqual([
      "ValidationError",
      "tagKeys",
      "tagKeys has 0 entries; 1..50 allowed",
    ]);
    expect(refused(() => checkTagKeys(keys(51)))).toEqual([
      "ValidationError",
      "tagKeys",
      "tagKeys has 51 entries; 1..50 allowed",
    ]);
  });

  it("refuses an invalid key, naming it", () => {
    expect(checkTagKeys(["k".repeat(128)])).toEqual(["k".repeat(128)]);
    expect(refused(() => checkTagKeys(["a", "k".repeat(129)]))).toEqual([
      "ValidationError",
      "tagKeys[1]",
      `tagKeys[1] ${JSON.stringify("k".repeat(129))} is not a valid tag key`,
    ]);
    expect(refusal(() => checkTagKeys(["a*"])).field).toBe("tagKeys[0]");
  });
});

describe("tag keys reserved to AWS and compared case-insensitively", () => {
  it("refuses tag keys beginning with aws: in any case as InvalidInput, naming the tag", () => {
    for (const key of ["aws:team", "AWS:team", "Aws:"]) {
      expect(
        refused(() =>
          checkTags([
            { key: "ok", value: "" },
            { key, value: "v" },
          ]),
        ),
      ).toEqual([
        "InvalidInput",
        "tags[1].key",
        `tags[1].key ${JSON.stringify(key)} begins with "aws:", which is reserved`,
      ]);
      expect(refused(() => checkTagKeys(["ok", key]))).toEqual([
        "InvalidInput",
        "tagKeys[1]",
        `tagKeys[1] ${JSON.stringify(key)} begins with "aws:", which is reserved`,
      ]);
    }
  });

  it("accepts keys that contain aws: later or only resemble it", () => {
    const keys = ["team:aws:x", "aws", "awsteam", "aws-team", "aws/team"];
    expect(checkTags(keys.map((key) => ({ key, value: "" }))).map((t) => t.key)).toEqual(keys);
    expect(checkTagKeys(keys)).toEqual(keys);
  });

  it("compares keys case-insensitively by default (users, roles) and exactly when asked (other entities)", () => {
    const tags = [
      { key: "Team", value: "a" },
      { key: "TEAM", value: "b" },
    ];
    expect(refused(() => checkTags(tags))).toEqual([
      "ValidationError",
      "tags[1].key",
      'tags[1].key "TEAM" is duplicated',
    ]);
    expect(checkTags(tags, false)).toEqual(tags);
    expect(refusal(() => checkTags([tags[0], tags[0]] as typeof tags, false)).field).toBe("tags[1].key");
  });

  it("folds keys to lower case, so keys equal only in upper case stay distinct", () => {
    // "Straße" and "STRASSE" are the same in upper case ("STRASSE"), not in lower case.
    const tags = [
      { key: "Straße", value: "" },
      { key: "STRASSE", value: "" },
    ];
    expect(checkTags(tags)).toEqual(tags);
  });
});

describe("checkText", () => {
  it("accepts exactly the maximum and refuses one more", () => {
    expect(checkText("", "description", 1000)).toBe("");
    expect(checkText("d".repeat(1000), "description", 1000)).toBe("d".repeat(1000));
    expect(refused(() => checkText("d".repeat(1001), "description", 1000))).toEqual([
      "ValidationError",
      "description",
      "description is longer than 1000 characters",
    ]);
  });
});

describe("checkMaxSessionDuration", () => {
  it("takes 0 as the default 3600 and accepts 3600 to 43200 inclusive", () => {
    expect(checkMaxSessionDuration(0)).toBe(3600);
    expect(checkMaxSessionDuration(3600)).toBe(3600);
    expect(checkMaxSessionDuration(43_200)).toBe(43_200);
    expect(checkMaxSessionDuration(7200)).toBe(7200);
  });

  it("refuses 3599, 43201, fractions and negatives, naming the field and the value", () => {
    for (const bad of [3599, 43_201, 3600.5, -3600, 1]) {
      expect(refused(() => checkMaxSessionDuration(bad))).toEqual([
        "ValidationError",
        "maxSessionDuration",
        `maxSessionDuration ${bad} must be between 3600 and 43200 seconds`,
      ]);
    }
  });
});

describe("checkAccountAlias", () => {
  it("accepts 3 to 63 characters and refuses 2 and 64", () => {
    expect(checkAccountAlias("abc")).toBe("abc");
    const max = `a${"b".repeat(61)}c`;
    expect(checkAccountAlias(max)).toBe(max);
    for (const bad of ["ab", `a${"b".repeat(62)}c`]) {
      expect(refused(() => checkAccountAlias(bad))).toEqual([
        "ValidationError",
        "accountAlias",
        `accountAlias ${JSON.stringify(bad)} must be 3..63 lower-case letters, digits and single hyphens, not starting or ending with a hyphen`,
      ]);
    }
  });

  it("accepts single hyphens inside only, and lower case only", () => {
    expect(checkAccountAlias("my-org-1")).toBe("my-org-1");
    for (const bad of ["my--org", "-myorg", "myorg-", "MyOrg", "my_org", "my.org"]) {
      expect(refusal(() => checkAccountAlias(bad)).field).toBe("accountAlias");
    }
  });

  it("refuses exactly 12 digits, which reads as an account id, but not 11 or 13", () => {
    expect(refused(() => checkAccountAlias("123456789012"))).toEqual([
      "ValidationError",
      "accountAlias",
      'accountAlias "123456789012" must not look like an account id',
    ]);
    expect(checkAccountAlias("12345678901")).toBe("12345678901");
    expect(checkAccountAlias("1234567890123")).toBe("1234567890123");
    expect(checkAccountAlias("a23456789012")).toBe("a23456789012");
  });
});

describe("checkAccessKeyId", () => {
  it("accepts 16..128 word characters, refuses the rest naming the field", () => {
    for (const ok of ["A".repeat(16), "AKIA_0123456789ab", "a".repeat(128)]) expect(checkAccessKeyId(ok)).toBe(ok);
    for (const bad of [
      "",
      "A".repeat(15),
      "a".repeat(129),
      "AKIA0123456789AB-",
      "AKIA 0123456789AB",
      "AKIAÄ0123456789AB",
    ]) {
      expect(() => checkAccessKeyId(bad)).toThrow(expect.objectContaining({ field: "accessKeyId" }));
    }
  });

  it("says an empty id is missing and quotes a malformed one, under the field it was given", () => {
    expect(() => checkAccessKeyId("")).toThrow("accessKeyId is required");
    expect(() => checkAccessKeyId("AKIA-1", "keyId")).toThrow('keyId "AKIA-1" must be 16..128 letters, digits or _');
  });
});

describe("checkSetting", () => {
  it("takes 0 as the given default and accepts min to max inclusive", () => {
    expect(checkSetting(0, "minimumPasswordLength", 6, 128, 6)).toBe(6);
    expect(checkSetting(0, "maxPasswordAge", 1, 1095, 0)).toBe(0);
    expect(checkSetting(6, "minimumPasswordLength", 6, 128, 6)).toBe(6);
    expect(checkSetting(128, "minimumPasswordLength", 6, 128, 6)).toBe(128);
  });

  it("refuses min-1, max+1 and fractions, naming the field and the bounds", () => {
    for (const bad of [5, 129, 6.5]) {
      expect(refused(() => checkSetting(bad, "minimumPasswordLength", 6, 128, 6))).toEqual([
        "ValidationError",
        "minimumPasswordLength",
        `minimumPasswordLength ${bad} must be between 6 and 128`,
      ]);
    }
  });
});

describe("checkPasswordInput", () => {
  it("accepts 1 to 128 characters and never echoes the password", () => {
    expect(checkPasswordInput("p", "password")).toBe("p");
    expect(checkPasswordInput("p".repeat(128), "password")).toBe("p".repeat(128));
    for (const bad of ["", "p".repeat(129)]) {
      const [name, field, message] = refused(() => checkPasswordInput(bad, "newPassword"));
      expect([name, field, message]).toEqual([
        "ValidationError",
        "newPassword",
        "newPassword must be 1..128 characters",
      ]);
    }
  });
});

describe("checkOidcUrl", () => {
  it("returns the URL without scheme and trailing slashes", () => {
    expect(checkOidcUrl("https://issuer.example.com")).toBe("issuer.example.com");
    expect(checkOidcUrl("https://issuer.example.com/tenant/v2//")).toBe("issuer.example.com/tenant/v2");
    expect(checkOidcUrl("HTTPS://Issuer.example.com")).toBe("Issuer.example.com");
  });

  it("accepts exactly 255 characters and refuses 256 and empty", () => {
    const max = `https://e.example/${"p".repeat(255 - "https://e.example/".length)}`;
    expect(max).toHaveLength(255);
    expect(checkOidcUrl(max)).toBe(max.slice("https://".length));
    for (const bad of [`${max}p`, ""]) {
      expect(refused(() => checkOidcUrl(bad))).toEqual(["ValidationError", "url", "url must be 1..255 characters"]);
    }
  });

  it("refuses other schemes, queries, fragments, white space, credentials and non-URLs as InvalidInput", () => {
    const cases: [string, string][] = [
      ["http://issuer.example.com", "must begin with https://"],
      ["xhttps://issuer.example.com", "must begin with https://"],
      ["https://issuer.example.com/?a=1", "must not have a query, a fragment or white space"],
      ["https://issuer.example.com/#f", "must not have a query, a fragment or white space"],
      ["https://issuer.example.com/a b", "must not have a query, a fragment or white space"],
      ["https://", "is not a URL"],
      ["https://user:pw@issuer.example.com", "must name a host and carry no credentials"],
      ["https://user@issuer.example.com", "must name a host and carry no credentials"],
      ["https://:pw@issuer.example.com", "must name a host and carry no credentials"],
    ];
    for (const [url, why] of cases) {
      expect(refused(() => checkOidcUrl(url, "issuerUrl"))).toEqual([
        "InvalidInput",
        "issuerUrl",
        `issuerUrl ${JSON.stringify(url)} ${why}`,
      ]);
    }
  });
});

describe("checkOidcUrl: the host follows the scheme", () => {
  it("refuses extra slashes before the host, which the URL parser would skip", () => {
    for (const url of ["https:///issuer.example.com", "https:////issuer.example.com/path"]) {
      expect(refused(() => checkOidcUrl(url))).toEqual([
        "InvalidInput",
        "url",
        `url ${JSON.stringify(url)} must name a host and carry no credentials`,
      ]);
    }
    expect(checkOidcUrl("https://issuer.example.com//a")).toBe("issuer.example.com//a");
  });
});

describe("client ids and thumbprints", () => {
  it("accepts client ids of 1 to 255 characters, naming the one at fault", () => {
    expect(checkClientId("c".repeat(255))).toBe("c".repeat(255));
    expect(refused(() => checkClientId(""))).toEqual([
      "ValidationError",
      "clientId",
      "clientId must be 1..255 characters",
    ]);
    expect(refusal(() => checkClientId("c".repeat(256))).field).toBe("clientId");
    expect(refusal(() => checkClientIds(["a", "c".repeat(256)])).field).toBe("clientIdList[1]");
  });

  it("drops duplicate client ids, keeping the order", () => {
    expect(checkClientIds(["b", "a", "b"])).toEqual(["b", "a"]);
  });

  it("accepts 40 hex characters, lower-cased and deduplicated, and refuses 39, 41 and non-hex", () => {
    const t = "9E99A48A9960B14926BB7F3B02E22DA2B0AB7280";
    expect(checkThumbprints([t, t.toLowerCase()])).toEqual([t.toLowerCase()]);
    for (const bad of [t.slice(1), `${t}0`, `${t.slice(1)}g`, `x${t}`, `${t}x`]) {
      expect(refused(() => checkThumbprints([t, bad]))).toEqual([
        "ValidationError",
        "thumbprintList[1]",
        `thumbprintList[1] ${JSON.stringify(bad)} must be 40 hex characters`,
      ]);
    }
  });
});

describe("checkJwks", () => {
  const key = { kty: "RSA", n: "x", e: "AQAB" };
  const jwks = (n: number) => JSON.stringify({ keys: Array.from({ length: n }, () => key) });

  it("takes empty as none and returns a valid document as given", () => {
    expect(checkJwks("")).toBeNull();
    expect(checkJwks(jwks(1))).toBe(jwks(1));
    expect(checkJwks(jwks(100))).toBe(jwks(100));
  });

  it("accepts exactly 64 KiB and refuses one character more", () => {
    const head = '{"keys":[{"kty":"oct","k":"';
    const max = `${head}${"a".repeat(65_536 - head.length - 4)}"}]}`;
    expect(max).toHaveLength(65_536);
    expect(checkJwks(max)).toBe(max);
    const over = `${head}${"a".repeat(65_536 - head.length - 3)}"}]}`;
    expect(refused(() => checkJwks(over))).toEqual(["InvalidInput", "jwksJson", "jwksJson is larger than 64 KiB"]);
  });

  it("refuses anything but an object with 1 to 100 keys each having a string kty", () => {
    expect(refused(() => checkJwks("{", "jwks"))[2]).toMatch(/^jwks is not valid JSON \(.+\)$/);
    for (const doc of ["null", "[]", '{"keys":{}}', "{}", '"keys"']) {
      expect(refused(() => checkJwks(doc))).toEqual([
        "InvalidInput",
        "jwksJson",
        'jwksJson must be a JSON object with a "keys" array',
      ]);
    }
    for (const n of [0, 101]) {
      expect(refused(() => checkJwks(jwks(n)))).toEqual([
        "InvalidInput",
        "jwksJson",
        `jwksJson must have 1..100 keys, has ${n}`,
      ]);
    }
    for (const bad of [null, "RSA", {}, { kty: 1 }]) {
      expect(refused(() => checkJwks(JSON.stringify({ keys: [key, bad] })))).toEqual([
        "InvalidInput",
        "jwksJson",
        'jwksJson keys[1] must be an object with a string "kty"',
      ]);
    }
  });
});

describe("checkPolicyDocument", () => {
  const ok = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
  });

  it("returns a valid document and requires one", () => {
    expect(checkPolicyDocument(ok, "managed", "policyDocument")).toBe(ok);
    expect(refused(() => checkPolicyDocument("", "managed", "policyDocument"))).toEqual([
      "MalformedPolicyDocument",
      "policyDocument",
      "policyDocument is required",
    ]);
  });

  it("refuses a malformed document with its first error and the count of the others, carrying every finding", () => {
    const bad = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allowed", Action: "s3:GetObject", Resource: "*" },
        { Effect: "Deny", Action: "s3:GetObject", Resource: "*", Condition: { StringEqualz: { "aws:username": "x" } } },
      ],
    });
    const e = refusal(() => checkPolicyDocument(bad, "managed", "policyDocument"));
    expect([e.awsName, e.field]).toEqual(["MalformedPolicyDocument", "policyDocument"]);
    expect(e.message).toMatch(/^policyDocument: \$\.Statement\[0\]\.Effect: .+ \(and 1 more\)$/);
    expect(findingsOf(e).filter((f) => f.severity === "error")).toHaveLength(2);
    const one = refusal(() => checkPolicyDocument(bad.replace("StringEqualz", "StringEquals"), "managed", "policy"));
    const [first] = findingsOf(one);
    expect(one.message).toBe(`policy: $.Statement[0].Effect: ${first?.message}`);
  });

  it("accepts a document whose findings are only warnings", () => {
    const warned = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "Read", Effect: "Allow", Action: "s3:GetObject", Resource: "*" },
        { Sid: "Read", Effect: "Allow", Action: "s3:ListBucket", Resource: "*" },
      ],
    });
    expect(checkPolicyDocument(warned, "managed", "policyDocument")).toBe(warned);
  });

  it("validates by the document's kind: a trust policy needs a Principal, a managed one must not have it", () => {
    const noPrincipal = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }],
    });
    expect(checkPolicyDocument(noPrincipal, "managed", "policyDocument")).toBe(noPrincipal);
    expect(refusal(() => checkPolicyDocument(noPrincipal, "trust", "assumeRolePolicyDocument")).field).toBe(
      "assumeRolePolicyDocument",
    );
  });

  it("has no findings to report for an error that is not about a policy", () => {
    expect(findingsOf(new IamError("NoSuchEntity", "x"))).toEqual([]);
  });
});
