# tests/lib/wirtd.sh: the wirtd under test (bash library).
#
#   . tests/lib/wirtd.sh
#   "$WIRTD" --config … --socket … 2>>"$tmp/wirtd.log" &
#   wirtd_pid=$!
#   stop_wirtd                     # SIGTERM; then $wirtd_status is its exit status
#                                  # (under ASan, non-zero when it leaked)
#
# Only the PID the test started is ever signalled.

wirtd_pid=
wirtd_status=

# stop_wirtd: stop the wirtd this test started, if any, and keep its exit status.
stop_wirtd() {
    wirtd_status=
    if [ -n "$wirtd_pid" ]; then
        kill "$wirtd_pid" 2>/dev/null
        wait "$wirtd_pid" 2>/dev/null
        wirtd_status=$?
        wirtd_pid=
    fi
}
