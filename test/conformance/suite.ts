// Shared driver for the parity test files: one braidfs mount per test file,
// then every case runs on a plain directory and on a fresh directory inside
// the mount, and the normalised results must be deepEqual.
//
// Environment knobs (for debugging the suite itself):
//   CONFORMANCE_CASES=a,b      only run these cases
//   CONFORMANCE_SELFTEST=1     compare two plain directories (no mount); validates the cases
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { makeTempDir, mountBraidfs, type Mounted } from '../helpers/mount.js';
import { cases } from './cases.js';

export interface Side {
  /** A fresh directory for case `name` on this side. */
  dir(name: string): string;
}

export const selftest = process.env['CONFORMANCE_SELFTEST'] === '1';

export function selectedNames(all: readonly string[]): string[] {
  const only = process.env['CONFORMANCE_CASES'];
  if (!only) return [...all];
  const want = new Set(only.split(',').map((s) => s.trim()));
  return all.filter((n) => want.has(n));
}

/** JSON round trip, so both sides are compared as the JSON they would print. */
export function normalise(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null)) as unknown;
}

export function rmrf(p: string): void {
  // rm copes with trees deeper than PATH_MAX (the path-max case makes one).
  spawnSync('rm', ['-rf', '--one-file-system', p], { stdio: 'ignore' });
}

export interface SuiteState {
  plain: string;
  mount: Mounted | undefined;
  /** Directory standing in for the mount in self-test mode. */
  other: string | undefined;
  /** Where the "mount" side lives (mount root or the self-test dir). */
  mountRoot(): string;
  daemonTail(): string;
}

/**
 * Registers before/after.always hooks that create the plain base directory
 * and the mount (mode 0755 so unprivileged users can traverse both).
 */
export function setupSides(mountOptions: string[]): SuiteState {
  const state: SuiteState = {
    plain: '',
    mount: undefined,
    other: undefined,
    mountRoot() {
      if (this.other !== undefined) return this.other;
      if (this.mount === undefined) throw new Error('mount not available');
      return this.mount.mountpoint;
    },
    daemonTail() {
      if (!this.mount) return '';
      const status = this.mount.child.exitCode !== null || this.mount.child.signalCode !== null ? `daemon EXITED (code ${this.mount.child.exitCode}, signal ${this.mount.child.signalCode})\n` : '';
      return status + this.mount.log().slice(-3000);
    },
  };
  test.before(async () => {
    state.plain = makeTempDir('braidfs-plain-');
    fs.chmodSync(state.plain, 0o755);
    if (selftest) {
      state.other = makeTempDir('braidfs-plain2-');
      fs.chmodSync(state.other, 0o755);
    } else {
      state.mount = await mountBraidfs({ options: mountOptions, timeoutMs: 30_000 });
      // mkdtemp made the source 0700; open it up through the mount (SETATTR on the root)
      fs.chmodSync(state.mount.mountpoint, 0o755);
    }
  });
  test.after.always(async () => {
    if (state.mount) {
      await state.mount.unmount();
      // Mounted.unmount() tries rmSync(dir, {recursive: false}), which never removes a directory.
      try {
        fs.rmdirSync(state.mount.mountpoint);
      } catch {
        // still mounted or already gone
      }
      rmrf(state.mount.source);
    }
    if (state.other) rmrf(state.other);
    if (state.plain) rmrf(state.plain);
  });
  return state;
}

/** Registers one serial test per root parity case. */
/** One parity test per case (or per case in `only`), each on a fresh directory of the mount and of the plain side. */
export function registerParityTests(mountOptions: string[], label: string, only?: readonly string[]): void {
  const state = setupSides(mountOptions);
  const names = Object.keys(cases).filter((n) => !only || only.includes(n));
  for (const [i, name] of selectedNames(names).entries()) {
    test.serial(`parity${label}: ${name}`, async (t) => {
      t.timeout(120_000);
      const fn = cases[name]!;
      const dirName = `c${String(i).padStart(2, '0')}-${name}`;
      const plainDir = join(state.plain, dirName);
      const mountDir = join(state.mountRoot(), dirName);
      fs.mkdirSync(plainDir);
      fs.mkdirSync(mountDir);
      const expected = normalise(await fn(plainDir));
      const actual = normalise(await fn(mountDir));
      if (!t.deepEqual(actual, expected, `${name}: braidfs (actual) differs from a plain directory (expected)`)) {
        t.log(state.daemonTail());
      }
    });
  }
}
