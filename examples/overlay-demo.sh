#!/usr/bin/env bash
# Overlay mode in a minute, like pool-demo.sh for pooling: two read-only lower
# layers and a writable upper layer merged at one mountpoint, with
# fuse-overlayfs's command line. Shows a copy-up (changing a lower file puts
# the changed copy in the upper layer; the lower layer stays as it was) and a
# whiteout (removing a lower file leaves a character device 0/0 in the upper
# layer), then unmounts and removes everything it made. Run as root (passthrough
# and 0/0 whiteouts need it):  sudo ./examples/overlay-demo.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
demo=${BRAIDFS_DEMO:-/tmp/braidfs-overlay-demo}
mnt=$demo/merged

if mountpoint -q "$mnt" 2>/dev/null; then
  echo "already mounted at $mnt (unmount with: umount $mnt)" >&2
  exit 1
fi

cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then
    umount "$mnt" 2>/dev/null || fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  fi
  # Never delete through a live mount.
  if ! mountpoint -q "$mnt" 2>/dev/null; then
    rm -rf "$demo/lower1" "$demo/lower2" "$demo/upper" "$demo/work" "$mnt"
    rmdir "$demo" 2>/dev/null || true
  fi
}
trap cleanup EXIT

rm -rf "$demo/lower1" "$demo/lower2" "$demo/upper" "$demo/work" "$mnt"
mkdir -p "$demo/lower1" "$demo/lower2" "$demo/upper" "$demo/work" "$mnt"
# lowerdir= lists the layers top first: lower1 lies on top of lower2.
echo "motd from lower2 (hidden by lower1)" > "$demo/lower2/motd"
echo "motd from lower1" > "$demo/lower1/motd"
echo "setting=1" > "$demo/lower2/app.conf"
echo "old log line" > "$demo/lower2/old.log"

"$here/bin/braidfs" -o "lowerdir=$demo/lower1:$demo/lower2,upperdir=$demo/upper,workdir=$demo/work" "$mnt"
echo "merged lower1 (top) and lower2 (read-only) with upper (writable) at $mnt:"
ls -l "$mnt"
echo "motd: $(cat "$mnt/motd")"

echo
echo "== copy-up: append to app.conf (a lower2 file) through the mount"
echo "setting=2" >> "$mnt/app.conf"
echo "upper/app.conf, the changed copy:"
sed 's/^/  /' "$demo/upper/app.conf"
echo "lower2/app.conf, unchanged:"
sed 's/^/  /' "$demo/lower2/app.conf"

echo
echo "== whiteout: rm old.log (a lower2 file) through the mount"
rm "$mnt/old.log"
echo "the mount has no old.log any more:"
ls "$mnt" | sed 's/^/  /'
echo "upper/old.log is the whiteout:"
stat -c '  %n: %F %t,%T' "$demo/upper/old.log"
echo "lower2/old.log is still there: $(cat "$demo/lower2/old.log")"

echo
echo "== unmount with: umount $mnt   (or fusermount3 -u $mnt); the daemon exits by itself"
umount "$mnt" 2>/dev/null || fusermount3 -u "$mnt"
if mountpoint -q "$mnt"; then echo "still mounted at $mnt" >&2; exit 1; fi
echo "unmounted; removing $demo"
