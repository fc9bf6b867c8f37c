#!/usr/bin/env bash
# Many concurrent keep-alive connections against the gateway (not part of
# CI): one soulboxd serving E2B's API from inside it (--http-port 0,
# embedded nats-server, no warm sandboxes), and `wrk` holding C open
# connections on GET /health for S seconds, for each C given. Prints per C:
# requests/s, p99 latency, non-2xx answers and socket errors (wrk's), and
# soulboxd's RSS and threads (largest of one sample every 0.5 s while wrk
# runs; "idle" is before the first run).
#
# Usage: bench/gateway_connections.sh [--connections "1000 10000"] [--seconds S]
#                                     [--wrk-threads N] [--build DIR] [--root DIR]
# Needs root (soulboxd), wrk (apt-get install wrk), and a hard open-files
# limit above 4/3 of the largest C (wrk and soulboxd each hold C
# descriptors, and the gateway serves at most 3/4 of its limit; this script
# raises both soft limits to the hard one).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
connections="1000 10000" seconds=20 wrk_threads=2
build="$here/../build" root=/var/lib/soulbox-bench-connections
while (($#)); do
  case $1 in
    --connections) connections=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gateway_connections: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "gateway_connections: needs wrk (apt-get install wrk)" >&2; exit 1; }
build=$(cd "$build" && pwd)
ulimit -n "$(ulimit -Hn)"

rm -rf "$root"
mkdir -p "$root"
chmod 755 "$root"
"$build/soulboxd" --data-dir "$root/data" --run-dir "$root/run" --cgroup-parent soulbox-bench-connections \
  --node-id bench-connections --http-port 0 --jobs-workers 0 --pool-min 0 --code-pool-min 0 \
  > "$root/soulboxd.out" 2>&1 &
daemon=$!
cleanup() {
  kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  rmdir /sys/fs/cgroup/*/soulbox-bench-connections /sys/fs/cgroup/soulbox-bench-connections 2>/dev/null || true
  rm -rf "$root"
  true
}
trap cleanup EXIT
for _ in $(seq 300); do
  grep -q '"http_url"' "$root/data/soulboxd.json" 2>/dev/null && break
  kill -0 "$daemon" 2>/dev/null || { cat "$root/soulboxd.out" >&2; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/.*"http_url": "\([^"]*\)".*/\1/p' "$root/data/soulboxd.json")
[ -n "$url" ] || { echo "gateway_connections: soulboxd gave no URL" >&2; exit 1; }
# /health answers 200 once the node's own heartbeat is heard.
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health")" = 200 ] && break
  sleep 0.1
done

status_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon/status"; }
echo "gateway_connections: soulboxd pid $daemon ($build) on $url, open-files limit $(ulimit -n)"
echo "idle: rss $(($(status_of VmRSS) / 1024)) MiB, threads $(status_of Threads)"
printf '%-12s %12s %10s %9s %-40s %12s %8s\n' connections requests/s p99 non-2xx "socket errors" "max RSS MiB" threads
for c in $connections; do
  out="$root/wrk-$c.txt"
  wrk -t "$wrk_threads" -c "$c" -d "${seconds}s" --latency "$url/health" > "$out" 2>&1 &
  load=$!
  rss=0 threads=0
  while kill -0 "$load" 2>/dev/null; do
    r=$(status_of VmRSS) t=$(status_of Threads)
    ((r > rss)) && rss=$r
    ((t > threads)) && threads=$t
    sleep 0.5
  done
  wait "$load" || { echo "gateway_connections: wrk failed:" >&2; cat "$out" >&2; exit 1; }
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  errors=$(sed -n 's/.*Socket errors: //p' "$out")
  printf '%-12s %12s %10s %9s %-40s %12s %8s\n' "$c" "$rps" "$p99" "${non2xx:-0}" "${errors:-none}" \
    "$((rss / 1024))" "$threads"
  sleep 2  # the last connections close before the next run
done
