// Helpers shared by the conformance case files.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import {
  run,
} from '../util.js';

export type Case = (root: string) => Promise<unknown>;
export type Rec = Record<string, unknown>;

export const C = fs.constants;
export const GiB = 2 ** 30;

export const hex = (b: Buffer): string => b.toString('hex');
export const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

export function preadHex(fd: number, len: number, pos: number): string {
  const b = Buffer.alloc(len);
  const n = fs.readSync(fd, b, 0, len, pos);
  return hex(b.subarray(0, n));
}

/** Runs a tool with cwd=root; returns its exit code and stderr with root paths removed. */
export async function tool(root: string, cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const r = await run(cmd, args, { cwd: root });
  return { code: r.code, stderr: r.stderr.split(root).join('<root>').trim() };
}

/** A deterministic byte pattern. */
export function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

// ---------------------------------------------------------------------------

