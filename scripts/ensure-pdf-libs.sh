#!/bin/sh
# Make sure the system library WeasyPrint needs for PDF statements and receipts is installed
# (libharfbuzz-subset0; without it WeasyPrint warns at import and cannot subset fonts).
# Idempotent and quiet when the library is there; installs it with scripts/apt-install.sh.
set -eu

PACKAGE=libharfbuzz-subset0

if ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0'; then
    exit 0
fi
if command -v dpkg-query >/dev/null 2>&1 &&
    dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "ok installed"; then
    exit 0
fi
"$(dirname "$0")/apt-install.sh" ensure-pdf-libs "PDF statements and receipts" "$PACKAGE"
echo "ensure-pdf-libs: $PACKAGE installed" >&2
