#!/usr/bin/env bash
# tests/integration/test-vm-box.sh: VMs from boxes, end to end on a real libvirtd and QEMU.
#
# A private libvirtd in its own mount and network namespace (tests/lib/private-libvirtd.sh)
# with a `dir` storage pool, and the real wirtd running in that network namespace (where the
# guests' networks are), driven by the wirt CLI as real users:
#   - an admin adds the project's tiny box (scripts/make-tiny-box) as a shared box;
#   - alice makes her own isolated network and `wirt create web --box tiny --network lab
#     --ip 10.77.0.10 --disk-size 2G`: a qcow2 overlay on the box's volume (explicit formats),
#     a NoCloud seed with her ~/.ssh key, a DHCP reservation, a TCG domain;
#   - she starts it; the guest gets the reserved address, has the seed's hostname, and takes
#     her key as the box's user (ssh from inside the namespace);
#   - bob cannot use her network or see her VM; a taken address is refused and leaves
#     nothing behind; the box cannot be removed while a VM uses it;
#   - delete removes the overlay, the seed and the reservation, never the box's volume.
# Needs root, libvirtd, qemu-system-x86, qemu-img, dnsmasq, ssh, jq, and what
# scripts/make-tiny-box needs.
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

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd, unshare)"
for tool in libvirtd virsh qemu-system-x86_64 qemu-img dnsmasq ssh ssh-keygen nsenter jq; do
    command -v "$tool" >/dev/null || tap_skip_all "$tool not installed"
done
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

cache=${WIRT_CACHE_DIR:-/var/cache/wirt}/tiny-box
box=$cache/tiny.box
deadline=90 # seconds from `wirt start` to ssh before we give up

tmp=$(mktemp -d /tmp/wirt-vm-box.XXXXXX)
chmod 0755 "$tmp" # QEMU runs as libvirt-qemu and must reach the pool in here
cleanup() {
    stop_wirtd
    private_libvirtd_stop
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

mkdir -p "$cache"
if out=$("$src/scripts/make-tiny-box" "$box" 2>&1); then
    tap_ok "the tiny box is built (or reused): $box"
else
    tap_bail "make-tiny-box: $out"
fi
cp "$box" "$tmp/tiny.box" && chmod 0644 "$tmp/tiny.box"

wt_users_setup || tap_bail "cannot create the test users"
wirt=$(wt_reachable_bin "$WIRT")
private_libvirtd_start "$tmp/libvirt" || tap_bail "private libvirtd does not start"
export WIRT_SOCKET=$tmp/wirtd.sock
virsh_q() { virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" "$@"; }
in_netns() { nsenter --net="/run/netns/$PRIVATE_LIBVIRTD_NETNS_NAME" -- "$@"; }

mkdir -p "$tmp/pool"
virsh_q pool-define-as default dir --target "$tmp/pool" >/dev/null &&
    virsh_q pool-start default >/dev/null || tap_bail "cannot define the dir storage pool"
# A fresh libvirtd probes QEMU's capabilities on first use; do it before the clocks start.
virsh_q domcapabilities --virttype qemu >/dev/null 2>&1

cat >"$tmp/wirtd.conf" <<CONF
[daemon]
user-group=$WT_USER_GROUP
admin-group=$WT_ADMIN_GROUP
security-mode=owner-manage
history=$tmp/history.jsonl
[vm]
storage-pool=default
max-box-gib=2
max-disk-gib=4
domain-type=qemu
[files]
enabled=false
[http]
token-file=$tmp/tokens
[pool default]
uris=$PRIVATE_LIBVIRTD_QEMU_URI
[network shared]
subnet=10.78.0.0/24
[network pub]
mode=direct
device=wtpub0
CONF
# The "public" network's host device: one end of a veth pair inside the namespace.
ip -n "$PRIVATE_LIBVIRTD_NETNS_NAME" link add wtpub0 type veth peer name wtpub1 &&
    ip -n "$PRIVATE_LIBVIRTD_NETNS_NAME" link set wtpub0 up &&
    ip -n "$PRIVATE_LIBVIRTD_NETNS_NAME" link set wtpub1 up || tap_bail "cannot make the veth pair"
# wirtd runs where the guests' networks are: the private libvirtd's network namespace.
nsenter --net="/run/netns/$PRIVATE_LIBVIRTD_NETNS_NAME" -- \
    "$WIRTD" --config "$tmp/wirtd.conf" --socket "$WIRT_SOCKET" 2>>"$tmp/wirtd.log" &
wirtd_pid=$!
for _ in $(seq 100); do
    [ -S "$WIRT_SOCKET" ] && break
    sleep 0.05
done
[ -S "$WIRT_SOCKET" ] || {
    cat "$tmp/wirtd.log" >&2
    tap_bail "wirtd does not start"
}

as() { # as USER ARGS…: wirt as USER; stdout in $tmp/out, stderr in $tmp/err; prints the status
    local user=$1
    shift
    if [ "$user" = root ]; then
        "$wirt" "$@" >"$tmp/out" 2>"$tmp/err"
    else # runuser keeps the caller's HOME; the CLI reads ~/.ssh like ssh does
        wt_as "$user" env HOME="$(getent passwd "$user" | cut -d: -f6)" "$wirt" "$@" \
            >"$tmp/out" 2>"$tmp/err"
    fi
    echo $?
}
volumes() { virsh_q vol-list default | awk '{print $1}' | LC_ALL=C sort | paste -sd' '; }
alice_home=$(getent passwd "$WT_ALICE" | cut -d: -f6)
wt_as "$WT_ALICE" mkdir -p "$alice_home/.ssh"
# The test users may outlive a run (tests/lib/users.sh): a fresh key each time.
rm -f "$alice_home/.ssh/id_ed25519" "$alice_home/.ssh/id_ed25519.pub"
wt_as "$WT_ALICE" ssh-keygen -q -t ed25519 -N '' -C alice-test -f "$alice_home/.ssh/id_ed25519" </dev/null

# --- the box and the network ---------------------------------------------------------------
tap_is "$(as root box add tiny "$tmp/tiny.box")" 0 "an admin adds the tiny box as a shared box"
tap_diag "$(cat "$tmp/err")"
tap_is "$(as "$WT_ALICE" net create lab --subnet 10.77.0.0/24)" 0 \
    "alice creates her isolated network lab (10.77.0.0/24)"

# --- create ---------------------------------------------------------------------------------
t0=$(date +%s%N)
tap_is "$(as "$WT_ALICE" create web --box tiny --memory 256 --cpus 1 --network lab \
    --ip 10.77.0.10 --disk-size 2G)" 0 "alice: wirt create web --box tiny --network lab --ip 10.77.0.10 --disk-size 2G"
tap_diag "create took $((($(date +%s%N) - t0) / 1000000)) ms; $(cat "$tmp/err")"
as "$WT_ALICE" info web --format json >/dev/null
tap_is "$(jq -r '[.state, .box, .ssh_user, .memory_mib] | join(" ")' "$tmp/out")" \
    "shutoff shared/tiny vagrant 256" "wirt info: shut off, box shared/tiny, ssh user vagrant"
dom=$WT_ALICE.web
tap_is "$(volumes)" "box.tiny.qcow2 vm.$dom.qcow2 vm.$dom.seed.iso" \
    "the pool has the box, the VM's overlay and its seed"
vol=$(virsh_q vol-dumpxml --pool default "vm.$dom.qcow2")
tap_like "$vol" "<format type='qcow2'/>" "the overlay is qcow2"
tap_like "$(echo "$vol" | tr -d '\n ' | grep -o '<backingStore>.*</backingStore>')" \
    "<path>$tmp/pool/box.tiny.qcow2</path><formattype='qcow2'/>" \
    "its backing store is the box's volume, format given (never probed)"
tap_like "$vol" "<capacity unit='bytes'>2147483648</capacity>" "its size is --disk-size (2 GiB)"
tap_is "$(qemu-img info -U --output json "$tmp/pool/vm.$dom.qcow2" | jq -r '."backing-filename-format"')" \
    qcow2 "qemu-img: the overlay names its backing format"
xml=$(virsh_q dumpxml "$dom")
tap_like "$xml" "<domain type='qemu'" "domain type qemu ([vm] domain-type=qemu: TCG)"
tap_like "$xml" "<source network='wirt-$WT_ALICE.lab'/>" "the NIC is on alice's network"
tap_like "$xml" "<rom enabled='no'/>" "no NIC option ROM"
tap_like "$xml" "<rng model='virtio'>" "a virtio RNG"
tap_like "$xml" "vm.$dom.seed.iso" "the seed is attached"
mac=$(echo "$xml" | grep -o "<mac address='[^']*'" | cut -d"'" -f2)
tap_like "$(virsh_q net-dumpxml "wirt-$WT_ALICE.lab")" \
    "<host mac='$mac' name='web' ip='10.77.0.10'/>" "the fixed address is a DHCP reservation for the NIC's MAC"

# --- refusals -------------------------------------------------------------------------------
tap_is "$(as "$WT_BOB" create x --box tiny --network lab)" 3 "bob cannot use alice's network (404)"
tap_like "$(cat "$tmp/err")" "network wirt-$WT_BOB.lab: not found" "... it is looked up as his own, which he has not"
tap_is "$(as "$WT_BOB" info web)" 3 "bob does not see alice's VM"
tap_is "$(as "$WT_ALICE" create web2 --box tiny --network lab --ip 10.77.0.10)" 6 \
    "a second VM on a reserved address is refused (409)"
tap_is "$(volumes)" "box.tiny.qcow2 vm.$dom.qcow2 vm.$dom.seed.iso" "... and leaves no volume behind"
tap_is "$(as "$WT_ALICE" create web3 --box nosuch)" 3 "an unknown box: 404"
tap_is "$(as "$WT_ALICE" create web3 --network lab)" 2 "a network without a box: refused"
tap_like "$(cat "$tmp/err")" "need a box" "... saying it needs a box"
tap_is "$(as "$WT_ALICE" create web3 --box tiny --disk-size 64G)" 2 "a disk over max-disk-gib: refused"
tap_is "$(as "$WT_ALICE" create web3 --box tiny --ssh-key "$alice_home/.ssh/id_ed25519")" 2 \
    "a private key given as --ssh-key: refused by the CLI"
tap_like "$(cat "$tmp/err")" "not a public key file" "... saying so"
tap_is "$(as root box remove tiny)" 6 "the box cannot be removed while alice's VM uses it"
tap_like "$(cat "$tmp/err")" "uses it" "... saying which VM uses it"

# An admins' network ([network shared]) is defined where it is first used; its reservations
# carry no host name (two owners' VMs may share one).
tap_is "$(as "$WT_BOB" create web --box tiny --network shared --ip 10.78.0.20)" 0 \
    "bob: a VM named web too, on the admins' network shared, at 10.78.0.20"
tap_is "$(virsh_q net-info wirt-shared | awk '/^Active:/ {print $2}')" yes \
    "the admins' network was defined and started on demand"
bob_mac=$(virsh_q dumpxml "$WT_BOB.web" | grep -o "<mac address='[^']*'" | cut -d"'" -f2)
tap_like "$(virsh_q net-dumpxml wirt-shared)" "<host mac='$bob_mac' ip='10.78.0.20'/>" \
    "its reservation has no host name"
tap_is "$(as "$WT_BOB" delete web)" 0 "bob deletes his web"
tap_is "$(virsh_q net-dumpxml wirt-shared | grep -c '<host ')" 0 "... and its reservation goes"
tap_is "$(as "$WT_ALICE" info web --format json >/dev/null; jq -r .state "$tmp/out")" shutoff \
    "alice's web is untouched"

# --- boot and log in ------------------------------------------------------------------------
t0=$(date +%s%N)
tap_is "$(as "$WT_ALICE" start web)" 0 "alice starts web"
ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
    -o ConnectTimeout=2 -o LogLevel=ERROR -o IdentitiesOnly=yes -i "$alice_home/.ssh/id_ed25519")
up_ms=
while [ $((($(date +%s%N) - t0) / 1000000)) -lt $((deadline * 1000)) ]; do
    if in_netns ssh "${ssh_opts[@]}" vagrant@10.77.0.10 true 2>/dev/null; then
        up_ms=$((($(date +%s%N) - t0) / 1000000))
        break
    fi
    sleep 0.2
done
if [ -n "$up_ms" ]; then
    tap_ok "ssh vagrant@10.77.0.10 (the reserved address) with alice's own key"
    tap_diag "start to ssh: $up_ms ms (TCG; load $(cut -d' ' -f1-3 /proc/loadavg))"
else
    tap_not_ok "ssh vagrant@10.77.0.10 with alice's own key" "no ssh in $deadline s" \
        "$(virsh_q net-dhcp-leases "wirt-$WT_ALICE.lab" 2>&1)"
fi
tap_is "$(in_netns ssh "${ssh_opts[@]}" vagrant@10.77.0.10 hostname 2>&1)" web \
    "the guest's hostname is the VM's name (from the seed)"
tap_is "$(in_netns ssh "${ssh_opts[@]}" vagrant@10.77.0.10 \
    "cat /sys/block/vda/size" 2>&1)" 4194304 "the guest's disk is 2 GiB (4194304 sectors)"

# --- wirt ssh: through wirtd, no route needed, alice's key, the box's user ---------------------
t0=$(date +%s%N)
tap_is "$(as "$WT_ALICE" ssh web -- uname -n)" 0 "alice: wirt ssh web -- uname -n"
tap_is "$(cat "$tmp/out")" web "... runs in the guest (round trip $((($(date +%s%N) - t0) / 1000000)) ms)"
tap_is "$(as "$WT_ALICE" ssh web -- 'exit 3')" 3 "the remote exit code comes back"
tap_is "$(as "$WT_BOB" ssh web -- true)" 3 "bob cannot ssh into alice's VM (as if it did not exist)"
as "$WT_ALICE" info web --format json >/dev/null
tap_is "$(jq -r '[.addresses[]? | select(.ip == "10.77.0.10") | .sources[]] | index("lease") != null' "$tmp/out")" \
    true "wirt info shows the reserved address, from the DHCP lease"

# --- vagrant-libvirt's per-VM options: q35, a cache mode; a dynamic address ------------------
tap_is "$(as "$WT_ALICE" create db --box tiny --memory 256 --network lab --machine q35 \
    --disk-cache unsafe)" 0 "alice: wirt create db --box tiny --machine q35 --disk-cache unsafe"
xml=$(virsh_q dumpxml "$WT_ALICE.db")
tap_like "$xml" "machine='pc-q35" "the domain is a q35 machine"
tap_like "$xml" "cache='unsafe'" "its disk has the cache mode"
tap_like "$xml" "<target dev='sda' bus='scsi'/>" "its seed is on virtio-scsi (q35 has no IDE)"
tap_is "$(as "$WT_ALICE" create nest --box tiny --nested)" 2 "--nested on a TCG host: refused"
tap_like "$(cat "$tmp/err")" "needs KVM" "... saying it needs KVM"
tap_is "$(volumes)" "box.tiny.qcow2 vm.$WT_ALICE.db.qcow2 vm.$WT_ALICE.db.seed.iso vm.$dom.qcow2 vm.$dom.seed.iso" \
    "... and leaves no volume behind"
tap_is "$(as "$WT_ALICE" start db)" 0 "alice starts db"
ok=
for _ in $(seq $((deadline * 2))); do
    if [ "$(as "$WT_ALICE" ssh db -- hostname)" = 0 ]; then
        ok=1
        break
    fi
    sleep 0.5
done
tap_is "${ok:+$(cat "$tmp/out")}" db "wirt ssh db -- hostname: the q35 guest read its seed and got a lease"
tap_is "$(as "$WT_ALICE" destroy db)$(as "$WT_ALICE" delete db)" 00 "alice destroys and deletes db"

# --- a public network: macvtap on a host device (vagrant-libvirt's public_network) ---------------
tap_is "$(as "$WT_ALICE" net create mine --subnet 10.79.0.0/24 --mode direct)" 2 \
    "users cannot make a direct (macvtap) network"
tap_is "$(as "$WT_ALICE" create pubvm --box tiny --network pub --ip 10.1.1.5)" 2 \
    "no fixed address on a direct network (no DHCP of wirt's there)"
tap_is "$(as "$WT_ALICE" create pubvm --box tiny --memory 256 --network pub)" 0 \
    "alice: wirt create pubvm --box tiny --network pub (the admins' direct network)"
tap_like "$(virsh_q net-dumpxml wirt-pub | tr -d '\n ')" "<forward(dev='wtpub0')?mode='bridge'><interfacedev='wtpub0'/>" \
    "the network is macvtap in bridge mode on wtpub0, defined on first use"
tap_is "$(as "$WT_ALICE" start pubvm)" 0 "alice starts pubvm"
tap_like "$(virsh_q dumpxml "$WT_ALICE.pubvm" | tr -d '\n')" "<interface type='direct'>.*dev='wtpub0' mode='bridge'" \
    "the running guest's NIC is a macvtap on wtpub0"
tap_is "$(as "$WT_ALICE" destroy pubvm)$(as "$WT_ALICE" delete pubvm)" 00 "alice destroys and deletes pubvm"

# --- a libvirtd restart under a running VM ---------------------------------------------------
private_libvirtd_restart || tap_bail "the private libvirtd does not restart"
ok=
for _ in $(seq 100); do
    if [ "$(as "$WT_ALICE" info web --format json)" = 0 ] &&
        [ "$(jq -r .state "$tmp/out")" = running ]; then
        ok=1
        break
    fi
    sleep 0.2
done
if [ -n "$ok" ]; then
    tap_ok "after libvirtd restarts, wirt info web says running again"
else
    tap_not_ok "after libvirtd restarts, wirt info web says running again" "$(cat "$tmp/out" "$tmp/err")"
fi
tap_is "$(in_netns ssh "${ssh_opts[@]}" vagrant@10.77.0.10 'echo still here' 2>&1)" "still here" \
    "the guest ran on through the restart"

# --- power off and on: the same VM, the same host key (kept on its disk) -----------------------
tap_is "$(as "$WT_ALICE" destroy web)$(as "$WT_ALICE" start web)" 00 "alice powers web off and on"
ok=
for _ in $(seq $((deadline * 2))); do
    if [ "$(as "$WT_ALICE" ssh web -- 'echo back')" = 0 ]; then
        ok=1
        break
    fi
    sleep 0.5
done
tap_is "${ok:+$(cat "$tmp/out")}" back \
    "wirt ssh web works again: the guest kept its host key (known_hosts is strict)"
[ -n "$ok" ] || tap_diag "$(cat "$tmp/err")"

# --- delete ----------------------------------------------------------------------------------
tap_is "$(as "$WT_ALICE" delete web)" 6 "a running VM is not deleted"
tap_is "$(as "$WT_ALICE" destroy web)" 0 "alice destroys web"
tap_is "$(as "$WT_ALICE" delete web)" 0 "alice deletes web"
tap_is "$(volumes)" "box.tiny.qcow2" "its overlay and seed are gone; the box's volume stays"
tap_is "$(virsh_q net-dumpxml "wirt-$WT_ALICE.lab" | grep -c "<host mac=")" 0 "its DHCP reservation is gone"
tap_is "$(as root box remove tiny)" 0 "with no VM on it, the box can be removed"
tap_is "$(volumes)" "" "the pool is empty"
tap_is "$(grep -c '"action":"create"' "$tmp/history.jsonl")" 11 "every create (and refusal) is in the history"
tap_like "$(grep '"action":"create"' "$tmp/history.jsonl" | head -1)" "box=tiny network=lab ip=10.77.0.10" \
    "... with the box, network and address"

stop_wirtd
tap_is "$wirtd_status" 0 "wirtd exits cleanly"
[ "$wirtd_status" = 0 ] || tap_diag "wirtd's log:" "$(tail -60 "$tmp/wirtd.log")"
tap_done
