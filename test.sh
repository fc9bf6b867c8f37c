#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest (as root:
# the tests create real namespaces, cgroups and seccomp filters).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${SOULBOX_TEST_JOBS:-2}" --timeout 300 "$@"
