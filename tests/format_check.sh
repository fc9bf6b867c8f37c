#!/usr/bin/env bash
# Fails when a C/C++ file of the project differs from .clang-format's style.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format is not installed (apt-get install clang-format)"; exit 1; }
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.c' 2>/dev/null || find common messages isolation agent cli bench tests \( -name '*.[ch]' -o -name '*.cc' \))
clang-format --dry-run -Werror "${files[@]}"
echo "${#files[@]} files formatted as .clang-format says"
