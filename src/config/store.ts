// The live configuration: one frozen Config snapshot at a time, read and
// changed through runtime control (mergerfs's /.mergerfs, reference §3.9;
// ours is /.braidfs with `user.braidfs.<option>` xattrs).
//
// A change never edits a snapshot: set() builds a new one from a copy and
// swaps it in, so a request that started with the old one finishes with it
// (mergerfs swaps branch lists the same way). Errors are FsErrors with the
// errnos mergerfs gives: unknown option ENODATA (ENOATTR on Linux), a
// mount-only option EROFS, a bad value EINVAL.
import { Errno, FsError } from '../sys/errno.js';
import { applyNamed, findOption, listedOptions, LIVE, UnknownOptionError, ReadOnlyOptionError, OptionError, type Config } from './options.js';

export { readConfigFile, parseConfigText } from './config-file.js';

/** The hidden control file at the root of the mount. */
export const CONTROL_FILE = '.braidfs';
/** The namespace of option and query xattrs. */
export const XATTR_PREFIX = 'user.braidfs.';
/**
 * Per-path queries, answered by getxattr on any path in the mount (not
 * listed, read-only): the branch root holding it (basepath), the path
 * inside the mount (relpath), basepath + relpath (fullpath), and every
 * branch copy (allpaths, NUL-separated).
 */
export const PATH_KEYS = ['basepath', 'relpath', 'fullpath', 'allpaths'] as const;
export type PathKey = (typeof PATH_KEYS)[number];

/** The key of a `user.braidfs.` xattr name, or undefined for any other xattr. */
export function controlKey(xattrName: string): string | undefined {
  return xattrName.startsWith(XATTR_PREFIX) && xattrName.length > XATTR_PREFIX.length ? xattrName.slice(XATTR_PREFIX.length) : undefined;
}

export function isPathKey(key: string): key is PathKey {
  return (PATH_KEYS as readonly string[]).includes(key);
}

export type ChangeListener = (config: Readonly<Config>, name: string) => void;

/** Freezes a config and everything in it (branch specs, overrides, lists). */
export function freezeConfig(c: Config): Readonly<Config> {
  for (const b of c.branches) Object.freeze(b);
  for (const o of c.funcOverrides) Object.freeze(o);
  Object.freeze(c.branches);
  Object.freeze(c.funcOverrides);
  Object.freeze(c.ignored);
  return Object.freeze(c);
}

export class ConfigStore {
  #current: Readonly<Config>;
  readonly #listeners = new Set<ChangeListener>();

  /** Takes a copy of `initial`, frozen. */
  constructor(initial: Readonly<Config>) {
    this.#current = freezeConfig({ ...initial });
  }

  /** The snapshot in force; hand it to a request and let it keep it. */
  get current(): Readonly<Config> {
    return this.#current;
  }

  /** The option names shown as `user.braidfs.<name>`, canonical spelling, in table order. */
  list(): string[] {
    return listedOptions();
  }

  /** The `user.braidfs.` xattr names of list(). */
  xattrNames(): string[] {
    return this.list().map((n) => XATTR_PREFIX + n);
  }

  /** The current value of an option, as getxattr shows it. ENODATA for an unknown or unshown option. */
  get(name: string): string {
    const spec = findOption(name);
    if (spec?.format === undefined) throw new FsError(Errno.ENODATA, 'getxattr', name);
    return spec.format(this.#current);
  }

  /**
   * Sets an option without remounting: validates, publishes a new snapshot,
   * then tells every listener (config, canonical option name). Throws
   * FsError ENODATA (unknown), EROFS (mount-only) or EINVAL (bad value; the
   * OptionError explaining why is its `cause`); nothing changes then.
   */
  set(name: string, value: string): void {
    const spec = findOption(name);
    const canonical = spec?.names[0] ?? name;
    const draft: Config = { ...this.#current };
    try {
      applyNamed(draft, name, value, LIVE);
    } catch (e) {
      const errno = e instanceof UnknownOptionError ? Errno.ENODATA : e instanceof ReadOnlyOptionError ? Errno.EROFS : e instanceof OptionError ? Errno.EINVAL : undefined;
      if (errno === undefined) throw e;
      const err = new FsError(errno, 'setxattr', name);
      err.cause = e;
      throw err;
    }
    const next = freezeConfig(draft);
    this.#current = next;
    let failure: unknown;
    for (const l of [...this.#listeners]) {
      try {
        l(next, canonical);
      } catch (e) {
        failure ??= e;
      }
    }
    // The change stands; a listener that failed is a bug to report, after the others have run.
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error('a config change listener threw a non-Error', { cause: failure });
  }

  /** Calls `listener(config, name)` after every successful set(); returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
