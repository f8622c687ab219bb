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

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (unshare)"
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"
command -v qemu-system-x86_64 >/dev/null || tap_skip_all "qemu-system-x86 not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-qemu.XXXXXX)
cleanup() {
    stop_wirtd
    private_libvirtd_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

private_libvirtd_start "$tmp/libvirt" || tap_bail "private libvirtd does not start"
export WIRT_SOCKET=$tmp/wirtd.sock
printf '[daemon]\nuser-group=root\nstop-timeout=30\n[http]\ntoken-file=%s/tokens\n' "$tmp" >"$tmp/wirtd.conf"
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
tap_done
