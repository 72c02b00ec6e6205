import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  readIniSection,
  readProfileCredentials,
  upsertIniSection,
  writeProfileConfig,
  writeProfileCredentials,
} from "./profile-files.ts";

describe("upsertIniSection", () => {
  it("appends a missing section after the others, separated by a blank line", () => {
    expect(upsertIniSection("[other]\na = 1\n", "demo", { k: "v", k2: "v2" })).toBe(
      "[other]\na = 1\n\n[demo]\nk = v\nk2 = v2\n",
    );
    expect(upsertIniSection("", "demo", { k: "v" })).toBe("[demo]\nk = v\n");
  });

  it("rewrites the section's keys in place, appends new ones to it, and keeps every other line", () => {
    const text = "# mine\n[demo]\nk = old\nkeep = yes\n\n[other]\nk = other\n";
    expect(upsertIniSection(text, "demo", { k: "new", added: "1" })).toBe(
      "# mine\n[demo]\nk = new\nkeep = yes\nadded = 1\n\n[other]\nk = other\n",
    );
  });

  it("matches the whole section name, so [profile demo] is not [demo]", () => {
    const text = "[profile demo]\nregion = eu-west-1\n";
    expect(readIniSection(upsertIniSection(text, "demo", { region: "x" }), "profile demo")).toEqual({
      region: "eu-west-1",
    });
  });
});

describe("profile files", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the agreed credentials and config formats, mode 600, keeping other profiles", () => {
    dir = mkdtempSync(join(tmpdir(), "gatehouse-profile-"));
    writeFileSync(join(dir, "credentials"), "[work]\naccess_key_id = AKIAWORK\nsecret_access_key = s3cr3t\n");
    writeProfileCredentials(dir, "demo", { accessKeyId: "AKIADEMO", secretAccessKey: "abc/def+" });
    writeProfileConfig(dir, "demo", {
      region: "us-east-1",
      controlPlane: "127.0.0.1:50051",
      regions: { "us-east-1": ["127.0.0.1:50061", "127.0.0.1:50062"], "eu-west-1": ["127.0.0.1:50063"] },
    });
    expect(readFileSync(join(dir, "credentials"), "utf8")).toBe(
      "[work]\naccess_key_id = AKIAWORK\nsecret_access_key = s3cr3t\n\n[demo]\naccess_key_id = AKIADEMO\nsecret_access_key = abc/def+\n",
    );
    expect(readFileSync(join(dir, "config"), "utf8")).toBe(
      "[profile demo]\nregion = us-east-1\nendpoint_control_plane = 127.0.0.1:50051\n" +
        "endpoint_us-east-1 = 127.0.0.1:50061,127.0.0.1:50062\nendpoint_eu-west-1 = 127.0.0.1:50063\n",
    );
    expect(statSync(join(dir, "credentials")).mode & 0o777).toBe(0o600);
    expect(readProfileCredentials(dir, "demo")).toEqual({ accessKeyId: "AKIADEMO", secretAccessKey: "abc/def+" });
    expect(readProfileCredentials(dir, "work")?.accessKeyId).toBe("AKIAWORK");
    expect(readProfileCredentials(dir, "absent")).toBeUndefined();
  });
});
