/** Where a command writes: injected so commands are tested without touching the process. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}
