/** Who signed a call, once the signature checked out. */
export type Caller =
  | { readonly kind: "operator"; readonly accessKeyId: string; readonly arn: string }
  | { readonly kind: "root"; readonly accessKeyId: string; readonly accountId: string; readonly arn: string }
  | {
      readonly kind: "user";
      readonly accessKeyId: string;
      readonly accountId: string;
      readonly arn: string;
      readonly userId: string;
      readonly userName: string;
    };
