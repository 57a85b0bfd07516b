/** What a command prints, captured: the `io` a command takes, and the lines it wrote to each stream. */
export interface Captured {
  io: { out: (l: string) => void; err: (l: string) => void };
  out: string[];
  err: string[];
}

export function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: l => out.push(l), err: l => err.push(l) }, out, err };
}
