#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test (unit and integration).
# Integration tests need root; without it they report themselves as skipped, with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# docs/architecture.md and Package.swift must say what the code imports.
scripts/check-architecture.py
# skiff's guest kernel, which `run --vm` boots (cached under /var/lib/skiff/kernels after the
# first build, about 11 minutes on 2 cores).
kernel/build.sh
swift test
