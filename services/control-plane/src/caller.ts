import type { SessionClaims } from "@gatehouse/auth";

/**
 * Who signed a call, once the signature checked out. A call signed with temporary credentials
 * carries its session's claims (`session`): a user's or the root's (GetSessionToken) keep their
 * kind, an assumed role's is a `role-session`.
 */
export type Caller =
  | { readonly kind: "operator"; readonly accessKeyId: string; readonly arn: string }
  | {
      readonly kind: "root";
      readonly accessKeyId: string;
      readonly accountId: string;
      readonly arn: string;
      readonly session?: SessionClaims;
    }
  | {
      readonly kind: "user";
      readonly accessKeyId: string;
      readonly accountId: string;
      readonly arn: string;
      readonly userId: string;
      readonly userName: string;
      readonly session?: SessionClaims;
    }
  | {
      readonly kind: "role-session";
      readonly accessKeyId: string;
      readonly accountId: string;
      /** The session's ARN (`arn:…:sts::A:assumed-role/ROLE/SESSION`). */
      readonly arn: string;
      readonly roleArn: string;
      readonly roleId: string;
      readonly session: SessionClaims;
    };
