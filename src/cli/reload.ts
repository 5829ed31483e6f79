// SIGHUP: read the config file again and apply what can change while
// mounted, as a set through the runtime control would. An option that only
// takes effect at mount is reported, not silently dropped.
import { findOption } from '../config/options.js';
import type { ConfigStore } from '../config/store.js';
import { readConfigFile } from '../config/config-file.js';
import type { Logger } from '../sys/log.js';

/** The option's current value as text, or undefined for options that have none to show. */
function current(store: ConfigStore, name: string): string | undefined {
  try {
    return store.get(name);
  } catch {
    return undefined;
  }
}

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
    const name = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? 'true' : line.slice(eq + 1);
    const spec = findOption(name);
    if (!spec) {
      log.warn(`SIGHUP: ${file}: unknown option '${name}'`);
      continue;
    }
    const before = current(store, name);
    if (!spec.runtime) {
      if (before !== undefined && before !== value) log.warn(`SIGHUP: ${file}: ${name} changes only at mount; keeping ${name}=${before}`);
      continue;
    }
    try {
      store.set(name, value);
      if (current(store, name) !== before) changed++;
    } catch (e) {
      log.error(`SIGHUP: ${file}: ${line}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  log.info(`SIGHUP: read ${file} again; ${changed} option(s) changed`);
}
