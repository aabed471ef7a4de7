#!/bin/sh
# Make sure the system library WeasyPrint needs for PDF statements and receipts is installed
# (libharfbuzz-subset0; without it WeasyPrint warns at import and cannot subset fonts).
#
# Idempotent and quiet when the library is there. Otherwise installs the Debian package with
# apt-get: directly as root, through sudo (non-interactive) when available, else it says how
# and exits with 1.
set -eu

PACKAGE=libharfbuzz-subset0

if ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0'; then
    exit 0
fi
if command -v dpkg-query >/dev/null 2>&1 &&
    dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "ok installed"; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-pdf-libs: $PACKAGE is missing and apt-get is not available; install" \
        "HarfBuzz's subset library for the PDF exports" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure-pdf-libs: $PACKAGE is missing; run as root (or with sudo):" \
        "apt-get update && apt-get install -y $PACKAGE" >&2
    exit 1
fi

echo "ensure-pdf-libs: installing $PACKAGE (for PDF statements and receipts) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null
echo "ensure-pdf-libs: $PACKAGE installed" >&2
