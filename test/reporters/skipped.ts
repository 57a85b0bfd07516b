/**
 * A vitest reporter that ends the run with every skipped test by name, with its reason: the note
 * given to ctx.skip(note), else the "(skipped: ...)" its suite's or its own name carries (how the
 * suites here say why they skip: no kubectl, not root, no Docker...). The default reporter shows
 * only "N skipped".
 */
import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

export interface Skipped {
  readonly file: string;
  /** The test's name with its suites', "suite > test". */
  readonly name: string;
  readonly note: string | undefined;
}

/** The reason a skipped test shows. */
export function reasonOf(skipped: Skipped): string {
  if (skipped.note !== undefined && skipped.note !== "") return skipped.note;
  // The innermost suite or test name that says "skipped: why" ("k3s backend skipped: no Docker
  // engine at ...", "kubectl and the CRD (skipped: needs the real kubectl ...)").
  for (const part of skipped.name.split(" > ").reverse()) {
    const at = part.indexOf("skipped: ");
    if (at < 0) continue;
    const why = part.slice(at + "skipped: ".length).trim();
    const opened = part.lastIndexOf("(", at) > part.lastIndexOf(")", at);
    return opened && why.endsWith(")") ? why.slice(0, -1) : why;
  }
  return "no reason given (skipped in the test file)";
}

/** The lines printed after the run: nothing when nothing was skipped. */
export function formatSkipped(all: readonly Skipped[]): string[] {
  if (all.length === 0) return [];
  return [
    "",
    `Skipped (${String(all.length)}):`,
    ...all.map(s => `  ${s.file} > ${s.name}: ${reasonOf(s)}`),
  ];
}

export default class SkippedReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const skipped: Skipped[] = [];
    for (const module of testModules)
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== "skipped" || test.options.mode === "todo") continue;
        skipped.push({
          file: relative(process.cwd(), module.moduleId),
          name: test.fullName,
          note: result.note,
        });
      }
    for (const line of formatSkipped(skipped)) process.stdout.write(`${line}\n`);
  }
}
