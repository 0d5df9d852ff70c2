#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the explorer's browser tests
# (crates/cli/tests/explorer.rs calls this before it starts the browser).
#
# Idempotent: does nothing when /usr/bin/chromium and /usr/bin/chromedriver
# already exist. Non-interactive. Needs root (as in CI) or passwordless sudo.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "install-browser: /usr/bin/chromium is missing and this user cannot install packages (not root, no passwordless sudo); install Debian's chromium and chromium-driver" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver

for bin in /usr/bin/chromium /usr/bin/chromedriver; do
    if [ ! -x "$bin" ]; then
        echo "install-browser: apt-get finished but $bin is missing" >&2
        exit 1
    fi
done
echo "install-browser: $(/usr/bin/chromium --version), $(/usr/bin/chromedriver --version)"
