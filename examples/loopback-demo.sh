#!/usr/bin/env bash
# Sets up a small demo tree and mounts it through braidfs (needs root for
# passthrough; works unprivileged through fusermount3 too).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
demo=${BRAIDFS_DEMO:-/tmp/braidfs-demo}
mkdir -p "$demo/source" "$demo/mnt"
if grep -q " $demo/mnt fuse" /proc/mounts; then
  echo "already mounted at $demo/mnt (unmount with: umount $demo/mnt)"
  exit 0
fi
echo "hello from braidfs" > "$demo/source/hello.txt"
mkdir -p "$demo/source/docs" && echo "a nested file" > "$demo/source/docs/readme.txt"
"$here/bin/braidfs" "$demo/source" "$demo/mnt"
echo "mounted $demo/source at $demo/mnt:"
ls -la "$demo/mnt"
echo "new file" > "$demo/mnt/created-through-the-mount.txt"
echo "a file written through the mount lands in the source directory:"
ls -la "$demo/source/created-through-the-mount.txt"
echo
echo "unmount with: umount $demo/mnt   (or fusermount3 -u $demo/mnt)"
