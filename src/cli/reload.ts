// SIGHUP: read the config file again and apply what can change while
// mounted, as a set through the runtime control would. An option whose new
// value would make a difference but only takes effect at mount is reported,
// never silently dropped; lines that change nothing are left alone (no
// re-applied branch lists, no "changed" lines for unchanged values).
import { applyNamed, findOption, type Config } from '../config/options.js';
import type { ConfigStore } from '../config/store.js';
import { readConfigFile } from '../config/config-file.js';
import type { Logger } from '../sys/log.js';

/** A comparable picture of a config (the ignored list aside: accepted-and-ignored options change nothing). */
const snapshot = (c: Readonly<Config>): string => JSON.stringify({ ...c, ignored: [] }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

export function reloadConfigFile(store: ConfigStore, file: string | undefined, log: Logger): void {
  if (file === undefined) {
    log.info('SIGHUP: no config file to read again (mount with -o config=FILE)');
    return;
  }
  let lines: string[];
  try {
    lines = readConfigFile(file);
  } catch (e) {
    log.error(`SIGHUP: cannot read '${file}': ${e instanceof Error ? e.message : String(e)}; keeping the current options`);
    return;
  }
  let changed = 0;
  for (const line of lines) {
    const eq = line.indexOf('=');
    const name = (eq < 0 ? line : line.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : line.slice(eq + 1).trim();
    const spec = findOption(name);
    if (!spec) {
      log.warn(`SIGHUP: ${file}: unknown option '${name}'`);
      continue;
    }
    // What would this line change? Applied to a copy of the current options.
    const draft: Config = { ...store.current };
    try {
      applyNamed(draft, name, value);
    } catch (e) {
      log.error(`SIGHUP: ${file}: ${line}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (snapshot(draft) === snapshot(store.current)) continue;
    if (!spec.runtime) {
      const cur = spec.format?.(store.current);
      log.warn(`SIGHUP: ${file}: ${name} changes only at mount; keeping ${cur === undefined ? 'the current value' : `${name}=${cur}`}`);
      continue;
    }
    try {
      store.set(name, value ?? 'true');
      changed++;
    } catch (e) {
      log.error(`SIGHUP: ${file}: ${line}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  log.info(`SIGHUP: read ${file} again; ${changed} option(s) changed`);
}
