/**
 * A small parser of Prometheus' text exposition format (0.0.4), enough to check what /metrics
 * serves exactly: TYPE lines and samples with escaped label values. prom-client has no parser.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  // Prometheus parses floats as Go's ParseFloat: NaN in any case (prom-client writes "Nan").
  if (text.toLowerCase() === "nan") return NaN;
  const value = Number(text);
  if (text === "" || !Number.isFinite(value)) throw new Error(`bad sample value "${text}"`);
  return value;
}

/** Parses `{a="x",b="y\"z"}` starting at `at` (the brace); returns the labels and the end index. */
function parseLabels(line: string, at: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = at + 1;
  while (line[i] !== "}") {
    const eq = line.indexOf("=", i);
    const name = line.slice(i, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name in: ${line}`);
    if (line[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let value = "";
    let j = eq + 2;
    for (; line[j] !== '"'; j++) {
      if (j >= line.length) throw new Error(`unterminated label value in: ${line}`);
      if (line[j] === "\\") {
        j++;
        value += line[j] === "n" ? "\n" : (line[j] ?? "");
      } else value += line[j] ?? "";
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i++;
  }
  return { labels, end: i + 1 };
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type?.[1] !== undefined && type[2] !== undefined) types.set(type[1], type[2]);
      continue;
    }
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name === undefined) throw new Error(`bad sample line: ${line}`);
    let rest = name.length;
    let labels: Record<string, string> = {};
    if (line[rest] === "{") {
      const parsed = parseLabels(line, rest);
      labels = parsed.labels;
      rest = parsed.end;
    }
    const fields = line.slice(rest).trim().split(/\s+/);
    samples.push({ name, labels, value: parseValue(fields[0] ?? "") });
  }
  return { types, samples };
}

/** Samples of `name` whose labels include all of `labels`. */
export function samplesOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return exposition.samples.filter(
    s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The one sample of `name` with exactly these labels; throws when there is none or several. */
export function valueOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samplesOf(exposition, name, labels).filter(
    s => Object.keys(s.labels).length === Object.keys(labels).length,
  );
  if (found.length !== 1)
    throw new Error(
      `expected one ${name}${JSON.stringify(labels)}, found ${String(found.length)}: ${JSON.stringify(
        samplesOf(exposition, name),
      )}`,
    );
  return found[0]?.value ?? NaN;
}
