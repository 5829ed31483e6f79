// braidfs ctl MOUNTPOINT list | get NAME | set NAME VALUE | where PATH
//
// A thin client of runtime control: every option is the xattr
// `user.braidfs.<NAME>` of MOUNTPOINT/.braidfs, and `where` reads the
// per-path query xattrs of a file in the mount. The xattr calls go through
// the daemon's own native addon (node:fs has none), loaded only when a
// command actually runs, so argument handling is testable without it.
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { CONTROL_FILE, PATH_KEYS, XATTR_PREFIX, controlKey } from '../config/store.js';

export const CTL_USAGE = `usage: braidfs ctl MOUNTPOINT COMMAND

  list              every option and its current value, one NAME=VALUE a line
  get NAME          the current value of option NAME
  set NAME VALUE    change option NAME without remounting
  where PATH        which branch holds PATH (relative PATHs are taken inside MOUNTPOINT):
                    its basepath, relpath, fullpath, and every copy (allpaths)

Options are the xattrs ${XATTR_PREFIX}NAME of MOUNTPOINT/${CONTROL_FILE}; NAME may be
given with or without that prefix, with '_' or '-'. See braidfs --help.
`;

export type CtlCommand =
  | { kind: 'help' }
  | { kind: 'list'; mountpoint: string }
  | { kind: 'get'; mountpoint: string; name: string }
  | { kind: 'set'; mountpoint: string; name: string; value: string }
  | { kind: 'where'; mountpoint: string; path: string };

export class CtlUsageError extends Error {}

/** The xattr calls ctl needs; paths are absolute, values bytes. Errors carry a Node-style `code`. */
export interface XattrIo {
  get(path: string, name: string): Promise<Buffer>;
  set(path: string, name: string, value: Buffer): Promise<void>;
  list(path: string): Promise<string[]>;
}

export interface CtlDeps {
  xattr: XattrIo;
  out(text: string): void;
  err(text: string): void;
  cwd(): string;
}

/** Option names as the user may type them: `cache.files`, `user.braidfs.cache.files`. */
function optionName(s: string): string {
  const name = s.startsWith(XATTR_PREFIX) ? s.slice(XATTR_PREFIX.length) : s;
  if (name === '') throw new CtlUsageError(`'${s}' is not an option name`);
  return name;
}

/** argv after `ctl`. Throws CtlUsageError with one line on anything malformed. */
export function parseCtlArgs(argv: readonly string[]): CtlCommand {
  if (argv.some((a) => a === '-h' || a === '--help') || argv.length === 0) {
    if (argv.length === 0) throw new CtlUsageError('missing MOUNTPOINT and COMMAND');
    return { kind: 'help' };
  }
  const [mountpoint, cmd, ...rest] = argv as [string, string | undefined, ...string[]];
  if (mountpoint === '') throw new CtlUsageError('MOUNTPOINT is empty');
  const want = (n: number, what: string): void => {
    if (rest.length !== n) throw new CtlUsageError(`'${cmd ?? ''}' takes ${what}, got ${rest.length} argument(s)`);
  };
  switch (cmd) {
    case undefined:
      throw new CtlUsageError('missing COMMAND (list, get, set or where)');
    case 'list':
      want(0, 'no arguments');
      return { kind: 'list', mountpoint };
    case 'get':
      want(1, 'NAME');
      return { kind: 'get', mountpoint, name: optionName(rest[0]!) };
    case 'set':
      want(2, 'NAME VALUE');
      return { kind: 'set', mountpoint, name: optionName(rest[0]!), value: rest[1]! };
    case 'where':
      want(1, 'PATH');
      if (rest[0] === '') throw new CtlUsageError('PATH is empty');
      return { kind: 'where', mountpoint, path: rest[0]! };
    default:
      throw new CtlUsageError(`unknown command '${cmd}' (list, get, set or where)`);
  }
}

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One line saying what went wrong, in the terms of the command. */
export function explain(cmd: CtlCommand, e: unknown): string {
  const code = codeOf(e);
  const mp = 'mountpoint' in cmd ? cmd.mountpoint : '';
  const notMount = `'${mp}' is not a braidfs mount (no ${CONTROL_FILE}), or runtime control is off (xattr=nosys)`;
  switch (code ?? '') {
    case 'ENOENT':
      return cmd.kind === 'where' ? `'${cmd.path}': no such file in the mount` : notMount;
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
    case 'ENOSYS':
      return notMount;
    case 'ENODATA':
      if (cmd.kind === 'where') return `'${cmd.path}' is not in a braidfs mount`;
      return cmd.kind === 'get' || cmd.kind === 'set' ? `unknown option '${cmd.name}' (braidfs ctl ${mp} list shows them)` : notMount;
    case 'EROFS':
      return cmd.kind === 'set' ? `option '${cmd.name}' can only be set at mount time` : `read-only: ${code}`;
    case 'EINVAL':
      return cmd.kind === 'set' ? `invalid value '${cmd.value}' for option '${cmd.name}' (braidfs --help shows the allowed values)` : `invalid argument (${code})`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})${cmd.kind === 'set' ? '; changing options needs write access to the control file, usually root' : ''}`;
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

async function execute(cmd: Exclude<CtlCommand, { kind: 'help' }>, d: CtlDeps): Promise<void> {
  const mountpoint = resolve(d.cwd(), cmd.mountpoint);
  const control = `${mountpoint}/${CONTROL_FILE}`;
  switch (cmd.kind) {
    case 'list': {
      const lines: string[] = [];
      for (const attr of await d.xattr.list(control)) {
        const key = controlKey(attr);
        if (key === undefined) continue;
        lines.push(`${key}=${(await d.xattr.get(control, attr)).toString('utf8')}`);
      }
      // A .braidfs that lists no options is some other file of that name.
      if (lines.length === 0) throw Object.assign(new Error('no options listed'), { code: 'ENODATA' });
      d.out(lines.map((l) => `${l}\n`).join(''));
      return;
    }
    case 'get':
      d.out(`${(await d.xattr.get(control, XATTR_PREFIX + cmd.name)).toString('utf8')}\n`);
      return;
    case 'set':
      await d.xattr.set(control, XATTR_PREFIX + cmd.name, Buffer.from(cmd.value, 'utf8'));
      return;
    case 'where': {
      const path = isAbsolute(cmd.path) ? cmd.path : resolve(mountpoint, cmd.path);
      const lines: string[] = [];
      for (const key of PATH_KEYS) {
        const raw = (await d.xattr.get(path, XATTR_PREFIX + key)).toString('utf8');
        const values = key === 'allpaths' ? raw.split('\0').filter((p) => p !== '') : [raw];
        for (const v of values) lines.push(`${key}: ${v}`);
      }
      d.out(lines.map((l) => `${l}\n`).join(''));
      return;
    }
  }
}

/** Real xattr syscalls through the native addon; symlinks are not followed (the entry itself is asked about). */
async function nativeXattr(): Promise<XattrIo> {
  const sys = await import('../sys/fs.js');
  const XATTR_MAX = 64 * 1024; // XATTR_SIZE_MAX and XATTR_LIST_MAX on Linux
  const at = async <T>(path: string, fn: (dir: number, name: Buffer) => Promise<T>): Promise<T> => {
    const dir = sys.openPath(Buffer.from(dirname(path)));
    try {
      return await fn(dir, Buffer.from(basename(path)));
    } finally {
      sys.closeQuietly(dir);
    }
  };
  const asBuffer = (r: Buffer | number): Buffer => (typeof r === 'number' ? Buffer.alloc(0) : r);
  return {
    get: (path, name) => at(path, async (dir, base) => asBuffer(await sys.lgetxattr(dir, base, Buffer.from(name), XATTR_MAX))),
    set: (path, name, value) => at(path, (dir, base) => sys.lsetxattr(dir, base, Buffer.from(name), value, 0)),
    list: (path) =>
      at(path, async (dir, base) =>
        asBuffer(await sys.llistxattr(dir, base, XATTR_MAX))
          .toString('utf8')
          .split('\0')
          .filter((n) => n !== ''),
      ),
  };
}

/**
 * Runs `braidfs ctl ARGS…` (argv is what follows `ctl`). Returns the exit
 * status: 0 done, 1 the mount said no (one line on stderr), 2 bad usage.
 */
export async function runCtl(argv: string[], deps: Partial<CtlDeps> = {}): Promise<number> {
  const d: Omit<CtlDeps, 'xattr'> & { xattr: XattrIo | undefined } = {
    xattr: deps.xattr,
    out: deps.out ?? ((t) => void process.stdout.write(t)),
    err: deps.err ?? ((t) => void process.stderr.write(t)),
    cwd: deps.cwd ?? (() => process.cwd()),
  };
  let cmd: CtlCommand;
  try {
    cmd = parseCtlArgs(argv);
  } catch (e) {
    if (!(e instanceof CtlUsageError)) throw e;
    d.err(`braidfs ctl: ${e.message} (see braidfs ctl --help)\n`);
    return 2;
  }
  if (cmd.kind === 'help') {
    d.out(CTL_USAGE);
    return 0;
  }
  try {
    await execute(cmd, { ...d, xattr: d.xattr ?? (await nativeXattr()) });
    return 0;
  } catch (e) {
    d.err(`braidfs ctl: ${explain(cmd, e)}\n`);
    return 1;
  }
}
