#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs SoulBox.
# Until the soulboxd daemon lands, this runs a short demo: Python, Node and
# Bash snippets, each in a fresh sandbox, through build/soulbox-isolate.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
DATA_DIR=${SOULBOX_DATA_DIR:-/var/lib/soulbox}
isolate() { "$BUILD_DIR/soulbox-isolate" --data-dir "$DATA_DIR" --memory 256M --timeout 10 -- "$@"; }

demo() {
  local title=$1; shift
  printf '\n== %s\n$ %s\n' "$title" "$*"
  local start=$(date +%s%N)
  local rc=0
  isolate "$@" || rc=$?
  printf -- '-> exit %d, %d ms (create + run + destroy)\n' "$rc" $(( ($(date +%s%N) - start) / 1000000 ))
}

demo "Python" /usr/bin/python3 -c 'import platform, os; print(f"hello from Python {platform.python_version()} as uid {os.getuid()} on {platform.node()}")'
demo "Node" /usr/bin/node -e 'console.log(`hello from Node ${process.version}, ${require("os").cpus().length} cpus visible`)'
demo "Bash" /bin/bash -c 'echo "hello from $(bash --version | head -1)"; echo "processes visible: $(ls /proc | grep -c "^[0-9]")"'
demo "The network is loopback only" /usr/bin/python3 -c 'import socket; print(socket.if_nameindex())'
demo "The host is out of reach" /bin/bash -c 'ls /home; cat /etc/shadow 2>&1 | head -1; echo "host root: $(ls / | tr "\n" " ")"'
echo
echo "SoulBox is built. Run one command in a sandbox with:"
echo "  $BUILD_DIR/soulbox-isolate -- /usr/bin/python3 -c 'print(6*7)'"
