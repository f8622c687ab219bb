#!/usr/bin/env bash
# tests/integration/test-files-mail.sh: the files API mails a failed command to the member
# and root through /usr/sbin/sendmail, at most once per mail-interval, and not at all with
# [files] mail=false.
#
# wirtd runs in a mount namespace of its own where /usr/sbin is a directory holding only a
# recording sendmail, so the host's mail system (if any) is never used.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (users, mount namespaces)"
: "${WIRTD:?WIRTD must name the wirtd binary}"

tmp=$(mktemp -d /tmp/wirt-files-mail.XXXXXX)
alice_home=
cleanup() {
    stop_wirtd
    [ -n "$alice_home" ] && rm -rf "$alice_home/wirt"
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

wt_users_setup || tap_bail "cannot make the test users"
alice_home=$(getent passwd "$WT_ALICE" | cut -d: -f6)
rm -rf "$alice_home/wirt"
mkdir -p "$tmp/sbin" "$tmp/mail"
cat >"$tmp/sbin/sendmail" <<EOF2
#!/bin/sh
# Records one mail: its arguments, then the message.
f=\$(mktemp "$tmp/mail/mail.XXXXXX")
printf 'args: %s\n' "\$*" >"\$f"
cat >>"\$f"
EOF2
chmod 755 "$tmp/sbin/sendmail"

start_wirtd() { # MAIL(true/false)
    printf '[daemon]\nuser-group=%s\nadmin-group=%s\n[files]\nrescan-seconds=2\nmail=%s\n' \
        "$WT_USER_GROUP" "$WT_ADMIN_GROUP" "$1" >"$tmp/wirtd.conf"
    rm -f "$tmp/wirtd.sock"
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare --mount --propagation private sh -c 'mount --bind "$1" /usr/sbin && shift && exec "$@"' \
        sh "$tmp/sbin" "$WIRTD" --config "$tmp/wirtd.conf" --socket "$tmp/wirtd.sock" \
        --connect test:///default --history "$tmp/history.jsonl" 2>>"$tmp/wirtd.log" &
    wirtd_pid=$!
    for _ in $(seq 200); do [ -S "$tmp/wirtd.sock" ] && return 0; sleep 0.05; done
    return 1
}

alice_do() { runuser -u "$WT_ALICE" -- sh -c "$1"; }
mails() { find "$tmp/mail" -type f | wc -l; }
wait_for() { # FILE PATTERN
    for _ in $(seq 200); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.025
    done
    return 1
}

# Not through tap_check: that captures output, and wirtd would hold its pipe open.
if start_wirtd true; then tap_ok "wirtd starts with mail=true"; else tap_not_ok "wirtd starts with mail=true"; fi
alice_do 'mkdir -p ~/wirt/command/vm/web && touch ~/wirt/command/vm/web/frobnicate'
tap_check "the error reaches status.json" \
    wait_for "$alice_home/wirt/info/vm/web/status.json" "is not a command"
for _ in $(seq 100); do [ "$(mails)" -ge 1 ] && break; sleep 0.05; done
tap_is "$(mails)" 1 "one mail was sent"
mail=$(cat "$tmp"/mail/mail.* 2>/dev/null)
tap_like "$mail" "To: $WT_ALICE, root" "to the member and root"
tap_like "$mail" "args: -oi -t" "sendmail reads the recipients from the message"
tap_like "$mail" "'frobnicate' is not a command" "with the error"
tap_like "$mail" "Auto-Submitted: auto-generated" "marked as automatic (no replies, no loops)"

alice_do 'touch ~/wirt/command/vm/web/bogus'
tap_check "a second error is answered too" \
    wait_for "$alice_home/wirt/info/vm/web/status.json" "'bogus' is not a command"
sleep 0.3
tap_is "$(mails)" 1 "but not mailed again within mail-interval"

stop_wirtd
rm -f "$tmp"/mail/*
if start_wirtd false; then tap_ok "wirtd starts with mail=false"; else tap_not_ok "wirtd starts with mail=false"; fi
alice_do 'touch ~/wirt/command/vm/web/nonsense'
tap_check "the error is answered" \
    wait_for "$alice_home/wirt/info/vm/web/status.json" "'nonsense' is not a command"
sleep 0.3
tap_is "$(mails)" 0 "and nothing is mailed"
stop_wirtd
tap_is "$wirtd_status" 0 "wirtd stops cleanly"

tap_done
