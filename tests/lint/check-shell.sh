#!/usr/bin/env bash
# tests/lint/check-shell.sh SOURCE_ROOT: every shell script of the project parses (bash -n).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lint-lib.sh"

mapfile -t files < <(
    for f in scripts/* .ci/run; do
        [ -f "$f" ] && head -n1 "$f" | grep -q 'bash' && printf '%s\n' "$f"
    done
    find tests bench -name '*.sh' -type f 2>/dev/null | LC_ALL=C sort
)
[ "${#files[@]}" -gt 0 ] || tap_skip_all "no shell scripts yet"
for f in "${files[@]}"; do
    tap_check "bash -n $f" bash -n "$f"
done
tap_done
