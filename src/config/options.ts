// The option table: the one source for the parser, --help and (later) the
// man page and runtime control. Each entry says how to read its value and
// what it defaults to; `-o` strings are split here and nowhere else.

export interface Config {
  passthroughIo: 'off' | 'ro' | 'wo' | 'rw';
  cacheEntry: number;
  cacheAttr: number;
  cacheNegativeEntry: number;
  allowOther: boolean;
  readOnly: boolean;
  nosuid: boolean;
  nodev: boolean;
  noexec: boolean;
  noatime: boolean;
  fsname: string | undefined;
  debug: boolean;
  maxWrite: number;
  syscalls: 'inline' | 'pool';
}

export const defaults: Config = {
  passthroughIo: 'rw',
  cacheEntry: 1,
  cacheAttr: 1,
  cacheNegativeEntry: 0,
  allowOther: true,
  readOnly: false,
  nosuid: true,
  nodev: true,
  noexec: false,
  noatime: false,
  fsname: undefined,
  debug: false,
  maxWrite: 1024 * 1024,
  syscalls: 'inline',
};

interface OptionSpec {
  readonly names: readonly string[];
  readonly doc: string;
  readonly value: string; // shown in --help, e.g. "off|ro|wo|rw"
  apply(c: Config, v: string | undefined, name: string): void;
}

export class OptionError extends Error {}

function seconds(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n) || n < 0) throw new OptionError(`option ${name} wants a number of seconds >= 0, not '${v ?? ''}'`);
  return n;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T {
  if (v !== undefined && (allowed as readonly string[]).includes(v)) return v as T;
  throw new OptionError(`option ${name} wants one of ${allowed.join('|')}, not '${v ?? ''}'`);
}

function noValue(name: string, v: string | undefined): void {
  if (v !== undefined) throw new OptionError(`option ${name} takes no value, not '${v}'`);
}

function flag(name: string, v: string | undefined): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new OptionError(`option ${name} wants true|false, not '${v}'`);
}

export const optionTable: readonly OptionSpec[] = [
  {
    names: ['passthrough.io', 'passthrough'],
    value: 'off|ro|wo|rw',
    doc: 'which opens use FUSE passthrough (kernel >= 6.9, root only); default rw',
    apply: (c, v, n) => (c.passthroughIo = oneOf(n, v, ['off', 'ro', 'wo', 'rw'] as const)),
  },
  {
    names: ['syscalls'],
    value: 'inline|pool',
    doc: 'where branch metadata syscalls run: inline on the event loop (fastest on local disks), or on the thread pool (a slow or remote branch cannot stall other requests); default inline',
    apply: (c, v, n) => (c.syscalls = oneOf(n, v, ['inline', 'pool'] as const)),
  },
  { names: ['cache.entry', 'entry_timeout'], value: 'SECONDS', doc: 'how long the kernel caches names; default 1', apply: (c, v, n) => (c.cacheEntry = seconds(n, v)) },
  { names: ['cache.attr', 'attr_timeout'], value: 'SECONDS', doc: 'how long the kernel caches attributes; default 1', apply: (c, v, n) => (c.cacheAttr = seconds(n, v)) },
  {
    names: ['cache.negative_entry', 'negative_timeout'],
    value: 'SECONDS',
    doc: 'how long the kernel caches missing names; default 0',
    apply: (c, v, n) => (c.cacheNegativeEntry = seconds(n, v)),
  },
  { names: ['allow_other'], value: '', doc: 'let every user use the mount (default when root)', apply: (c, v, n) => (c.allowOther = flag(n, v)) },
  { names: ['fsname'], value: 'NAME', doc: 'the name shown as the mount source', apply: (c, v) => (c.fsname = v ?? '') },
  { names: ['debug'], value: '', doc: 'trace every request and reply (same as -d)', apply: (c, v, n) => (c.debug = flag(n, v)) },
  { names: ['ro'], value: '', doc: 'mount read-only', apply: (c, v, n) => (c.readOnly = flag(n, v)) },
  { names: ['rw'], value: '', doc: 'mount read-write (the default)', apply: (c, v, n) => (c.readOnly = !flag(n, v)) },
  { names: ['suid'], value: '', doc: 'honour setuid bits (default nosuid)', apply: (c, v, n) => (c.nosuid = !flag(n, v)) },
  { names: ['nosuid'], value: '', doc: 'ignore setuid bits (default)', apply: (c, v, n) => (c.nosuid = flag(n, v)) },
  { names: ['dev'], value: '', doc: 'allow device files to be opened (default nodev)', apply: (c, v, n) => (c.nodev = !flag(n, v)) },
  { names: ['nodev'], value: '', doc: 'refuse to open device files (default)', apply: (c, v, n) => (c.nodev = flag(n, v)) },
  { names: ['exec'], value: '', doc: 'allow execution (default)', apply: (c, v, n) => (c.noexec = !flag(n, v)) },
  { names: ['noexec'], value: '', doc: 'refuse execution', apply: (c, v, n) => (c.noexec = flag(n, v)) },
  { names: ['noatime'], value: '', doc: 'do not update access times', apply: (c, v, n) => (c.noatime = flag(n, v)) },
  { names: ['atime', 'relatime'], value: '', doc: 'update access times (default)', apply: (c, v, n) => (c.noatime = !flag(n, v)) },
  { names: ['default_permissions'], value: '', doc: 'always on: the kernel checks permissions', apply: (_c, v, n) => void noValue(n, v) },
  { names: ['defaults'], value: '', doc: 'fstab placeholder, ignored', apply: (_c, v, n) => void noValue(n, v) },
];

const byName = new Map<string, OptionSpec>();
for (const spec of optionTable) for (const n of spec.names) byName.set(n, spec);

/** Splits an -o string on commas, honouring `\,` escapes. */
export function splitOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i]!;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out.filter((o) => o.length > 0);
}

export function applyOption(c: Config, opt: string): void {
  const eq = opt.indexOf('=');
  const name = eq < 0 ? opt : opt.slice(0, eq);
  const value = eq < 0 ? undefined : opt.slice(eq + 1);
  const spec = byName.get(name);
  if (!spec) throw new OptionError(`unknown option '${name}' (see braidfs --help)`);
  spec.apply(c, value, name);
}

export function helpText(): string {
  return optionTable
    .map((s) => {
      const aliases = s.names.length > 1 ? ` (also: ${s.names.slice(1).join(', ')})` : '';
      return `    -o ${s.names[0]}${s.value ? `=${s.value}` : ''}${aliases}\n        ${s.doc}`;
    })
    .join('\n');
}
