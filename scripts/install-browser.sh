#!/usr/bin/env bash
# Installs Debian's Chromium for tests/browser (headless gallery checks). Idempotent: does nothing
# when /usr/bin/chromium is already there, so CI can call it on every run. Needs root (CI is root).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version
