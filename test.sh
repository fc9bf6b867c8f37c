#!/usr/bin/env bash
# Installs what is missing, builds, checks that every header compiles on its
# own, and runs every test with ctest (as root:
# the tests create real namespaces, cgroups and seccomp filters). Then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite
# once more (SOULBOX_SKIP_SANITIZE=1 skips that second pass). Between the
# two, every fuzz target runs for 20 s from its seeds (fuzz/run.sh, clang's
# libFuzzer; SOULBOX_SKIP_FUZZ=1 skips it).
set -euo pipefail
cd "$(dirname "$0")"
jobs=${SOULBOX_TEST_JOBS:-2}

# Also checks that every header compiles on its own (cmake/HeaderCheck.cmake).
SOULBOX_CHECK_HEADERS=1 ./scripts/setup.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "$jobs" --timeout 300 "$@")

if [ "${SOULBOX_SKIP_FUZZ:-0}" != 1 ]; then
  echo "test.sh: fuzzing the parsers of untrusted input (20 s per target)"
  fuzz/run.sh 20
fi

if [ "${SOULBOX_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "test.sh: sanitizer pass (ASan + UBSan)"
  BUILD_DIR=build-asan SOULBOX_SANITIZE=ON ./scripts/setup.sh
  (cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 300 "$@")
fi
