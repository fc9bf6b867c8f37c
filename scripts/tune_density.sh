#!/usr/bin/env bash
# Raises the kernel limits that cap how many sandboxes a node holds (see
# docs/density.md, "Host limits"), never lowering one: the pty pool (4096
# terminals by default: 384 sandboxes at 8 each), root's inotify instances
# (128, shared by every sandbox that watches files) and pid_max. What it
# raised is kept in /etc/sysctl.d/60-soulbox.conf for the next boot (an
# existing file of that name is left alone). run.sh calls it;
# SOULBOX_NO_SYSCTL=1 skips it. Where /proc/sys is read-only (a container)
# it says so and changes nothing: soulboxd's start-up line names the limit.
set -euo pipefail
conf=/etc/sysctl.d/60-soulbox.conf
declare -A wanted=([kernel.pty.max]=131072 [fs.inotify.max_user_instances]=16384 [kernel.pid_max]=4194304)
raised=()
for key in kernel.pty.max fs.inotify.max_user_instances kernel.pid_max; do
  now=$(sysctl -n "$key" 2>/dev/null || true)
  [ -n "$now" ] && [ "$now" -lt "${wanted[$key]}" ] || continue
  if sysctl -q -w "$key=${wanted[$key]}" 2>/dev/null; then
    raised+=("$key")
    echo "tune_density: $key $now -> ${wanted[$key]} (docs/density.md)"
  else
    echo "tune_density: cannot raise $key ($now) here; it caps how many sandboxes the node holds (docs/density.md)" >&2
  fi
done
if [ ${#raised[@]} -gt 0 ] && [ ! -e "$conf" ] && [ -w /etc/sysctl.d ]; then
  {
    echo "# SoulBox: limits on how many sandboxes this node holds (docs/density.md)"
    for key in "${raised[@]}"; do echo "$key = ${wanted[$key]}"; done
  } > "$conf"
fi
exit 0
