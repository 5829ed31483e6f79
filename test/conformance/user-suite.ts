// Registers the unprivileged parity tests (user-cases.ts) for one set of
// mount options: each case runs as uid/gid 65534 (via setpriv + run-case.js)
// on a plain directory and inside the mount (default_permissions +
// allow_other); setup and check run as root.
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { normalise, selectedNames, setupSides } from './suite.js';
import { UNPRIV, userCases } from './user-cases.js';
import { run } from './util.js';

const runCaseJs = resolve(fileURLToPath(import.meta.url), '..', 'run-case.js');

async function runAsUser(name: string, root: string, groups: number[] | undefined): Promise<unknown> {
  const args = [`--reuid=${UNPRIV}`, `--regid=${UNPRIV}`, groups?.length ? `--groups=${groups.join(',')}` : '--clear-groups', process.execPath, runCaseJs, name, root];
  const r = await run('setpriv', args, { timeoutMs: 60_000 });
  if (r.code !== 0 || r.timedOut) throw new Error(`run-case ${name} as ${UNPRIV} failed (code ${r.code}, timedOut ${r.timedOut}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null') as unknown;
}

/** One serial test per user case (or per case in `only`), on fresh directories of the mount and of a plain directory. */
export function registerUserTests(mountOptions: string[], label: string, only?: readonly string[]): void {
  const state = setupSides(mountOptions);
  const names = Object.keys(userCases).filter((n) => !only || only.includes(n));
  for (const [i, name] of selectedNames(names).entries()) {
    test.serial(`unprivileged${label}: ${name}`, async (t) => {
      t.timeout(120_000);
      const uc = userCases[name]!;
      const dirName = `u${String(i).padStart(2, '0')}-${name}`;
      const once = async (base: string): Promise<unknown> => {
        const root = join(base, dirName);
        fs.mkdirSync(root);
        fs.chmodSync(root, 0o755);
        await uc.setup(root);
        const asUser = await runAsUser(name, root, uc.groups);
        const check = uc.check ? await uc.check(root) : null;
        return normalise({ asUser, check });
      };
      const expected = await once(state.plain);
      const actual = await once(state.mountRoot());
      if (!t.deepEqual(actual, expected, `${name}: braidfs (actual) differs from a plain directory (expected)`)) {
        t.log(state.daemonTail());
      }
    });
  }
}
