#!/usr/bin/env bash
# Installs the real services the tests talk to when this machine lacks them: Debian's redis-server
# (BullMQ executor tests start their own on a temporary port) and chromium (the HTML report is
# opened in it through playwright-core). s3rver comes from npm. Nothing is started here: each test
# suite starts and stops its own server on loopback.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi 'dejavu' || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-test-services: installing ${missing[*]} with apt-get"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A redis-server installed by apt starts a system instance; the tests do not use it.
redis-server --version
