#!/usr/bin/env bash
# tests/integration/test-qemu.sh: wirt on a real libvirtd running real QEMU (TCG).
#
# A private libvirtd (own mount and network namespace) with the QEMU driver; a VM
# with no disk boots nothing, so its firmware ignores the ACPI power button: exactly
# the guest `wirt stop` must power off after its timeout. Needs root and qemu-system-x86.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/private-libvirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (unshare)"
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"
command -v qemu-system-x86_64 >/dev/null || tap_skip_all "qemu-system-x86 not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-qemu.XXXXXX)
cleanup() {
    stop_wirtd
    private_libvirtd_stop
    [ -n "${alice_home:-}" ] && rm -rf "$alice_home/wirt"
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

private_libvirtd_start "$tmp/libvirt" || tap_bail "private libvirtd does not start"
wt_users_setup || tap_bail "cannot make the test users"
alice_home=$(getent passwd "$WT_ALICE" | cut -d: -f6)
rm -rf "$alice_home/wirt"
export WIRT_SOCKET=$tmp/wirtd.sock
printf '[daemon]\nuser-group=%s\nadmin-group=%s\nstop-timeout=30\n[http]\ntoken-file=%s/tokens\n[files]\nrescan-seconds=2\n' \
    "$WT_USER_GROUP" "$WT_ADMIN_GROUP" "$tmp" >"$tmp/wirtd.conf"
"$WIRTD" --config "$tmp/wirtd.conf" --connect "$PRIVATE_LIBVIRTD_QEMU_URI" \
    --socket "$WIRT_SOCKET" --history "$tmp/history.jsonl" 2>"$tmp/wirtd.log" &
wirtd_pid=$!
for _ in $(seq 100); do [ -S "$WIRT_SOCKET" ] && break; sleep 0.05; done
tap_check "wirtd starts on a real QEMU libvirtd" test -S "$WIRT_SOCKET"

virsh_q() { virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" "$@"; }

tap_check "create a 64 MiB VM" "$WIRT" create box --memory 64
tap_like "$(virsh_q dumpxml root.box)" "<domain type='qemu'" "it is a TCG (type qemu) domain"
tap_check "start it: QEMU runs" "$WIRT" start box
tap_is "$(virsh_q domstate root.box)" running "libvirt agrees it is running"
tap_is "$("$WIRT" info box --format json | jq -r .state)" running "and so does wirt's cache"

start=$(date +%s%N)
tap_check "stop --timeout 1: the guest ignores ACPI, wirt powers it off" "$WIRT" stop box --timeout 1
ms=$((($(date +%s%N) - start) / 1000000))
tap_is "$(virsh_q domstate root.box)" "shut off" "the VM is off"
tap_like "$(jq -r 'select(.action == "stop") | .detail' "$tmp/history.jsonl")" \
    "no shutdown after 1 s: powered off" "history says it was powered off after the timeout"
if [ "$ms" -ge 1000 ] && [ "$ms" -lt 10000 ]; then
    tap_ok "it waited the timeout, not more than a few seconds beyond ($ms ms)"
else
    tap_not_ok "it waited the timeout, not more than a few seconds beyond" "took $ms ms"
fi

tap_check "start again, then stop --force powers off at once" "$WIRT" start box
tap_check "stop --force" "$WIRT" stop box --force
tap_is "$(jq -r 'select(.action == "stop") | .detail' "$tmp/history.jsonl" | tail -1)" force \
    "history records the forced stop"
tap_check "delete" "$WIRT" delete box
tap_is "$(virsh_q list --all --name | grep -c root.box)" 0 "the domain is gone from libvirt"
# The files API on real QEMU: a member's command files, the guest's state in status.json.
alice_do() { runuser -u "$WT_ALICE" -- sh -c "$1"; }
status_of() { cat "$alice_home/wirt/info/vm/fq/status.json" 2>/dev/null; }
wait_status() { # PATTERN: poll status.json for up to 30 s
    for _ in $(seq 600); do
        case "$(status_of)" in *"$1"*) return 0 ;; esac
        sleep 0.05
    done
    return 1
}
alice_do 'mkdir -p ~/wirt/command/vm/fq && echo "{\"memory\": 64}" >~/wirt/command/vm/fq/create &&
    touch ~/wirt/command/vm/fq/start'
if ! tap_check "files API: alice's create + start files boot a QEMU guest" \
    wait_status '"state":"running"'; then
    tail -n 20 "$tmp/wirtd.log" | sed 's/^/# /'
    find "$alice_home/wirt" -ls | sed 's/^/# /'
fi
tap_is "$(virsh_q domstate "$WT_ALICE.fq")" running "libvirt agrees"
tap_like "$(cat "$alice_home/wirt/logs/vm/fq.log")" "start by $WT_ALICE via files: ok" \
    "her VM log records it"
alice_do 'echo --force >~/wirt/command/vm/fq/stop'
tap_check "a stop --force file powers it off" wait_status '"state":"shutoff"'
alice_do 'touch ~/wirt/command/vm/fq/delete'
tap_check "a delete file removes it" wait_status '"state":"absent"'
tap_check "libvirt has no such domain left" bash -c "! virsh -q -c '$PRIVATE_LIBVIRTD_QEMU_URI' dominfo '$WT_ALICE.fq' 2>/dev/null"
tap_is "$(ls -A "$alice_home/wirt/command/vm/fq")" "" "every command file is gone"

tap_done
