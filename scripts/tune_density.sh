#!/usr/bin/env bash
# Raises the kernel limits that cap how many sandboxes a node holds (see
# docs/density.md, "Host limits") to the values of /etc/sysctl.d/60-soulbox.conf,
# never lowering one: the pty pool (4096 terminals by default: 384 sandboxes
# at 8 each), root's inotify instances (128, shared by every sandbox that
# watches files) and pid_max. run.sh calls it; SOULBOX_NO_SYSCTL=1 skips it.
set -euo pipefail
conf=/etc/sysctl.d/60-soulbox.conf
declare -A wanted=([kernel.pty.max]=131072 [fs.inotify.max_user_instances]=16384 [kernel.pid_max]=4194304)
changed=()
for key in "${!wanted[@]}"; do
  now=$(sysctl -n "$key" 2>/dev/null || echo "")
  [ -n "$now" ] || continue
  if [ "$now" -lt "${wanted[$key]}" ]; then
    changed+=("$key $now -> ${wanted[$key]}")
  else
    wanted[$key]=$now
  fi
done
[ ${#changed[@]} -eq 0 ] && exit 0
echo "tune_density: raising kernel limits for density (docs/density.md): ${changed[*]}"
{
  echo "# SoulBox: limits on how many sandboxes this node holds (docs/density.md)"
  for key in "${!wanted[@]}"; do echo "$key = ${wanted[$key]}"; done
} > "$conf"
sysctl -q -p "$conf"
