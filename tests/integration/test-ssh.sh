#!/usr/bin/env bash
# tests/integration/test-ssh.sh: addresses and `wirt ssh` end to end on real QEMU (TCG).
#
# A private libvirtd in its own network namespace with an isolated network; the tiny box
# (scripts/make-tiny-box, cached) booted from a qcow2 overlay and a NoCloud seed holding
# wt-alice's public key, defined by hand with virsh and given to wt-alice with `wirt adopt`.
# wirtd runs inside the libvirtd's network namespace (its unix socket is a file, so the CLI
# outside reaches it) and is the only way in: the test users have no route to the guest.
# Checks: the address from the DHCP lease in `wirt info` and on the event stream, `wirt ssh`
# output, exit code and stdin, refusals (another user, an outsider, a stopped VM), the
# history line. Prints the address discovery time and the `wirt ssh -- true` round trip.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${WIRT_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
# shellcheck disable=SC1091 # tests/lib, found at run time
. "$here/../lib/tap.sh"
# shellcheck disable=SC1091
. "$here/../lib/wirtd.sh"
# shellcheck disable=SC1091
. "$here/../lib/private-libvirtd.sh"
# shellcheck disable=SC1091
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (unshare, useradd)"
for tool in libvirtd virsh qemu-system-x86_64 qemu-img dnsmasq ssh ssh-keygen nsenter jq xorriso; do
    command -v "$tool" >/dev/null || tap_skip_all "$tool not installed"
done
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

cache=${WIRT_CACHE_DIR:-/var/cache/wirt}/tiny-box
box=$cache/tiny.box
net="wirt-sshtest"
dom="wirt-ssh-web"
mac=52:54:00:78:00:10
deadline=90 # seconds for the lease and for sshd under TCG

tmp=$(mktemp -d /tmp/wirt-ssh.XXXXXX)
chmod 0755 "$tmp" # QEMU (libvirt-qemu) reads the images; the test users reach the socket
events_pid=
cleanup() {
    [ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null && wait "$events_pid" 2>/dev/null
    stop_wirtd
    if [ -n "${PRIVATE_LIBVIRTD_PID:-}" ]; then
        virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" destroy "$dom" >/dev/null 2>&1
        virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" net-destroy "$net" >/dev/null 2>&1
    fi
    private_libvirtd_stop
    [ -n "${alice_home:-}" ] && rm -rf "$alice_home/.config/wirt"
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # meson's timeout: still clean up

# --- the box, the users, alice's key, the seed -------------------------------------------
mkdir -p "$cache"
if ! out=$("$src/scripts/make-tiny-box" "$box" 2>&1); then
    tap_bail "make-tiny-box: $out"
fi
mkdir -p "$tmp/box"
tar -C "$tmp/box" -xzf "$box" box.img || tap_bail "cannot unpack $box"

wt_users_setup || tap_bail "cannot make the test users"
wirt=$(wt_reachable_bin "$WIRT")
alice_home=$(getent passwd "$WT_ALICE" | cut -d: -f6)
mkdir -p "$tmp/alice" && chown "$WT_ALICE" "$tmp/alice" && chmod 0700 "$tmp/alice"
key=$tmp/alice/id_test
runuser -u "$WT_ALICE" -- ssh-keygen -q -t ed25519 -N '' -C wt-alice -f "$key" ||
    tap_bail "cannot make alice's key"

mkdir -p "$tmp/seed"
printf 'instance-id: iid-wirt-ssh-test\nlocal-hostname: web\n' >"$tmp/seed/meta-data"
printf '#cloud-config\nssh_authorized_keys:\n  - %s\n' "$(cat "$key.pub")" >"$tmp/seed/user-data"
xorriso -as mkisofs -quiet -V cidata -J -r -o "$tmp/seed.iso" "$tmp/seed" 2>"$tmp/mkiso.log" ||
    tap_bail "cannot make the seed ISO: $(cat "$tmp/mkiso.log")"
qemu-img create -q -f qcow2 -F qcow2 -b "$tmp/box/box.img" "$tmp/web.qcow2" ||
    tap_bail "cannot make the overlay"

# --- private libvirtd, isolated network, the guest (shut off) -----------------------------
private_libvirtd_start "$tmp/libvirt" || tap_bail "private libvirtd does not start"
virsh_q() { virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" "$@"; }
cat >"$tmp/net.xml" <<EOF
<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>$net</name>
  <bridge name='wirt-ssh0' stp='off' delay='0'/>
  <ip address='10.78.0.1' netmask='255.255.255.0'>
    <dhcp><range start='10.78.0.100' end='10.78.0.200'/></dhcp>
  </ip>
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
</network>
EOF
if ! virsh_q net-define "$tmp/net.xml" >/dev/null || ! virsh_q net-start "$net" >/dev/null; then
    tap_bail "cannot start the isolated network"
fi
cat >"$tmp/web.xml" <<EOF
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$tmp/web.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='$tmp/box/box.img'/></backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$tmp/seed.iso'/>
      <target dev='vdb' bus='virtio'/><readonly/>
    </disk>
    <interface type='network'>
      <source network='$net'/><mac address='$mac'/><model type='virtio'/><rom enabled='no'/>
    </interface>
    <serial type='file'><source path='$tmp/web.console'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
virsh_q define "$tmp/web.xml" >/dev/null || tap_bail "cannot define the guest"
virsh_q domcapabilities --virttype qemu >/dev/null 2>&1 # QEMU's probe, before the clock runs

# --- wirtd inside the libvirtd's network namespace ---------------------------------------
export WIRT_SOCKET=$tmp/wirtd.sock
printf '[daemon]\nuser-group=%s\nadmin-group=%s\n[http]\ntoken-file=%s/tokens\n[files]\nenabled=false\n' \
    "$WT_USER_GROUP" "$WT_ADMIN_GROUP" "$tmp" >"$tmp/wirtd.conf"
nsenter --net="/proc/$PRIVATE_LIBVIRTD_PID/ns/net" -- "$WIRTD" --config "$tmp/wirtd.conf" \
    --connect "$PRIVATE_LIBVIRTD_QEMU_URI" --socket "$WIRT_SOCKET" \
    --history "$tmp/history.jsonl" 2>"$tmp/wirtd.log" &
# shellcheck disable=SC2034 # stop_wirtd (tests/lib/wirtd.sh) signals it
wirtd_pid=$!
for _ in $(seq 100); do [ -S "$WIRT_SOCKET" ] && break; sleep 0.05; done
tap_check "wirtd starts in the libvirtd's network namespace" test -S "$WIRT_SOCKET"
tap_check "root adopts the guest for $WT_ALICE as web" \
    "$WIRT" adopt "$dom" --owner "$WT_ALICE" --name web

as_alice() { wt_as "$WT_ALICE" "$@"; }
as_bob() { wt_as "$WT_BOB" "$@"; }
as_carol() { wt_as "$WT_CAROL" "$@"; }
tap_is "$(as_alice "$wirt" info web --format json | jq -r '.state + " " + (has("addresses") | tostring)')" \
    "shutoff false" "a shut-off VM's view has no addresses"

# --- start: the address comes from the lease, and on the event stream ---------------------
as_alice "$wirt" events --format json >"$tmp/events.jsonl" 2>"$tmp/events.err" &
events_pid=$!
sleep 0.5
t0=$(date +%s%N)
tap_check "alice starts web" as_alice "$wirt" start web
ip=
while [ $((($(date +%s%N) - t0) / 1000000)) -lt $((deadline * 1000)) ]; do
    ip=$(as_alice "$wirt" info web --format json 2>/dev/null |
        jq -r 'first(.addresses[]? | select(.family == "ipv4" and (.sources | index("lease")))) | .ip')
    [ -n "$ip" ] && break
    sleep 0.2
done
discovery_ms=$((($(date +%s%N) - t0) / 1000000))
if [ -n "$ip" ]; then
    tap_ok "wirt info web --format json: $ip from the lease, $discovery_ms ms after start"
else
    tap_not_ok "wirt info web shows the address from the lease" "none in $deadline s" \
        "$(as_alice "$wirt" info web --format json 2>&1)" "$(tail -5 "$tmp/web.console" 2>&1)"
    tap_bail "no address: nothing more to test"
fi
tap_like "$(as_alice "$wirt" info web --format json | jq -c '.addresses[0]')" \
    "^\\{\"mac\":\"$mac\",\"ip\":\"10\\.78\\.0\\.[0-9]+\",\"prefix\":24,\"family\":\"ipv4\",\"sources\":\\[\"lease\"" \
    "the address names its MAC, prefix, family and sources"
tap_like "$(as_alice "$wirt" info web)" "address: +$ip/24 \\(ipv4, $mac; from lease" \
    "wirt info web: one line per address with its sources"
tap_is "$(as_alice "$wirt" list --format json | jq '[.[] | has("addresses")] | any')" false \
    "the list carries no addresses (no libvirt call per VM)"
for _ in $(seq 50); do grep -q '"type":"addresses"' "$tmp/events.jsonl" && break; sleep 0.1; done
tap_like "$(grep '"type":"addresses"' "$tmp/events.jsonl" | head -1 | jq -r '.vm.name + " " + .addresses[0].ip')" \
    "^web $ip\$" "the event stream announced the address (type addresses)"
kill "$events_pid" 2>/dev/null
wait "$events_pid" 2>/dev/null
events_pid=
tap_diag "events: $(grep -c '"type":"addresses"' "$tmp/events.jsonl") addresses event(s)"

# --- wirt ssh ------------------------------------------------------------------------------
ssh_ms=
while [ $((($(date +%s%N) - t0) / 1000000)) -lt $((deadline * 1000)) ]; do
    if as_alice "$wirt" ssh web --ssh-key "$key" -- true 2>"$tmp/ssh.err"; then
        ssh_ms=$((($(date +%s%N) - t0) / 1000000))
        break
    fi
    sleep 0.5
done
if [ -n "$ssh_ms" ]; then
    tap_ok "wirt ssh web -- true works ($ssh_ms ms after start)"
else
    tap_not_ok "wirt ssh web -- true works" "$(cat "$tmp/ssh.err")" "$(tail -20 "$tmp/wirtd.log")"
fi
tap_like "$(as_alice "$wirt" ssh web --ssh-key "$key" -- uname -a 2>&1)" \
    '^Linux web 6\.[0-9.]+-[0-9]+-cloud-amd64 .* x86_64' "wirt ssh web -- uname -a prints the guest's uname"
tap_is "$(as_alice "$wirt" ssh web --ssh-key "$key" -- id -un 2>/dev/null)" vagrant \
    "it logs in as the VM's ssh user (default vagrant)"
tap_check_exit "the remote command's exit code comes back (exit 7)" 7 \
    as_alice "$wirt" ssh web --ssh-key "$key" -- 'exit 7'
tap_is "$(echo hi | as_alice "$wirt" ssh web --ssh-key "$key" -- cat 2>/dev/null)" hi \
    "stdin passes through (echo hi | wirt ssh web -- cat)"
big=$(head -c 3000000 /dev/urandom | as_alice "$wirt" ssh web --ssh-key "$key" -- 'wc -c' 2>/dev/null)
tap_is "$(echo "$big" | tr -d ' ')" 3000000 "3 MB of stdin arrive whole"
uuid=$(as_alice "$wirt" info web --format json | jq -r .uuid)
tap_like "$(ssh-keygen -F "wirt-$WT_ALICE-web-${uuid:0:8}" -f "$alice_home/.config/wirt/known_hosts" 2>&1)" \
    " ssh-ed25519 " "the host key is kept as wirt-OWNER-NAME-UUID8 in ~/.config/wirt/known_hosts"
tap_is "$(stat -c %a "$alice_home/.config/wirt")" 700 "the folder ~/.config/wirt is 0700"

times=()
for _ in 1 2 3 4 5; do
    s=$(date +%s%N)
    as_alice "$wirt" ssh web --ssh-key "$key" -- true 2>/dev/null
    times+=($((($(date +%s%N) - s) / 1000000)))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
tap_diag "wirt ssh web -- true round trip: median $median ms of 5 (${times[*]} ms)," \
    "address discovery $discovery_ms ms after wirt start, first ssh $ssh_ms ms after it"

# --- refusals --------------------------------------------------------------------------------
msg() { "$@" 2>&1 >/dev/null </dev/null | head -1; }
tap_is "$(msg as_bob "$wirt" ssh "$WT_ALICE/web" | sed 's/web/X/')" \
    "$(msg as_bob "$wirt" ssh "$WT_ALICE/nosuch" | sed 's/nosuch/X/')" \
    "bob's wirt ssh wt-alice/web fails exactly like a VM that does not exist"
tap_like "$(msg as_bob "$wirt" ssh-proxy "$WT_ALICE/web")" "^wirt: vm $WT_ALICE/web: not found\$" \
    "bob's ssh-proxy to alice's VM: not found (the websocket route, policy ssh)"
tap_check_exit "and exits 3 (not found)" 3 as_bob "$wirt" ssh-proxy "$WT_ALICE/web"
tap_is "$(msg as_bob "$wirt" ssh web)" "wirt: vm web: not found" "bob has no web of his own"
tap_like "$(msg as_carol "$wirt" ssh "$WT_ALICE/web")" "not a member" "an outsider is refused"
tap_check_fails "an outsider's ssh-proxy is refused" as_carol "$wirt" ssh-proxy "$WT_ALICE/web"
tap_like "$(msg "$WIRT" ssh-proxy "$WT_ALICE/web")" "ssh is for the VM's owner only" \
    "an admin (root) may not ssh into alice's VM either"
tap_like "$(jq -c 'select(.action == "ssh" and .ok)' "$tmp/history.jsonl" | head -1)" \
    "\"actor\":\"$WT_ALICE\".*\"vm\":\"web\".*\"detail\":\"open $ip:22\"" \
    "the history records each session with its address"
tap_like "$(as_alice "$wirt" history web 2>&1)" "ssh" "alice sees her ssh sessions in her history"

tap_check "alice destroys web" as_alice "$wirt" destroy web
tap_like "$(msg as_alice "$wirt" ssh web --ssh-key "$key" -- true)" "vm web: not running" \
    "wirt ssh on a stopped VM: a clear error"
tap_like "$(msg as_alice "$wirt" ssh-proxy web)" "^wirt: vm web: not running \\(shutoff\\)\$" \
    "ssh-proxy on a stopped VM: 409, not running"
tap_check_exit "and exits 6 (conflict)" 6 as_alice "$wirt" ssh-proxy web
tap_done
