// Installing this checkout system-wide for tests that go through mount(8)
// (which runs helpers with a standard PATH). Several test files need the
// install at once (AVA runs files in parallel), so holders register under
// INSTALL_STATE while holding a flock: the first one installs (if nothing is
// there), the last one out uninstalls (if a test installed it). A real
// install (a file, or a link elsewhere) is never touched.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './mount.js';

const INSTALL_STATE = join(tmpdir(), 'braidfs-test-install.d');
const INSTALL_LOCK = `${INSTALL_STATE}.lock`;
export const ACQUIRE = `
set -eu
here=$1 state=$2 holder=$3
mkdir -p "$state"
need=0
man=/usr/local/share/man
for pair in "/usr/local/bin/braidfs:$here/bin/braidfs" "/sbin/mount.braidfs:$here/bin/mount.braidfs" "$man/man1/braidfs.1:$here/man/braidfs.1" "$man/man7/braidfs-policies.7:$here/man/braidfs-policies.7"; do
  link=\${pair%%:*} target=\${pair#*:}
  if [ -L "$link" ]; then
    if [ "$(readlink "$link")" != "$target" ]; then
      echo "$link is a link to $(readlink "$link"), not into this checkout ($here): another braidfs is installed"; exit 3
    fi
  elif [ -e "$link" ]; then
    echo "$link exists and is not a link into this checkout ($here): another braidfs is installed"; exit 3
  elif [ -e "$target" ]; then
    need=1
  fi
done
if [ "$need" = 1 ]; then
  PREFIX=/usr/local SBIN=/sbin "$here/scripts/install.sh" >/dev/null
  : > "$state/installed"
fi
: > "$state/$holder"
`;
export const RELEASE = `
set -eu
here=$1 state=$2 holder=$3
rm -f "$state/$holder"
for f in "$state"/*; do
  name=\${f##*/}
  case "$name" in installed|'*') continue ;; esac
  if kill -0 "$name" 2>/dev/null; then exit 0; fi   # another test process still needs it
  rm -f "$f"
done
if [ -e "$state/installed" ]; then
  PREFIX=/usr/local SBIN=/sbin "$here/scripts/install.sh" --uninstall >/dev/null
  rm -f "$state/installed"
fi
`;

export function installStep(script: string): { ok: boolean; message: string } {
  const r = spawnSync('flock', ['-w', '60', INSTALL_LOCK, 'sh', '-c', script, 'sh', repoRoot, INSTALL_STATE, String(process.pid)], { encoding: 'utf8' });
  return { ok: r.status === 0, message: `${r.stdout}${r.stderr}`.trim() || `exit ${r.status ?? r.signal}` };
}

