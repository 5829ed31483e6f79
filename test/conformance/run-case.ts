// CLI: node dist/test/conformance/run-case.js <caseName> <root>
// Runs one conformance case (root parity case or the `run` part of an
// unprivileged case) against <root> and prints its result as JSON on stdout.
// Used to execute cases as another user (setpriv) and for manual debugging.
import { cases } from './cases.js';
import { userCases } from './user-cases.js';

async function main(): Promise<number> {
  const [name, root] = process.argv.slice(2);
  if (name === undefined || root === undefined) {
    process.stderr.write('usage: run-case.js <caseName> <root>\n');
    process.stderr.write(`cases: ${Object.keys(cases).join(' ')}\n`);
    process.stderr.write(`user cases: ${Object.keys(userCases).join(' ')}\n`);
    return 2;
  }
  const fn = cases[name] ?? userCases[name]?.run;
  if (fn === undefined) {
    process.stderr.write(`unknown case: ${name}\n`);
    return 2;
  }
  const result = await fn(root);
  process.stdout.write(`${JSON.stringify(result ?? null)}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
