import { describe, expect, it } from "vitest";
import { matchPath } from "../router.tsx";

describe("matchPath", () => {
  it("matches static and parameter segments", () => {
    expect(matchPath("/users", "/users")).toEqual({});
    expect(matchPath("/users/:name", "/users/alice%2Bbob")).toEqual({ name: "alice+bob" });
    expect(matchPath("/users/:name", "/users")).toBeUndefined();
    expect(matchPath("/users/:name", "/users/a/b")).toBeUndefined();
    expect(matchPath("/users", "/groups")).toBeUndefined();
  });

  it("takes the rest of the path for a * parameter", () => {
    expect(matchPath("/policies/*arn", "/policies/arn:aws:iam::123456789012:policy/team/Read")).toEqual({
      arn: "arn:aws:iam::123456789012:policy/team/Read",
    });
    expect(matchPath("/policies/*arn", "/policies")).toBeUndefined();
  });
});
