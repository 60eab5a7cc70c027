#!/usr/bin/env bash
# Run the test suite (real MariaDB servers are started in temporary directories).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
