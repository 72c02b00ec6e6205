import { Argument, type Command } from "commander";
import type { CliIo } from "../client.ts";
import { loadCommandTree } from "../lazy-group.ts";

/** Every command path (`iam create-user`) with the words that may follow it: sub-commands and flags. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (command: Command, path: string[], inherited: string[]) => {
    const own = command.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined);
    const flags = [...own, ...inherited];
    // `help` is Commander's own (not in `commands`) in every group but the program, where
    // lazy-group.ts adds one that loads the group first: left out of the script everywhere alike.
    const subs = command.commands.filter((c) => c.name() !== "help");
    table.set(path.join(" "), [...subs.map((c) => c.name()), ...flags].sort());
    for (const sub of subs) walk(sub, [...path, sub.name()], path.length === 0 ? own : inherited);
  };
  walk(program, [], []);
  return table;
}

/**
 * A bash completion script for the command tree: the words typed so far that name a command path
 * select what may follow (sub-commands, then flags; the global flags everywhere).
 */
export function bashCompletion(program: Command): string {
  const table = completionTable(program);
  const key = (path: string) => (path === "" ? "_" : path.replaceAll(" ", "_"));
  const cases = [...table]
    .map(([path, words]) => `    ${key(path)}) words=${JSON.stringify(words.join(" "))} ;;`)
    .join("\n");
  const known = [...table.keys()].map(key).join(" ");
  return `# gatehouse bash completion: source this file, or put it in /etc/bash_completion.d/
_gatehouse() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="_" next w words
  local known=" ${known} "
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    if [[ "$path" == "_" ]]; then next="$w"; else next="\${path}_$w"; fi
    [[ "$known" == *" $next "* ]] && path="$next"
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _gatehouse gatehouse
`;
}

/** `gatehouse completion bash|zsh`: prints a completion script (zsh through bashcompinit). */
export function registerCompletion(program: Command, io: CliIo): void {
  program
    .command("completion")
    .description('Print a shell completion script: eval "$(gatehouse completion bash)"')
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .action(async (shell: string) => {
      // The script lists every group's commands and flags: register the groups not loaded yet.
      const script = bashCompletion(await loadCommandTree(program));
      io.write(
        shell === "zsh"
          ? `autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${script}`
          : script,
      );
    });
}
