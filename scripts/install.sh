#!/bin/sh
# Makes this checkout the system's braidfs: links `braidfs` into PREFIX/bin
# (where mount.fuse3 finds it for `fuse.braidfs` fstab lines), the mount(8)
# helper into /sbin (for the type `braidfs`), and the man pages into
# PREFIX/share/man. Run `npm ci` first. Undo with `scripts/install.sh --uninstall`.
#   sudo scripts/install.sh [--uninstall]      PREFIX defaults to /usr/local
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}
sbin=${SBIN:-/sbin}
links="$prefix/bin/braidfs:$here/bin/braidfs
$sbin/mount.braidfs:$here/bin/mount.braidfs
$prefix/share/man/man1/braidfs.1:$here/man/braidfs.1
$prefix/share/man/man7/braidfs-policies.7:$here/man/braidfs-policies.7"
echo "$links" | while IFS=: read -r link target; do
  if [ "${1:-}" = --uninstall ]; then
    # only remove what points into this checkout
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then rm -f "$link"; echo "removed $link"; fi
    continue
  fi
  [ -e "$target" ] || continue
  mkdir -p "$(dirname "$link")"
  ln -sfn "$target" "$link"
  echo "$link -> $target"
done
