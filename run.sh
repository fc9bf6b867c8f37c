#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts soulboxd on its
# embedded default (its own nats-server, RocksDB under the data dir), runs
# Python, Node and Bash in sandboxes through the bus, and keeps the node
# running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
[ "${SOULBOX_NO_SYSCTL:-0}" = 1 ] || ./scripts/tune_density.sh
BUILD_DIR=${BUILD_DIR:-build}
DATA_DIR=${SOULBOX_DATA_DIR:-/var/lib/soulbox}
READY="$DATA_DIR/soulboxd.json"
ctl() { "$BUILD_DIR/soulboxctl" --ready-file "$READY" "$@"; }

rm -f "$READY"
# E2B's HTTP API is served from inside soulboxd here (soulbox-gateway runs
# the same apart, for clusters and for JWT/OIDC/mTLS options).
HTTP_PORT=${SOULBOX_HTTP_PORT:-3000}
"$BUILD_DIR/soulboxd" --data-dir "$DATA_DIR" --http-port "$HTTP_PORT" --code-pool-min 1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM
for _ in $(seq 300); do
  [ -s "$READY" ] && break
  kill -0 $daemon 2>/dev/null || { echo "soulboxd failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$READY" ] || { echo "soulboxd did not become ready in 30 s" >&2; kill $daemon; exit 1; }

demo() {
  local title=$1; shift
  printf '\n== %s\n$ soulboxctl run -- %s\n' "$title" "$*"
  ctl run -- "$@" || true
}
sleep 0.5  # let the warm pool fill
demo "Python" /usr/bin/python3 -c 'import platform, os; print(f"hello from Python {platform.python_version()} as uid {os.getuid()} on {platform.node()}")'
demo "Node" /usr/bin/node -e 'console.log(`hello from Node ${process.version}, ${require("os").cpus().length} cpus visible`)'
demo "Bash" /bin/bash -c 'echo "hello from $(bash --version | head -1)"; echo "processes visible: $(ls /proc | grep -c "^[0-9]")"'
demo "The network is loopback only" /usr/bin/python3 -c 'import socket; print(socket.if_nameindex())'
demo "The host is out of reach" /bin/bash -c 'ls /home; cat /etc/shadow 2>&1 | head -1; echo "host root: $(ls / | tr "\n" " ")"'

cat <<MSG

SoulBox is running (soulboxd pid $daemon). Reach it over NATS at $(grep -o '"nats_url": "[^"]*"' "$READY" | cut -d'"' -f4)
(user and password in $READY, mode 0600), or with soulboxctl:
  $BUILD_DIR/soulboxctl health
  $BUILD_DIR/soulboxctl run -- /usr/bin/python3 -c 'print(6*7)'
  id=\$($BUILD_DIR/soulboxctl create) && $BUILD_DIR/soulboxctl exec \$id -- /bin/ls / && $BUILD_DIR/soulboxctl kill \$id
Subjects and messages: docs/bus.md.

E2B's API on http://127.0.0.1:$HTTP_PORT: any E2B SDK works with
  E2B_API_URL=http://127.0.0.1:$HTTP_PORT E2B_SANDBOX_URL=http://127.0.0.1:$HTTP_PORT E2B_API_KEY=<the key printed above>
or the CLI: $BUILD_DIR/soulbox init --api-key <the key printed above>; $BUILD_DIR/soulbox run --lang python 'print(6*7)'
(docs/gateway.md, docs/cli.md, sdk/python). @e2b/code-interpreter works too: its template
code-interpreter-v1 keeps a warm sandbox with Python and JavaScript contexts (docs/code-interpreter.md). Press Ctrl-C to stop (every sandbox is ended).
MSG
wait $daemon
