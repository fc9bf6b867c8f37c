#!/usr/bin/env bash
# Records the host's state before the suite (snapshot) and checks it is
# unchanged after it (verify): mounts, processes running as sandbox ids,
# cgroups and data dirs of test sandboxes, and files the tests put in /tmp.
set -u  # no -e: files under /proc vanish while we read them
mode=$1 state=$2

mounts() { wc -l < /proc/1/mountinfo; }
# Host uids at or above kFirstHostId (603979776) belong to sandboxes (isolation/userns.h).
sandbox_processes() { cat /proc/[0-9]*/status 2>/dev/null | awk '/^Uid:/ { if ($2 >= 603979776) n++ } END { print n + 0 }'; }
test_cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path '*soulbox-test/*' 2>/dev/null | wc -l; }
test_files() { ls -d /tmp/soulbox-test-* /tmp/soulbox-canary-* /tmp/soulbox-swap-canary-* /tmp/soulbox-fapi-canary-* 2>/dev/null | wc -l; }

case $mode in
  snapshot)
    printf '%s %s %s %s\n' "$(mounts)" "$(sandbox_processes)" "$(test_cgroups)" "$(test_files)" > "$state"
    echo "host state before the suite: mounts processes cgroups files = $(cat "$state")" ;;
  verify)
    read -r m p c f < "$state"
    # Processes of the last sandboxes may take a moment to finish exiting.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      now="$(mounts) $(sandbox_processes) $(test_cgroups) $(test_files)"
      [ "$now" = "$m $p $c $f" ] && break
      sleep 0.5
    done
    echo "before: $m $p $c $f   after: $now   (mounts, sandbox processes, test cgroups, test files)"
    [ "$now" = "$m $p $c $f" ] || { echo "the host changed during the suite"; exit 1; } ;;
esac
