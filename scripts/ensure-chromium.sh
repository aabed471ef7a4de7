#!/bin/sh
# Make sure Debian's Chromium is installed at /usr/bin/chromium, for the browser tests
# (tests/browser, Playwright drives it with executable_path=/usr/bin/chromium; we never run
# `playwright install`, which downloads browsers from outside the distribution).
#
# Idempotent and quiet when Chromium is already there. Otherwise installs the `chromium`
# package with apt-get: directly as root, through sudo (non-interactive) when that is
# available, else it says how and exits with 1.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available;" \
        "install Chromium so that $CHROMIUM exists (the browser tests are skipped without it)" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure-chromium: $CHROMIUM is missing; run as root (or with sudo):" \
        "apt-get update && apt-get install -y chromium" >&2
    exit 1
fi

echo "ensure-chromium: installing Debian's chromium package (for tests/browser) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: the chromium package is installed but $CHROMIUM is missing" >&2
    exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed" >&2
