#!/bin/sh
# Make sure Debian's Chromium is installed at /usr/bin/chromium, for the browser tests
# (tests/browser, Playwright drives it with executable_path=/usr/bin/chromium; we never run
# `playwright install`, which downloads browsers from outside the distribution).
# Idempotent and quiet when Chromium is already there; installs it with scripts/apt-install.sh.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
"$(dirname "$0")/apt-install.sh" ensure-chromium "the browser tests in tests/browser" chromium
if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: the chromium package is installed but $CHROMIUM is missing" >&2
    exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed" >&2
