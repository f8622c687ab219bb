# tests/lib/tap.sh: TAP output for shell tests run by `meson test` (protocol: 'tap').
#
#   . tests/lib/tap.sh
#   tap_plan 3                                # optional: tap_done prints the plan otherwise
#   tap_check "alice lists her VM" wirt list  # ok when the command exits 0
#   tap_check_fails "carol is refused" wirt list
#   tap_is "$(wirt list --format json | jq length)" 1 "one VM"
#   tap_done                                   # plan if not given; exit 1 on any failure
#
# Command output goes to stderr as TAP diagnostics ("# …"), so a failure shows why in
# meson's --print-errorlogs while stdout stays pure TAP.

TAP_COUNT=0
TAP_FAILED=0
TAP_PLANNED=

# tap_plan N: announce N tests up front.
tap_plan() {
    TAP_PLANNED=$1
    printf '1..%s\n' "$1"
}

# tap_diag MESSAGE...: a diagnostic line (or several) on stderr.
tap_diag() {
    printf "%s\n" "$@" | sed "s/^/# /" >&2
}

# tap_ok DESCRIPTION: record a passing test.
tap_ok() {
    TAP_COUNT=$((TAP_COUNT + 1))
    printf 'ok %d - %s\n' "$TAP_COUNT" "$1"
}

# tap_not_ok DESCRIPTION [WHY...]: record a failing test, with optional diagnostics.
tap_not_ok() {
    TAP_COUNT=$((TAP_COUNT + 1))
    TAP_FAILED=$((TAP_FAILED + 1))
    printf 'not ok %d - %s\n' "$TAP_COUNT" "$1"
    shift
    [ $# -eq 0 ] || tap_diag "$@"
}

# tap_skip DESCRIPTION REASON: a test that could not run here.
tap_skip() {
    TAP_COUNT=$((TAP_COUNT + 1))
    printf 'ok %d - %s # SKIP %s\n' "$TAP_COUNT" "$1" "$2"
}

# tap_skip_all REASON: the whole script cannot run here (before any test); exits 0.
tap_skip_all() {
    printf '1..0 # SKIP %s\n' "$1"
    exit 0
}

# tap_bail REASON: stop everything (the harness itself is broken); exits 1.
tap_bail() {
    printf 'Bail out! %s\n' "$1"
    exit 1
}

# tap_check DESCRIPTION COMMAND...: ok when COMMAND exits 0; its output becomes diagnostics.
tap_check() {
    local desc=$1 out rc=0
    shift
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then
        tap_ok "$desc"
    else
        tap_not_ok "$desc" "command: $*" "exit: $rc" "$out"
    fi
    return 0
}

# tap_check_fails DESCRIPTION COMMAND...: ok when COMMAND exits non-zero.
tap_check_fails() {
    local desc=$1 out rc=0
    shift
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        tap_ok "$desc"
    else
        tap_not_ok "$desc" "command: $*" "expected failure, got exit 0" "$out"
    fi
    return 0
}

# tap_check_exit DESCRIPTION CODE COMMAND...: ok when COMMAND exits with exactly CODE.
tap_check_exit() {
    local desc=$1 want=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq "$want" ]; then
        tap_ok "$desc"
    else
        tap_not_ok "$desc" "command: $*" "expected exit $want, got $rc" "$out"
    fi
    return 0
}

# tap_is GOT EXPECTED DESCRIPTION: ok when the two strings are equal.
tap_is() {
    if [ "$1" = "$2" ]; then
        tap_ok "$3"
    else
        tap_not_ok "$3" "got:      $1" "expected: $2"
    fi
}

# tap_like GOT REGEX DESCRIPTION: ok when GOT matches the extended regular expression.
tap_like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        tap_ok "$3"
    else
        tap_not_ok "$3" "got:      $1" "expected to match: $2"
    fi
}

# tap_done: print the plan when none was given, and exit 1 if anything failed or the
# count does not match the plan, else 0.
tap_done() {
    if [ -z "$TAP_PLANNED" ]; then
        printf '1..%d\n' "$TAP_COUNT"
    elif [ "$TAP_PLANNED" -ne "$TAP_COUNT" ]; then
        tap_diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
        exit 1
    fi
    [ "$TAP_FAILED" -eq 0 ] || exit 1
    exit 0
}
