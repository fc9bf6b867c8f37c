# SoulBox's Bash kernel: one persistent shell per code context (cwd,
# variables and functions persist). Each cell is sourced, so an interrupt can
# end it: SIGINT sets a flag and the DEBUG trap returns 2 at the cell's next
# command, which bash turns into a return from the sourced cell (extdebug).
# Protocol: kernels/README.md.
shopt -s extdebug
__sb_interrupted=
trap '__sb_interrupted=1' INT
__sb_debug() {
  # Only inside the cell (a sourced file): at the kernel's level a non-zero
  # status would skip the kernel's own next command.
  [[ -n $__sb_interrupted && ${#BASH_SOURCE[@]} -gt 1 ]] && return 2
  return 0
}
trap '__sb_debug' DEBUG

__sb_field() {
  local status
  while :; do
    IFS= read -r -d '' "$1" <&4
    status=$?
    ((status == 0)) && return 0
    ((status > 128)) && continue  # interrupted while idle
    exit 0                        # the agent closed the context
  done
}

__sb_json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

printf 'ready\n' >&3
while :; do
  __sb_field __sb_op
  __sb_field __sb_code
  __sb_field __sb_n
  __sb_saved=()
  for ((__sb_i = 0; __sb_i < __sb_n; __sb_i++)); do
    __sb_field __sb_kv
    __sb_key=${__sb_kv%%=*}
    if [[ -v $__sb_key ]]; then __sb_saved+=("$__sb_key=${!__sb_key}"); else __sb_saved+=("$__sb_key"); fi
    export "$__sb_kv"
  done
  [[ $__sb_op == x ]] || continue
  __sb_interrupted=
  source /dev/fd/5 5<<<"$__sb_code"
  __sb_status=$?
  if [[ -n $__sb_interrupted ]]; then
    printf 'error {"name":"KeyboardInterrupt","value":"interrupted","traceback":""}\n' >&3
  elif ((__sb_status != 0)); then
    printf 'error {"name":"ExitStatus","value":%s,"traceback":""}\n' \
      "$(__sb_json_string "exit status $__sb_status")" >&3
  fi
  __sb_interrupted=
  for __sb_kv in "${__sb_saved[@]}"; do
    if [[ $__sb_kv == *=* ]]; then export "$__sb_kv"; else unset "$__sb_kv"; fi
  done
  printf 'end\n' >&3
done
