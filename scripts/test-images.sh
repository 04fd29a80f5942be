#!/usr/bin/env bash
# Makes the local images the tests run (no registry is reachable, and tests never pull):
#   runlog-test/busybox:latest   /bin/busybox with its applets linked
set -euo pipefail
DOCKER="docker -H unix://${RUNLOG_TEST_DOCKER_SOCK:-/var/run/docker.sock}"
if ! $DOCKER image inspect runlog-test/busybox:latest >/dev/null 2>&1; then
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/var/www"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | $DOCKER import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - runlog-test/busybox:latest >/dev/null
  rm -rf "$root"
  echo "[services] image runlog-test/busybox:latest made" >&2
fi
