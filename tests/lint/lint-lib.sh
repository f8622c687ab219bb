# tests/lint/lint-lib.sh: shared helpers of the lint checks (bash library).
#
# Every check is run by meson as `bash tests/lint/check-X.sh SOURCE_ROOT` and prints TAP
# (tests/lib/tap.sh); offending lines are listed as diagnostics, one `file:line: text` each.

lint_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$lint_here/../lib/tap.sh"

LINT_ROOT=${1:-${WIRT_SOURCE_ROOT:-$(cd "$lint_here/../.." && pwd)}}
cd "$LINT_ROOT" || tap_bail "cannot enter source root $LINT_ROOT"

# lint_c_files DIR...: the .c and .h files under each DIR that exists, sorted, one a line.
lint_c_files() {
    local d
    for d in "$@"; do
        [ -d "$d" ] && find "$d" -type f \( -name '*.c' -o -name '*.h' \) -print
    done | LC_ALL=C sort
}

# lint_prepare FILE...: strip every FILE once (one perl process), into two mirror trees under
# $LINT_TMP: code/FILE with comments blanked and string/char literals emptied ("" and ''),
# for call checks (a comment may say "never call system()"); incl/FILE with only comments
# blanked, for #include checks. Line numbers are kept in both.
lint_prepare() {
    LINT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wirt-lint.XXXXXX") || tap_bail "mktemp failed"
    trap 'rm -rf "$LINT_TMP"' EXIT
    [ $# -gt 0 ] || return 0
    perl -e '
        my $out = shift;
        for my $f (@ARGV) {
            open(my $in, "<", $f) or die "$f: $!";
            local $/;
            my $text = <$in>;
            close $in;
            my %v;
            for my $kind ("code", "incl") {
                (my $t = $text) =~ s{(/\*.*?\*/)|(//[^\n]*)|("(?:[^"\\\n]|\\.)*")|(\x27(?:[^\x27\\\n]|\\.)*\x27)}{
                    defined $1 ? "\n" x ($1 =~ tr/\n//) : defined $2 ? "" :
                    $kind eq "incl" ? $& : defined $3 ? "\"\"" : "\x27\x27"
                }gse;
                my $dst = "$out/$kind/$f";
                (my $dir = $dst) =~ s{/[^/]*$}{};
                system("mkdir", "-p", $dir) == 0 or die "mkdir $dir";
                open(my $o, ">", $dst) or die "$dst: $!";
                print $o $t;
                close $o;
            }
        }' "$LINT_TMP" "$@" || tap_bail "cannot strip comments"
}

# lint_hits KIND REGEX FILE...: `file:line: original text` for every line of the KIND
# (code or incl) copy of each FILE that matches the extended REGEX.
lint_hits() {
    local kind=$1 regex=$2
    shift 2
    [ $# -gt 0 ] || return 0
    (cd "$LINT_TMP/$kind" && grep -HnE -- "$regex" "$@") | while IFS=: read -r f n _; do
        printf '%s:%s: %s\n' "$f" "$n" "$(sed -n "${n}{s/^[[:space:]]*//;p}" "$f")"
    done
}

# lint_rule DESCRIPTION KIND REGEX FILE...: one TAP test point: ok when no FILE has a line
# matching REGEX in its KIND copy (see lint_prepare), else not ok listing each file:line.
lint_rule() {
    local desc=$1 kind=$2 regex=$3 hits
    shift 3
    if [ $# -eq 0 ]; then
        tap_ok "$desc (no files yet)"
        return 0
    fi
    hits=$(lint_hits "$kind" "$regex" "$@")
    if [ -z "$hits" ]; then
        tap_ok "$desc"
    else
        tap_not_ok "$desc" "$hits"
    fi
}
