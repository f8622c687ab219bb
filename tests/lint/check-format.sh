#!/usr/bin/env bash
# tests/lint/check-format.sh SOURCE_ROOT: every C file is formatted with the project's
# .clang-format (clang-format 14). Fix with: clang-format -i FILE
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lint-lib.sh"

command -v clang-format >/dev/null || tap_skip_all "clang-format not installed (scripts/bootstrap)"
[ -f .clang-format ] || tap_bail "no .clang-format in $LINT_ROOT"

mapfile -t files < <(lint_c_files src tests bench fuzz)
[ "${#files[@]}" -gt 0 ] || tap_skip_all "no C files yet"
# One clang-format run for all files (one process per file is slow); --Werror makes each
# "would reformat" an error that names file:line:col.
out=$(clang-format --style=file --dry-run --Werror "${files[@]}" 2>&1)
for f in "${files[@]}"; do
    errors=$(printf '%s\n' "$out" | awk -v f="$f:" 'index($0, f) == 1 && /:[0-9]+:[0-9]+: /' | head -20)
    if [ -z "$errors" ]; then
        tap_ok "clang-format: $f"
    else
        tap_not_ok "clang-format: $f" "$errors" "fix with: clang-format -i $f"
    fi
done
# Anything clang-format said that names no file (a bad .clang-format) fails the run.
if [ -n "$out" ] && ! printf '%s\n' "$out" | grep -qE '^[^ ]+:[0-9]+:[0-9]+: '; then
    tap_not_ok "clang-format ran" "$out"
fi
tap_done
