#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test (unit and integration).
# Integration tests need root; without it they report themselves as skipped, with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift test
