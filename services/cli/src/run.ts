import { CommanderError } from "commander";
import { createProgram } from "./program.ts";

// A reader that goes away early (`gatehouse policy evaluate | head`) is not an error of ours.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
});

try {
  await createProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has already printed the message (or the help/version text). It uses status 1
    // for usage errors; keep 1 for "the policy has errors" and use 2 for misuse, like grep does.
    process.exitCode = err.exitCode === 1 ? 2 : err.exitCode;
  } else {
    // Imported only now: errors.ts names the SDK's errors, and loading the SDK (gRPC, the
    // generated proto code) at every start would cost the commands that never use it.
    const { describeFailure } = await import("./errors.ts");
    const failure = describeFailure(err);
    process.stderr.write(failure.text);
    process.exitCode = failure.exitCode;
  }
}
