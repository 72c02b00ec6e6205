import { describe, expect, it } from "vitest";
import { CREDENTIAL_REPORT_COLUMNS, credentialReportCsv } from "./credential-reports.ts";

const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

describe("credentialReportCsv", () => {
  it("writes AWS's header, the root first, times to the second with +00:00, and quotes a name with a comma", () => {
    const csv = credentialReportCsv({
      accountId: "123456789012",
      maxPasswordAgeDays: 0,
      root: {
        userName: "<root_account>",
        arn: "arn:aws:iam::123456789012:root",
        createdAtMs: T,
        password: null,
        mfaActive: false,
        accessKeys: [],
      },
      users: [
        {
          userName: "a,b",
          arn: "arn:aws:iam::123456789012:user/a,b",
          createdAtMs: T,
          password: { changedAtMs: T, lastUsedAtMs: null },
          mfaActive: false,
          accessKeys: [
            { active: true, createdAtMs: T, lastUsed: { atMs: T + 1000, service: "sts", region: "eu-west-1" } },
          ],
        },
      ],
    });
    const [header, root, user, end] = csv.split("\n");
    expect(header).toBe(CREDENTIAL_REPORT_COLUMNS.join(","));
    expect(CREDENTIAL_REPORT_COLUMNS).toHaveLength(22);
    expect(root).toBe(
      "<root_account>,arn:aws:iam::123456789012:root,2026-01-02T03:04:05+00:00,not_supported,N/A,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    );
    expect(user).toBe(
      '"a,b","arn:aws:iam::123456789012:user/a,b",2026-01-02T03:04:05+00:00,true,no_information,2026-01-02T03:04:05+00:00,N/A,false,true,2026-01-02T03:04:05+00:00,2026-01-02T03:04:06+00:00,eu-west-1,sts,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
    );
    expect(end).toBe("");
  });
});
