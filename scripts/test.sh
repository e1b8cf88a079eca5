#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test (unit and integration).
# Integration tests need root; without it they report themselves as skipped, with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# docs/architecture.md and Package.swift must say what the code imports.
scripts/check-architecture.py
# The code keeps one style (.swift-format; `swift format format -i -r Sources Tests Package.swift` fixes it).
swift format lint -r --strict --parallel Sources Tests Package.swift
# skiff's guest kernel, which `run --vm` boots: `skiff vm kernel build` (what a first `run --vm`
# would do), cached under /var/lib/skiff/kernels after the first build, about 11 minutes on 2 cores.
kernel/build.sh
swift test
