/** Where a command writes: injected so commands are tested without touching the process. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Resolves with the signal's name when the process receives SIGINT (Ctrl-C) or SIGTERM. */
export function untilSignal(): Promise<string> {
  return new Promise(resolve => {
    process.once("SIGINT", () => {
      resolve("SIGINT");
    });
    process.once("SIGTERM", () => {
      resolve("SIGTERM");
    });
  });
}

/**
 * Parses a command's flags the same way for every command: `--help` prints the usage (exit 0);
 * a bad flag prints one line naming it and a hint to --help (exit 2). Returns the parsed flags,
 * or the exit code when there is nothing more to do.
 */
/** An error message's first line: parsers (YAML, node:util) append excerpts and pointers. */
export function firstLine(message: string): string {
  return (message.split("\n").find(l => l.trim() !== "") ?? message).trim();
}

export function parseFlags<T>(
  command: string,
  usage: string,
  parse: () => T | "help",
  io: Io,
): T | { exitCode: number } {
  let parsed: T | "help";
  try {
    parsed = parse();
  } catch (error) {
    io.err(
      `rollback-drill ${command}: ${error instanceof Error ? firstLine(error.message) : String(error)} (see 'rollback-drill ${command} --help')`,
    );
    return { exitCode: 2 };
  }
  if (parsed === "help") {
    io.out(usage);
    return { exitCode: 0 };
  }
  return parsed;
}
