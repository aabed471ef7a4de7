#!/bin/sh
# Install Debian packages the test suite needs: `scripts/apt-install.sh WHO PURPOSE PACKAGE...`
# (WHO names the calling script in messages, PURPOSE says what the packages are for).
# Runs apt-get directly as root, through sudo when that works without a password, else says
# how and exits with 1. Callers check first whether the packages are already there.
set -eu

WHO=$1
PURPOSE=$2
shift 2

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$WHO: apt-get is not available; install $* ($PURPOSE) by other means" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "$WHO: missing; run as root (or with sudo): apt-get update && apt-get install -y $*" >&2
    exit 1
fi

echo "$WHO: installing $* ($PURPOSE) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
