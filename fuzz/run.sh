#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, ASan, UBSan) and runs each
# for SECONDS (default 20) on a copy of its seed corpus (fuzz/corpus/<name>,
# which does not grow). Prints per target the executions per second, the
# coverage libFuzzer reached, the corpus size and any crash; exits non-zero
# when a target crashed, naming the input that did it (kept in
# build-fuzz/crashes/<name>/; reproduce with build-fuzz/fuzz/<name>_fuzz <input>).
# Environment: SOULBOX_FUZZ_TARGETS="a b" runs only those targets;
# SOULBOX_FUZZ_BUILD=0 skips the build (another run.sh just did it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
build=build-fuzz

if [ "${SOULBOX_FUZZ_BUILD:-1}" != 0 ]; then
  export CCACHE_DIR=${CCACHE_DIR:-/var/cache/soulbox/ccache}
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
  export CCACHE_NOHASHDIR=1
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSOULBOX_FUZZ=ON \
      -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  fi
  nice -n 5 cmake --build "$build" -j 2 >/dev/null || { cmake --build "$build" -j 1 | tail -40; exit 1; }
fi

targets=${SOULBOX_FUZZ_TARGETS:-$(cd fuzz && ls -- *_fuzz.cc | sed 's/_fuzz\.cc$//')}
work=$(mktemp -d /tmp/soulbox-fuzz-run-XXXXXX)
trap 'rm -rf "$work"' EXIT

dict_of() {
  case $1 in
    http_request | gateway_routes | multipart | signed_url) echo fuzz/dict/http.dict ;;
    *) echo fuzz/dict/json.dict ;;
  esac
}

failed=0
printf '%-15s %10s %8s %8s %8s  %s\n' target execs/s cov ft corpus crashes
for t in $targets; do
  corpus=$work/$t/corpus
  mkdir -p "$corpus" "$work/$t/tmp" "$build/crashes/$t" "$build/logs"
  cp fuzz/corpus/"$t"/* "$corpus"/
  log=$build/logs/$t.log
  status=0
  # TMPDIR: the files a target makes (and leaves behind if it crashes) go to $work.
  TMPDIR=$work/$t/tmp nice -n 5 "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -dict="$(dict_of "$t")" -artifact_prefix="$build/crashes/$t/" "$corpus" >"$log" 2>&1 ||
    status=$?
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  files=$(find "$corpus" -type f | wc -l)
  crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  if [ "$status" -ne 0 ] || [ -n "$crash" ]; then
    failed=1
    printf '%-15s %10s %8s %8s %8s  CRASH %s (log: %s)\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" \
      "${crash:-exit status $status}" "$log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|terminate called|  what\(\)|gateway_routes_fuzz:)' "$log" | head -5 |
      sed 's/^/    /'
  else
    printf '%-15s %10s %8s %8s %8s  0\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files"
  fi
done
exit "$failed"
