#!/usr/bin/env bash
# tests/integration/test-tiny-box.sh: the tiny box boots under TCG and answers SSH.
#
# Builds the tiny box with scripts/make-tiny-box (or reuses the cached, up-to-date one),
# starts a private libvirtd in its own mount and network namespace, defines an isolated
# network (no <forward>: nothing leaves the machine) inside it, and `virsh create`s a
# `<domain type='qemu'>` from a qcow2 overlay of box.img plus a NoCloud `cidata` ISO with
# keys this test makes. Then, inside the daemon's network namespace, ssh as `vagrant`
# (with the seed's keys and with Vagrant's insecure key) and as root: uname, hostname from
# the seed, exit codes. Prints the time from `virsh create` to the first successful ssh.
#
# Env: WIRT_CACHE_DIR (default /var/cache/wirt): where make-tiny-box caches packages and
# this test keeps the box (tiny-box/tiny.box). Needs root, libvirtd, qemu-system-x86,
# dnsmasq-base, xorriso (or genisoimage), openssh-client, and the packages of
# scripts/bootstrap for make-tiny-box.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${WIRT_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
# shellcheck disable=SC1091 # tests/lib, found at run time
. "$here/../lib/tap.sh"
# shellcheck disable=SC1091
. "$here/../lib/private-libvirtd.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (unshare, libvirtd)"
for tool in libvirtd virsh qemu-system-x86_64 qemu-img dnsmasq ssh ssh-keygen nsenter jq; do
    command -v "$tool" >/dev/null || tap_skip_all "$tool not installed"
done
if command -v xorriso >/dev/null; then
    mkiso=(xorriso -as mkisofs -quiet)
elif command -v genisoimage >/dev/null; then
    mkiso=(genisoimage -quiet)
else
    tap_skip_all "neither xorriso nor genisoimage installed"
fi

cache=${WIRT_CACHE_DIR:-/var/cache/wirt}/tiny-box
box=$cache/tiny.box
net=wirt-tiny
dom=wirt-tiny-test
mac=52:54:00:77:00:10
deadline=60 # seconds from `virsh create` to ssh before we give up (the goal is < 10 s)

tmp=$(mktemp -d /tmp/wirt-tiny-box.XXXXXX)
chmod 0755 "$tmp" # QEMU runs as libvirt-qemu and must reach the images in here
cleanup() {
    if [ -n "${PRIVATE_LIBVIRTD_PID:-}" ]; then
        virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" destroy "$dom" >/dev/null 2>&1
        virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" destroy "$dom-cd" >/dev/null 2>&1
        virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" net-destroy "$net" >/dev/null 2>&1
        virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" net-undefine "$net" >/dev/null 2>&1
    fi
    private_libvirtd_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # meson's timeout: still clean up

# --- the box ------------------------------------------------------------------------
mkdir -p "$cache"
build_start=$(date +%s)
if out=$("$src/scripts/make-tiny-box" "$box" 2>&1); then
    tap_ok "make-tiny-box builds (or reuses) $box in $(($(date +%s) - build_start)) s"
    tap_diag "$out"
else
    tap_not_ok "make-tiny-box builds $box" "$out"
    tap_bail "no box to boot"
fi
mkdir -p "$tmp/box"
tap_check "the box is a tar.gz with metadata.json, Vagrantfile and box.img" \
    tar -C "$tmp/box" -xzf "$box" metadata.json Vagrantfile box.img
tap_is "$(jq -c '[.provider, .format, (.virtual_size | type)]' "$tmp/box/metadata.json" 2>&1)" \
    '["libvirt","qcow2","number"]' "metadata.json is vagrant-libvirt's (libvirt, qcow2, size in GB)"
tap_is "$(qemu-img info -f qcow2 --output json "$tmp/box/box.img" 2>&1 | jq -r '.format + " " + (has("backing-filename") | tostring)')" \
    "qcow2 false" "box.img is qcow2 without a backing file"
size_mb=$(($(stat -c %s "$box") / 1048576))
if [ "$size_mb" -lt 40 ]; then
    tap_ok "the box is small (${size_mb} MiB)"
else
    tap_not_ok "the box is small" "${size_mb} MiB"
fi

# --- the guest's disks: an overlay and a NoCloud seed with this test's keys ------------
ssh-keygen -q -t ed25519 -N '' -C wirt-tiny-test -f "$tmp/key"
ssh-keygen -q -t ed25519 -N '' -C wirt-tiny-user -f "$tmp/userkey"
vagrant_debs=("$cache"/debs/vagrant_*.deb) # make-tiny-box took the public key from it
dpkg-deb --fsys-tarfile "${vagrant_debs[-1]}" |
    tar -xO --wildcards '*/keys/vagrant' >"$tmp/insecure" 2>/dev/null
chmod 0600 "$tmp/insecure"
mkdir -p "$tmp/seed"
printf 'instance-id: iid-wirt-tiny-test\nlocal-hostname: tinytest\n' >"$tmp/seed/meta-data"
cat >"$tmp/seed/user-data" <<EOF
#cloud-config
ssh_authorized_keys:
  - $(cat "$tmp/key.pub")
users:
  - default
  - name: vagrant
    ssh_authorized_keys:
      - "$(cat "$tmp/userkey.pub")"
EOF
"${mkiso[@]}" -V cidata -J -r -o "$tmp/seed.iso" "$tmp/seed" 2>"$tmp/mkiso.log" ||
    tap_bail "cannot make the seed ISO: $(cat "$tmp/mkiso.log")"

# --- private libvirtd, isolated network ----------------------------------------------
private_libvirtd_start "$tmp/libvirt" || tap_bail "private libvirtd does not start"
virsh_q() { virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" "$@"; }
in_netns() { nsenter --net="/proc/$PRIVATE_LIBVIRTD_PID/ns/net" -- "$@"; }

cat >"$tmp/net.xml" <<EOF
<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>$net</name>
  <bridge name='wirt-tiny0' stp='off' delay='0'/>
  <ip address='10.77.0.1' netmask='255.255.255.0'>
    <dhcp><range start='10.77.0.100' end='10.77.0.200'/></dhcp>
  </ip>
  <!-- dnsmasq pings a dynamic address for up to 3 s before offering it; a fresh isolated
       network needs no such check -->
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
</network>
EOF
tap_check "define the isolated network $net (no <forward>)" virsh_q net-define "$tmp/net.xml"
tap_check "start it inside the daemon's network namespace" virsh_q net-start "$net"
tap_is "$(ip -o link show wirt-tiny0 2>/dev/null | wc -l)" 0 "its bridge is not in the host's namespace"

# domain_xml NAME MAC SEED_BUS: a 256 MiB, 1 vCPU TCG domain booting an overlay of box.img
# from its disk, with the seed ISO as a virtio disk (SEED_BUS=virtio) or an IDE CD-ROM (ide).
domain_xml() {
    local name=$1 mac=$2 seed
    qemu-img create -q -f qcow2 -F qcow2 -b "$tmp/box/box.img" "$tmp/$name.qcow2"
    if [ "$3" = virtio ]; then
        seed="<disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='$tmp/seed.iso'/><target dev='vdb' bus='virtio'/><readonly/></disk>"
    else
        seed="<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>
      <source file='$tmp/seed.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>"
    fi
    cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$tmp/$name.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='$tmp/box/box.img'/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    $seed
    <interface type='network'>
      <source network='$net'/>
      <mac address='$mac'/>
      <model type='virtio'/>
      <rom enabled='no'/>
    </interface>
    <serial type='file'><source path='$tmp/$name.console'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# --- boot and wait for SSH -------------------------------------------------------------
# A fresh libvirtd probes QEMU's capabilities on first use; do it before the clock starts,
# as on any host that has run a VM before.
virsh_q domcapabilities --virttype qemu >/dev/null 2>&1
ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
    -o ConnectTimeout=2 -o LogLevel=ERROR -o IdentitiesOnly=yes)

# boot_guest NAME MAC SEED_BUS: virsh create, wait for the lease and the first ssh as
# vagrant with the seed's key; sets ip_addr, lease_ms and ssh_ms (empty when it failed).
boot_guest() {
    local name=$1 mac=$2 t0 out
    ip_addr="" lease_ms="" ssh_ms=""
    domain_xml "$@" >"$tmp/$name.xml"
    t0=$(date +%s%N)
    if ! out=$(virsh_q create "$tmp/$name.xml" 2>&1); then
        tap_not_ok "virsh create $name (256 MiB, 1 vCPU, TCG; seed on $3)" "$out"
        return 1
    fi
    tap_ok "virsh create $name (256 MiB, 1 vCPU, TCG; seed on $3)"
    tap_diag "virsh create returned after $((($(date +%s%N) - t0) / 1000000)) ms"
    while [ $((($(date +%s%N) - t0) / 1000000)) -lt $((deadline * 1000)) ]; do
        if [ -z "$ip_addr" ]; then
            ip_addr=$(virsh_q net-dhcp-leases "$net" --mac "$mac" 2>/dev/null |
                awk '$5 ~ /^10\.77\.0\./ { sub(/\/.*/, "", $5); print $5; exit }')
            [ -n "$ip_addr" ] && lease_ms=$((($(date +%s%N) - t0) / 1000000))
        fi
        if [ -n "$ip_addr" ] &&
            in_netns ssh "${ssh_opts[@]}" -i "$tmp/key" "vagrant@$ip_addr" true 2>/dev/null; then
            ssh_ms=$((($(date +%s%N) - t0) / 1000000))
            break
        fi
        sleep 0.1
    done
    if [ -n "$ip_addr" ]; then
        tap_ok "$name got a DHCP lease: $ip_addr after $lease_ms ms"
    else
        tap_not_ok "$name got a DHCP lease" "none in $deadline s; console:" "$(cat "$tmp/$name.console" 2>&1)"
    fi
    if [ -n "$ssh_ms" ]; then
        tap_ok "ssh vagrant@$ip_addr with the seed's key works"
        tap_diag "boot to ssh: $ssh_ms ms from virsh create to the first successful ssh ($name," \
            "seed on $3; goal < 10000 ms under TCG); load average $(cut -d' ' -f1-3 /proc/loadavg)" \
            "guest console:" "$(grep -a 'tiny-box:' "$tmp/$name.console")"
    else
        tap_not_ok "ssh vagrant@$ip_addr with the seed's key works" "no ssh in $deadline s; console:" \
            "$(cat "$tmp/$name.console" 2>&1)"
    fi
}

boot_guest "$dom" "$mac" virtio || tap_bail "the guest does not start"

guest() { # guest KEY USER COMMAND...
    local key=$1 user=$2
    shift 2
    in_netns ssh "${ssh_opts[@]}" -i "$key" "$user@$ip_addr" "$@"
}
tap_like "$(guest "$tmp/key" vagrant uname -a 2>&1)" '^Linux tinytest 6\.[0-9.]+-[0-9]+-cloud-amd64 .* x86_64' \
    "uname -a: Debian's cloud kernel, hostname from the seed"
tap_is "$(guest "$tmp/key" vagrant hostname 2>&1)" tinytest "hostname is the seed's local-hostname"
# shellcheck disable=SC2016 # $HOME is the guest's
tap_is "$(guest "$tmp/key" vagrant id -un 2>&1) $(guest "$tmp/key" vagrant 'echo $HOME' 2>&1)" \
    "vagrant /home/vagrant" "the seed's key logs in as vagrant, home /home/vagrant"
tap_check_exit "the remote command's exit code comes back (exit 7)" 7 guest "$tmp/key" vagrant 'exit 7'
tap_is "$(guest "$tmp/userkey" vagrant id -u 2>&1)" 1000 "a key from the seed's users: list logs in too (uid 1000)"
tap_is "$(guest "$tmp/insecure" vagrant id -un 2>&1)" vagrant "Vagrant's insecure key (Debian's vagrant package) logs in as vagrant"
tap_is "$(guest "$tmp/key" root id -u 2>&1)" 0 "the seed's key logs in as root too"
tap_check_fails "the insecure key is not root's" guest "$tmp/insecure" root true
tap_is "$(guest "$tmp/key" vagrant 'ip route | grep -c default' 2>&1)" 0 \
    "the isolated network offers no default route (no router in the lease)"

# ACPI power button (what `wirt stop` sends first): busybox acpid powers the guest off.
tap_check "virsh shutdown (ACPI power button)" virsh_q shutdown "$dom"
gone=
for _ in $(seq 1 150); do
    if ! virsh_q domstate "$dom" >/dev/null 2>&1; then
        gone=1
        break
    fi
    sleep 0.2
done
if [ -n "$gone" ]; then
    tap_ok "the guest powers itself off on the ACPI power button"
else
    tap_not_ok "the guest powers itself off on the ACPI power button" "still $(virsh_q domstate "$dom" 2>&1) after 30 s"
fi

# The same box with the seed on an IDE CD-ROM (as vagrant-libvirt and most clouds attach it).
boot_guest "$dom-cd" 52:54:00:77:00:11 ide || tap_bail "the second guest does not start"
tap_is "$(guest "$tmp/key" vagrant hostname 2>&1)" tinytest "the seed on a CD-ROM is read too (hostname)"
virsh_q destroy "$dom-cd" >/dev/null 2>&1
tap_done
