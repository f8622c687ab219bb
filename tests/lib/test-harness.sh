#!/usr/bin/env bash
# tests/lib/test-harness.sh: TAP test of the integration-test harness itself
# (private-libvirtd.sh and users.sh). Needs root; skips when not root.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/tap.sh"
. "$here/private-libvirtd.sh"
. "$here/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (unshare, useradd)"
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"

tmp=$(mktemp -d /tmp/wirt-harness.XXXXXX)
cleanup() {
    private_libvirtd_stop
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

# A system libvirtd, if one runs: the private one must work beside it and leave it alone.
# Detection only: the PID of the daemon listening on the system socket.
system_pid=
if [ -S /run/libvirt/libvirt-sock ] && virsh -q -c qemu:///system uri >/dev/null 2>&1; then
    [ -r /run/libvirtd.pid ] && system_pid=$(cat /run/libvirtd.pid)
fi

if private_libvirtd_start "$tmp/libvirt"; then
    tap_ok "private libvirtd starts (PID $PRIVATE_LIBVIRTD_PID)"
else
    tap_bail "private libvirtd does not start"
fi
first_pid=$PRIVATE_LIBVIRTD_PID
tap_is "$(cat "$tmp/libvirt/libvirtd.pid")" "$first_pid" "its pid file is under DIR and names the PID we started"
tap_is "$PRIVATE_LIBVIRTD_SOCK" "$tmp/libvirt/run/libvirt/libvirt-sock" "its socket is under DIR"
tap_check "its socket is visible outside the namespace" test -S "$tmp/libvirt/run/libvirt/libvirt-sock"
tap_check_fails "the host's /run/libvirt is not a mount point (the bind stays private)" \
    mountpoint -q /run/libvirt

out=$(virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" list --all --name 2>&1)
tap_is "$out" "test" "test+unix:///default through the private daemon lists the test driver's domain"
tap_check "qemu+unix:///system through the private daemon answers" \
    virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" list --all

# The test driver's world is per daemon and shared by its clients.
virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" destroy test >/dev/null 2>&1
out=$(virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" domstate test 2>&1)
tap_is "$out" "shut off" "a change made by one test+unix client is seen by the next"

if [ -n "$system_pid" ]; then
    tap_check "the system libvirtd (PID $system_pid) still answers beside it" \
        virsh -q -c qemu:///system uri
    # A QEMU domain defined in the private daemon lives in its private /etc and /var/lib.
    name=wirt-harness-$$
    printf '%s' "<domain type='qemu'><name>$name</name><memory unit='MiB'>32</memory>
<os><type arch='x86_64'>hvm</type></os></domain>" >"$tmp/dom.xml"
    virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" define "$tmp/dom.xml" >/dev/null 2>&1
    tap_like "$(virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" list --all --name 2>&1)" "^$name\$" \
        "a QEMU domain defined in the private daemon is listed there"
    tap_check_fails "and the system libvirtd does not have it" \
        grep -qx "$name" <(virsh -q -c qemu:///system list --all --name 2>&1)
    tap_check_fails "nor does the host's /etc/libvirt/qemu" test -e "/etc/libvirt/qemu/$name.xml"
else
    tap_skip "the system libvirtd still answers beside it" "no system libvirtd runs (scripts/bootstrap starts one)"
    tap_skip "a QEMU domain defined in the private daemon is listed there" "no system libvirtd runs"
    tap_skip "and the system libvirtd does not have it" "no system libvirtd runs"
    tap_skip "nor does the host's /etc/libvirt/qemu" "no system libvirtd runs"
fi

if private_libvirtd_restart; then
    tap_ok "restart"
else
    tap_not_ok "restart"
fi
tap_check_fails "restart stopped the PID it started ($first_pid)" kill -0 "$first_pid"
tap_check "the restarted daemon answers on the same socket" \
    virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" uri
out=$(virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" domstate test 2>&1)
tap_is "$out" "running" "the test driver's world starts afresh after a restart"

second_pid=$PRIVATE_LIBVIRTD_PID
private_libvirtd_stop
tap_check_fails "stop ends the PID it started ($second_pid)" kill -0 "$second_pid"
tap_check_fails "its socket no longer answers" virsh -q -c "qemu+unix:///system?socket=$tmp/libvirt/run/libvirt/libvirt-sock" uri
if [ -n "$system_pid" ]; then
    tap_check "the system libvirtd (PID $system_pid) is untouched" kill -0 "$system_pid"
    tap_check "and still answers" virsh -q -c qemu:///system uri
else
    tap_skip "the system libvirtd is untouched" "no system libvirtd runs"
    tap_skip "and still answers" "no system libvirtd runs"
fi

# users.sh
if wt_users_setup; then
    tap_ok "wt_users_setup"
else
    tap_bail "wt_users_setup failed"
fi
tap_check "wt_users_setup is idempotent" wt_users_setup
tap_is "$(wt_as wt-alice id -un)" "wt-alice" "wt_as runs as the user"
tap_like "$(wt_as wt-alice id -Gn)" '(^| )wt-users( |$)' "wt-alice is in wt-users"
tap_like "$(wt_as wt-bob id -Gn)" '(^| )wt-users( |$)' "wt-bob is in wt-users"
tap_is "$(wt_as wt-carol id -Gn)" "wt-carol" "wt-carol is in no test group (outsider)"
tap_like "$(wt_as wt-admin1 id -Gn)" '(^| )wt-admins( |$)' "wt-admin1 is in wt-admins"
tap_check_fails "names without the wt- prefix are refused" wt_user_add alice
bin=$(wt_reachable_bin /bin/true)
tap_check "wt_reachable_bin gives a path the users can run" wt_as wt-carol "$bin"

tap_done
