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
