#!/usr/bin/env bash
# A soak of soulboxd (not part of CI; ctest runs one minute of it): one
# soulboxd serving E2B's API from inside it (--http-port, embedded
# nats-server) under a steady mixed load
# (bench/soak_load.mjs: the unmodified E2B SDKs create sandboxes, run
# commands, move files, drive a PTY, run code cells and kill them) for a
# given time, sampling every interval into a CSV:
#   unix_s, elapsed_s, rss_kib (soulboxd), fds, threads, live sandboxes,
#   leftovers (cgroups, scratch dirs or mounts of sandboxes killed > 10 s
#   before), errors, runs, nats_rss_kib, launcher_rss_kib
# At the end it prints soulboxd's RSS slope (MiB/min, least squares) over
# the last 30 minutes (the whole run when shorter) and the totals, and
# exits 1 when a run failed or a sandbox left something behind.
#
# Usage: bench/soak.sh [--minutes M | --seconds S] [--interval S] [--workers N]
#                      [--root DIR] [--out FILE] [--build DIR] [--cgroup-parent NAME]
# Needs root, node, and the SDKs in tests/e2b/node_modules (scripts/setup.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seconds=3600 interval=30 workers=4
root=/var/lib/soulbox-soak out="" build="$here/../build" cgroup_parent=soulbox-soak
while (($#)); do
  case $1 in
    --minutes) seconds=$(($2 * 60)); shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --cgroup-parent) cgroup_parent=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
out=${out:-$root.csv}

rm -rf "$root"
mkdir -p "$root/load"
chmod 755 "$root"  # sandbox roots (unprivileged host ids) traverse it to reach data/

# soulboxd with the embedded gateway; its first start prints the admin key.
"$build/soulboxd" --data-dir "$root/data" --run-dir "$root/run" --cgroup-parent "$cgroup_parent" \
  --node-id soak --http-port 0 --jobs-workers 0 > "$root/soulboxd.out" 2>&1 &
daemon=$!
load=""
cleanup() {
  [ -n "$load" ] && kill "$load" 2>/dev/null
  kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  true
}
trap cleanup EXIT
for _ in $(seq 300); do
  grep -q '"http_url"' "$root/data/soulboxd.json" 2>/dev/null && break
  kill -0 "$daemon" 2>/dev/null || { cat "$root/soulboxd.out" >&2; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/.*"http_url": "\([^"]*\)".*/\1/p' "$root/data/soulboxd.json")
key=$(sed -n "s/.*tenant 'default'.*: \(sb_[^ ]*\)$/\1/p" "$root/soulboxd.out")
[ -n "$url" ] && [ -n "$key" ] || { echo "soak: soulboxd gave no URL or key" >&2; cat "$root/soulboxd.out" >&2; exit 1; }
launcher=$(sed -n 's/.*launcher pid \([0-9]*\).*/\1/p' "$root/soulboxd.out")
nats=$(pgrep -P "$daemon" nats-server || true)

rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
fds_of() { ls "/proc/$1/fd" | wc -l; }
live_sandboxes() {
  curl -sf -H "X-API-Key: $key" "$url/v2/sandboxes" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo -1
}
# Sandboxes killed more than `age` seconds ago (all of them with age 0).
ended_ids() {
  local before=$(($(date +%s%3N) - $1 * 1000))
  awk -v before="$before" '$1 < before { print $2 }' "$root/load/ended.log" 2>/dev/null | sort -u
}
# Ids that still have a cgroup, a scratch dir or a mount (the host's, the
# daemon's or the launcher's mount table).
ids_with_traces() {
  {
    find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$cgroup_parent/*" -printf '%f\n' 2>/dev/null
    ls "$root/data/sandboxes" 2>/dev/null
    cat /proc/1/mountinfo "/proc/$daemon/mountinfo" "/proc/$launcher/mountinfo" 2>/dev/null |
      grep -o "$root/[^ ]*" | tr '/' '\n'
  } | sort -u
}
leftovers() { comm -12 <(ended_ids "$1") <(ids_with_traces) | wc -l; }
errors() { if [ -f "$root/load/errors.log" ]; then wc -l < "$root/load/errors.log"; else echo 0; fi; }
runs() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["runs"])' "$root/load/status.json" 2>/dev/null || echo 0; }

sample() {
  local now
  now=$(date +%s)
  echo "$now,$((now - start)),$(rss_of "$daemon"),$(fds_of "$daemon"),$(threads_of "$daemon"),$(live_sandboxes),$(leftovers 10),$(errors),$(runs),$(rss_of "$nats"),$(rss_of "$launcher")" >> "$out"
  tail -1 "$out"
}

echo "soak: soulboxd pid $daemon on $url, $workers workers for $seconds s, a sample every $interval s into $out"
echo "unix_s,elapsed_s,rss_kib,fds,threads,live_sandboxes,leftovers,errors,runs,nats_rss_kib,launcher_rss_kib" > "$out"
start=$(date +%s)
E2B_API_KEY=$key E2B_API_URL=$url E2B_SANDBOX_URL=$url SOAK_DIR=$root/load SOAK_SECONDS=$seconds \
  SOAK_WORKERS=$workers node "$here/soak_load.mjs" > "$root/load/result.json" 2> "$root/load/node.err" &
load=$!
sample
while kill -0 "$load" 2>/dev/null; do
  for _ in $(seq "$interval"); do kill -0 "$load" 2>/dev/null && sleep 1; done
  sample
done
load_failed=0
wait "$load" || { load_failed=1; echo "soak: the load driver failed: $(tail -3 "$root/load/node.err")" >&2; }
load=""
sleep 10  # what the last kills end, ends
sample
final_leftovers=$(leftovers 0)

# Least-squares slope of RSS over the last 30 minutes, MiB per minute.
slope=$(awk -F, -v since=$(($(date +%s) - 1800)) 'NR > 1 && $1 >= since {
    x = $2 / 60; y = $3 / 1024; n++; sx += x; sy += y; sxx += x * x; sxy += x * y }
  END { d = n * sxx - sx * sx; if (n < 2 || d == 0) print "n/a"; else printf "%.3f", (n * sxy - sx * sy) / d }' "$out")
window=$(awk -F, -v since=$(($(date +%s) - 1800)) 'NR > 1 && $1 >= since { if (!f) f = $2; l = $2 } END { printf "%.1f", (l - f) / 60 }' "$out")
first_rss=$(awk -F, 'NR == 2 { printf "%.1f", $3 / 1024 }' "$out")
last_rss=$(awk -F, 'END { printf "%.1f", $3 / 1024 }' "$out")
total_errors=$(errors) total_runs=$(runs)
echo "soak: $total_runs runs ($(cat "$root/load/result.json" 2>/dev/null)), $total_errors errors, $final_leftovers leftovers"
echo "soak: soulboxd RSS $first_rss -> $last_rss MiB; slope over the last $window min: $slope MiB/min"
if [ "$total_errors" -ne 0 ]; then
  cp "$root/load/errors.log" "${out%.csv}.errors.log"
  echo "soak: errors (all in ${out%.csv}.errors.log):"
  head -20 "$root/load/errors.log"
fi
cleanup
trap - EXIT
# After the daemon stopped, nothing of the soak's sandboxes remains.
stray=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$cgroup_parent/*" 2>/dev/null | wc -l)
echo "soak: cgroups left under $cgroup_parent after soulboxd stopped: $stray"
rmdir /sys/fs/cgroup/*/"$cgroup_parent" /sys/fs/cgroup/"$cgroup_parent" 2>/dev/null || true
rm -rf "$root"
[ "$load_failed" -eq 0 ] && [ "$total_runs" -gt 0 ] && [ "$total_errors" -eq 0 ] && [ "$final_leftovers" -eq 0 ] &&
  [ "$stray" -eq 0 ]
