#!/usr/bin/env bash
# Shared set-up for ./run.sh and ./test.sh: installs the Debian packages that
# are missing (as root, with apt-get) and builds SoulBox into ./build.
# Environment: BUILD_DIR (default build), SOULBOX_SANITIZE=ON for ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache
  # the fixed stack (docs/stack-notes.md)
  libcaf-dev libnats-dev nats-server flatbuffers-compiler libflatbuffers-dev
  libseccomp-dev librocksdb-dev libspdlog-dev libfmt-dev catch2
  libboost-dev libcli11-dev nlohmann-json3-dev libssl-dev zlib1g-dev
  # languages that sandboxes run, and peers the benchmarks compare against
  python3 nodejs ruby perl lua5.4 gcc bubblewrap iproute2
  # the code interpreter's Python data stack (code-interpreter-v1 preloads it;
  # Pillow decodes its figures in the tests)
  python3-numpy python3-pandas python3-matplotlib python3-pil
  # Java code contexts (the source launcher and JShell: a JDK, not a JRE)
  openjdk-17-jdk-headless
  # checks (clang: libFuzzer for fuzz/run.sh)
  clang-format clang git curl openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The JavaScript jobs example needs npm; any npm will do (Debian's, or one
# that came with another Node.js installation).
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run as root or install them first" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
SANITIZE=${SOULBOX_SANITIZE:-OFF}
echo "setup: building into $BUILD_DIR (sanitizers: $SANITIZE)"
# Compilation is cached outside the checkout, so a fresh clone (CI) rebuilds
# only what changed since the last build on this machine.
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/soulbox/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# Paths inside the checkout are hashed relative to it: another clone's
# objects are hits too.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=1
cmake -S . -B "$BUILD_DIR" -G Ninja -DSOULBOX_SANITIZE="$SANITIZE" \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
if [ "${SOULBOX_CHECK_HEADERS:-0}" = 1 ]; then
  echo "setup: compiling every header on its own (check_headers)"
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target check_headers
fi

# The JavaScript jobs example: its npm packages and the code flatc generates.
echo "setup: building examples/jobs-js (npm install, flatc --ts, tsc)"
(cd examples/jobs-js && npm install --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build >/dev/null)

# The unmodified E2B SDKs the gateway tests drive (pinned in tests/e2b/package.json).
echo "setup: installing the e2b and @e2b/code-interpreter SDKs for the gateway tests (npm)"
(cd tests/e2b && npm install --no-audit --no-fund --loglevel=error >/dev/null)
