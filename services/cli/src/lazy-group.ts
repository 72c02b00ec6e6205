import type { Command } from "commander";
import type { CliIo } from "./client.ts";

/** Adds a group's sub-commands: a command module's `registerX(group, io)`. */
export type RegisterGroup = (group: Command, io: CliIo) => void;

/** A command group whose sub-commands come from a module imported only when the group is used. */
export interface LazyGroup {
  readonly name: string;
  /** Shown by `gatehouse --help`, which therefore needs no module of the group. */
  readonly description: string;
  /** Imports the group's module(s) and returns what registers its sub-commands. */
  readonly load: () => Promise<RegisterGroup>;
}

/** Groups whose sub-commands are not registered yet, with what registers them. */
const pending = new WeakMap<Command, () => Promise<void>>();

/** Programs whose `preSubcommand` hook loads their lazy groups. */
const hooked = new WeakSet<Command>();

/**
 * Adds `group` to `program` with its name and description only. Its module is imported and its
 * sub-commands registered when Commander dispatches to it (a `preSubcommand` hook, so
 * `parseAsync` is needed, as for any async action), or by {@link loadCommandTree}.
 */
export function addLazyGroup(program: Command, io: CliIo, group: LazyGroup): void {
  const command = program.command(group.name).description(group.description);
  let loading: Promise<void> | undefined;
  pending.set(command, () => {
    loading ??= group.load().then((register) => {
      register(command, io);
      pending.delete(command);
    });
    return loading;
  });
  if (!hooked.has(program)) {
    hooked.add(program);
    program.hook("preSubcommand", async (_program, sub) => {
      await pending.get(sub)?.();
    });
  }
}

/**
 * Replaces Commander's implicit `help [command]` of `program` with one that loads the group
 * first: Commander prints `help iam` without dispatching to `iam`, so the hook above would not
 * run and the help would list no sub-commands. Same name, description and outcomes as Commander's
 * (`help` alone and `help <unknown>` print the program's help, the latter on stderr as an error).
 * Add it after the other commands: `--help` lists it last, as Commander lists its own.
 */
export function addLazyHelpCommand(program: Command): void {
  program.helpCommand(false);
  const help = program
    .command("help")
    .description("display help for command")
    .argument("[command]")
    // Commander's own ignores what follows the command's name (`help iam list-users`).
    .allowExcessArguments()
    .action(async (name: string | undefined) => {
      if (name === undefined) program.help();
      const command = program.commands.find((c) => c.name() === name && c !== help);
      if (command === undefined) program.help({ error: true });
      await pending.get(command)?.();
      command.help();
    });
}

/**
 * Registers the sub-commands of every group of `program` not loaded yet, for what needs the
 * whole tree (the completion script, tests that inspect it). Running a command loads its group
 * by itself.
 *
 * @example
 * const program = await loadCommandTree(createProgram());
 * program.commands.find((c) => c.name() === "iam")?.commands; // every `iam` operation
 */
export async function loadCommandTree(program: Command): Promise<Command> {
  for (const group of program.commands) await pending.get(group)?.();
  return program;
}
