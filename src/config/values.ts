// Readers for option values, shared by every entry of the option table.
// Each takes the option name as the user wrote it (for the message) and the
// value (undefined when the option was given without `=`), and either returns
// the parsed value or throws an OptionError naming the option and what it
// accepts. None of them has side effects, so a failed option changes nothing.
import { parseSize } from '../union/size.js';

/** A bad option or value: the one error type of the option layer (mount fails, setxattr says EINVAL). */
export class OptionError extends Error {
  override readonly name: string = 'OptionError';
}

/** No option has that name (runtime control answers ENODATA, mergerfs's ENOATTR). */
export class UnknownOptionError extends OptionError {
  override readonly name: string = 'UnknownOptionError';
}

/** The option exists but can only be given at mount time (runtime control answers EROFS). */
export class ReadOnlyOptionError extends OptionError {
  override readonly name: string = 'ReadOnlyOptionError';
}

/** `list` plus `name` once: the options that were accepted but mean nothing to braidfs, for the caller to log. */
export function withIgnored(list: readonly string[], name: string): readonly string[] {
  return list.includes(name) ? list : [...list, name];
}

/**
 * The spelling option names are looked up by. mergerfs rewrites `_` to `-`
 * in every key before looking it up (src/config.cpp), so `cache.negative_entry`,
 * `statfs_ignore` and `use_ino` are `cache.negative-entry`, `statfs-ignore`
 * and `use-ino`.
 */
export function normalizeName(name: string): string {
  return name.replace(/_/g, '-');
}

const TRUE = ['true', 't', '1', 'on', 'yes'];
const FALSE = ['false', 'f', '0', 'off', 'no'];

/**
 * A boolean as mergerfs reads it (src/from_string.cpp: true|t|1|on|yes and
 * false|f|0|off|no); no value at all means true (`-o allow_other`).
 */
export function bool(name: string, v: string | undefined): boolean {
  if (v === undefined || TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new OptionError(`option ${name} wants true|false (also 1|0, yes|no, on|off, t|f), not '${v}'`);
}

/** A number of seconds >= 0; fractions are fine (mergerfs takes whole seconds only, a subset). */
export function seconds(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !/^\s*\d*\.?\d+(e[+-]?\d+)?\s*$/i.test(v) || !Number.isFinite(n) || n < 0) {
    throw new OptionError(`option ${name} wants a number of seconds >= 0, not '${v ?? ''}'`);
  }
  return n;
}

/** A base-10 integer in [min, max]. */
export function integer(name: string, v: string | undefined, min: number, max: number): number {
  if (v === undefined || !/^[-+]?\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min || Number(v) > max) {
    throw new OptionError(`option ${name} wants an integer from ${min} to ${max}, not '${v ?? ''}'`);
  }
  return Number(v);
}

/** One of a fixed set of words, case-sensitive as in mergerfs. */
export function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T {
  if (v !== undefined && (allowed as readonly string[]).includes(v)) return v as T;
  throw new OptionError(`option ${name} wants one of ${allowed.join('|')}, not '${v ?? ''}'`);
}

/** A byte count such as 4G (parseSize: B/K/M/G/T, powers of 1024). */
export function size(name: string, v: string | undefined): number {
  if (v === undefined) throw new OptionError(`option ${name} wants a size such as 4G, 512M or 1024`);
  try {
    return parseSize(v);
  } catch (e) {
    throw new OptionError(`option ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Any string, but there must be one (`fsname=` with an empty value is allowed; a bare `fsname` is not). */
export function text(name: string, v: string | undefined, what = 'a value'): string {
  if (v === undefined) throw new OptionError(`option ${name} wants ${what}`);
  return v;
}

/** For options that take no value at all. */
export function noValue(name: string, v: string | undefined): void {
  if (v !== undefined) throw new OptionError(`option ${name} takes no value, not '${v}'`);
}

/**
 * fnmatch(3) with flags 0, as mergerfs uses to remove branches
 * (`branches=-/mnt/old*`): `*` and `?` match any character including `/`,
 * `[...]` is a class (`[!...]` negated), a backslash quotes the next character.
 */
export function fnmatch(pattern: string, s: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[\\s\\S]*';
    else if (ch === '?') re += '[\\s\\S]';
    else if (ch === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (c) => `\\${c}`)}]`;
      i = end;
    } else re += escapeRe(ch);
  }
  return new RegExp(`${re}$`).test(s);
}

function escapeRe(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/-]/g, (c) => `\\${c}`);
}
