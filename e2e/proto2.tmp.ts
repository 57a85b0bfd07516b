import { demoCommand } from "../src/cli/demo.ts";
const io = {
  out: (l: string) => process.stdout.write(l + "\n"),
  err: (l: string) => process.stderr.write(l + "\n"),
};
const t = Date.now();
const code = await demoCommand(process.argv.slice(2), io);
console.log("exit", code, Date.now() - t, "ms");
