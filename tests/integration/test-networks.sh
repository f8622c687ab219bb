#!/usr/bin/env bash
# tests/integration/test-networks.sh: `wirt net create|list|delete` end to end (issue 3, E12).
#
# A private libvirtd (its QEMU driver's network driver: real bridges and dnsmasq, inside
# the daemon's own network namespace), the real wirtd, the wirt CLI as real users: alice
# creates `lab`, libvirt runs it under its wirt name and bridge; bob can neither see nor
# delete it (404, like a missing one); an admins' hidden network is invisible to users;
# bad names, subnets and modes are refused with the reason; NAT is refused for users unless
# the config allows it; the quota holds; a network a VM uses cannot be deleted; delete
# removes it from libvirt. Needs root, libvirtd, dnsmasq, curl and jq.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/private-libvirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd, unshare)"
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"
command -v dnsmasq >/dev/null || tap_skip_all "dnsmasq not installed (libvirt's DHCP)"
command -v jq >/dev/null || tap_skip_all "jq not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-networks.XXXXXX)
chmod 0755 "$tmp"
cleanup() {
    stop_wirtd
    private_libvirtd_stop
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

wt_users_setup || tap_bail "cannot create the test users"
wirt=$(wt_reachable_bin "$WIRT")
private_libvirtd_start "$tmp/libvirt" || tap_bail "private libvirtd does not start"
export WIRT_SOCKET=$tmp/wirtd.sock
virsh_q() { virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" "$@"; }

cat >"$tmp/wirtd.conf" <<CONF
[daemon]
user-group=wt-users
admin-group=wt-admins
security-mode=owner-manage
history=$tmp/history.jsonl
[vm]
max-networks-per-user=2
[files]
enabled=false
[http]
token-file=$tmp/tokens
[pool default]
uris=$PRIVATE_LIBVIRTD_QEMU_URI
[network shared]
subnet=10.70.0.0/24
[network ops]
subnet=10.71.0.0/24
mode=route
hidden=true
CONF

"$WIRTD" --config "$tmp/wirtd.conf" --socket "$WIRT_SOCKET" 2>>"$tmp/wirtd.log" &
wirtd_pid=$!
for _ in $(seq 100); do [ -S "$WIRT_SOCKET" ] && break; sleep 0.05; done
[ -S "$WIRT_SOCKET" ] || { cat "$tmp/wirtd.log" >&2; tap_bail "wirtd does not start"; }
# The host connects in a worker: wait until a list answers.
for _ in $(seq 100); do "$wirt" net list >/dev/null 2>&1 && break; sleep 0.1; done

as() { # as USER ARGS…: wirt as USER; stdout to $tmp/out, stderr to $tmp/err, exit status out
    local user=$1
    shift
    wt_as "$user" "$wirt" "$@" >"$tmp/out" 2>"$tmp/err"
    echo $?
}
http_as() { # http_as USER CURL-ARGS…: body to $tmp/body, status to stdout
    local user=$1
    shift
    wt_as "$user" curl -s -w '\n%{http_code}' --unix-socket "$WIRT_SOCKET" "$@" >"$tmp/raw"
    sed '$d' "$tmp/raw" >"$tmp/body"
    tail -n 1 "$tmp/raw"
}
lv_nets() { virsh_q net-list --all --name | sort | paste -sd' '; }

# --- create ---------------------------------------------------------------------------------
tap_is "$(as wt-alice net create lab --subnet 10.77.0.0/24)" 0 "alice creates her network 'lab'"
tap_like "$(cat "$tmp/out")" "^network lab: created \(isolated 10.77.0.0/24, libvirt network wirt-wt-alice.lab, bridge wbr[0-9a-f]{12}\)" \
    "and is told its libvirt name and bridge"
tap_like "$(virsh_q net-list --name)" "wirt-wt-alice.lab" "libvirt runs it as wirt-wt-alice.lab"
tap_is "$(virsh_q net-info wirt-wt-alice.lab | awk '/^Autostart:/ {print $2}')" yes "autostarted"
bridge=$(virsh_q net-info wirt-wt-alice.lab | awk '/^Bridge:/ {print $2}')
tap_like "$bridge" '^wbr[0-9a-f]{12}$' "on a bridge named by wirt ($bridge)"
tap_like "$(virsh_q net-dumpxml wirt-wt-alice.lab)" "owner=.wt-alice. name=.lab. mode=.isolated." \
    "with wirt's metadata"
tap_like "$(virsh_q net-dumpxml wirt-wt-alice.lab)" "<range start=.10.77.0.2. end=.10.77.0.254." \
    "and DHCP over the subnet"
tap_check_fails "no <forward>: isolated" sh -c "virsh -q -c '$PRIVATE_LIBVIRTD_QEMU_URI' net-dumpxml wirt-wt-alice.lab | grep -q '<forward'"
tap_is "$(as wt-alice net create lab --subnet 10.78.0.0/24)" 6 "a second 'lab' is refused (exit 6, conflict)"
tap_like "$(cat "$tmp/err")" "exists already" "because it exists already"

# --- list -----------------------------------------------------------------------------------
tap_is "$(as wt-alice net list)" 0 "alice lists networks"
tap_like "$(cat "$tmp/out")" "^NAME +OWNER +MODE +SUBNET +DHCP +ACTIVE" "as a table"
tap_like "$(grep '^lab ' "$tmp/out")" "^lab +wt-alice +isolated +10.77.0.0/24 +yes +yes" "lab: hers, active"
tap_like "$(grep '^shared ' "$tmp/out")" "^shared +admins +isolated +10.70.0.0/24 +yes +no" \
    "the admins' network 'shared', not active until brought up"
tap_check_fails "the hidden admins' network is not listed for alice" grep -q '^ops' "$tmp/out"
tap_is "$(as wt-alice net list --format json)" 0 "list --format json"
tap_is "$(jq -r '[.[].name] | sort | join(" ")' "$tmp/out")" "lab shared" "JSON: lab and shared"
tap_is "$(as wt-bob net list --format json)" 0 "bob lists networks"
tap_is "$(jq -r '[.[].name] | sort | join(" ")' "$tmp/out")" "shared" "bob sees only the admins' visible one"
tap_is "$(as wt-admin1 net list --format json)" 0 "an admin lists networks"
tap_is "$(jq -r '[.[] | "\(.owner // "-")/\(.name)"] | sort | join(" ")' "$tmp/out")" \
    "-/ops -/shared wt-alice/lab" "the admin sees all, the hidden one too"

# --- another user's network is a missing one ------------------------------------------------
tap_is "$(http_as wt-bob http://wirt/1.0/networks/lab?owner=wt-alice)" 404 "bob GETs alice's lab: 404"
tap_is "$(jq -r .error.message "$tmp/body")" "network wt-alice/lab: not found" "worded like a missing network"
tap_is "$(http_as wt-bob http://wirt/1.0/networks/lab)" 404 "bob's own 'lab' does not exist: 404"
tap_is "$(as wt-bob net delete lab --owner wt-alice)" 3 "bob cannot delete alice's lab (exit 3, not found)"
tap_is "$(as wt-bob net delete lab)" 3 "nor a 'lab' of his own that does not exist"
tap_like "$(virsh_q net-list --name)" "wirt-wt-alice.lab" "alice's lab still runs"
tap_is "$(http_as wt-alice http://wirt/1.0/networks/ops)" 404 "alice GETs the hidden 'ops': 404"
tap_is "$(http_as wt-alice http://wirt/1.0/networks/shared):$(jq -r .owner "$tmp/body")" "200:null" \
    "alice GETs the visible admins' 'shared'"
tap_is "$(http_as wt-alice -X DELETE http://wirt/1.0/networks/shared)" 404 \
    "alice's DELETE of 'shared' means her own 'shared' (none): 404"

# --- refused with the reason ----------------------------------------------------------------
tap_is "$(as wt-alice net create bad --subnet 10.77.0.1/24)" 2 "a subnet with host bits is refused (exit 2)"
tap_like "$(cat "$tmp/err")" "10.77.0.1/24" "naming the subnet"
tap_is "$(as wt-alice net create bad --subnet 10.0.0.0/31)" 2 "a /31 is refused"
tap_is "$(as wt-alice net create bad --subnet banana)" 2 "a subnet that is no address is refused"
tap_is "$(as wt-alice net create bad)" 2 "no subnet: refused"
tap_like "$(cat "$tmp/err")" "subnet is required" "saying a subnet is required"
tap_is "$(as wt-alice net create 'bad.name' --subnet 10.79.0.0/24)" 2 "a name with a dot is refused"
tap_is "$(http_as wt-alice -X POST -H 'Content-Type: application/json' \
    --data '{"name":"../x","subnet":"10.79.0.0/24"}' http://wirt/1.0/networks)" 400 "over HTTP too (400)"
tap_is "$(as wt-alice net create bad --subnet 10.79.0.0/24 --mode bridge)" 2 "an unknown mode is refused"
tap_is "$(as wt-alice net create natty --subnet 10.79.0.0/24 --mode nat)" 4 \
    "NAT is refused for users (exit 4, denied)"
tap_like "$(cat "$tmp/err")" "allow-nat-networks" "naming the switch that allows it"
tap_is "$(as wt-admin1 net create whatever --subnet 10.79.0.0/24)" 2 \
    "admins' networks come from the config: an unknown one is refused"
tap_is "$(lv_nets)" "wirt-wt-alice.lab" "nothing refused reached libvirt"

# --- quota ----------------------------------------------------------------------------------
tap_is "$(as wt-alice net create lab2 --subnet 10.80.0.0/24 --mode route --no-dhcp)" 0 \
    "alice's second network: routed, no DHCP"
tap_check_fails "no DHCP range" sh -c "virsh -q -c '$PRIVATE_LIBVIRTD_QEMU_URI' net-dumpxml wirt-wt-alice.lab2 | grep -q '<range'"
tap_like "$(virsh_q net-dumpxml wirt-wt-alice.lab2)" "<forward mode=.route." "forward mode route"
tap_is "$(as wt-alice net create lab3 --subnet 10.81.0.0/24)" 5 "a third is over the quota (exit 5)"
tap_like "$(cat "$tmp/err")" "quota: networks 2 of 2 used" "the quota is named"

# --- admins' networks on demand -------------------------------------------------------------
tap_is "$(as wt-alice net create shared)" 2 \
    "for alice, 'shared' names a network of her own (it needs a subnet), never the admins'"
tap_is "$(as wt-admin1 net create shared)" 0 "an admin brings up 'shared'"
tap_like "$(virsh_q net-list --name)" "wirt-shared" "libvirt runs it as wirt-shared"
tap_is "$(as wt-admin1 net create shared)" 0 "doing it again is fine (already up)"
tap_is "$(as wt-alice net list --format json)" 0 "alice lists again"
tap_is "$(jq -r '.[] | select(.name == "shared") | .active' "$tmp/out")" true "'shared' is active now"

# --- an admin makes a user's network ---------------------------------------------------------
tap_is "$(as wt-admin1 net create lab --owner wt-bob --subnet 10.82.0.0/24 --mode nat)" 0 \
    "an admin creates bob's 'lab' (NAT: the admin's decision)"
tap_is "$(as wt-bob net list --format json)" 0 "bob lists networks"
tap_is "$(jq -r '.[] | select(.name == "lab") | "\(.owner) \(.mode) \(.active)"' "$tmp/out")" \
    "wt-bob nat true" "bob sees his own NAT 'lab', running"
tap_is "$(as wt-bob net delete lab)" 0 "bob deletes it"

# --- in use, then delete --------------------------------------------------------------------
cat >"$tmp/dom.xml" <<'XML'
<domain type='qemu'>
  <name>netuser</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='network'><source network='wirt-wt-alice.lab'/><model type='virtio'/></interface>
  </devices>
</domain>
XML
if virsh_q define "$tmp/dom.xml" >/dev/null 2>&1; then
    tap_is "$(as wt-alice net delete lab)" 6 "a network a VM uses cannot be deleted (exit 6, conflict)"
    tap_like "$(cat "$tmp/err")" "VM netuser" "naming the VM"
    virsh_q undefine netuser >/dev/null
else
    tap_skip "a network in use cannot be deleted" "the QEMU driver cannot define a domain here"
fi
tap_is "$(as wt-alice net delete lab)" 0 "alice deletes lab"
tap_is "$(cat "$tmp/out")" "network lab: deleted" "and is told so"
tap_is "$(lv_nets)" "wirt-shared wirt-wt-alice.lab2" "lab is gone from libvirt (destroyed and undefined)"
tap_is "$(as wt-alice net delete lab)" 3 "deleting it again: not found"
tap_is "$(as wt-alice net delete lab2 --format json)" 0 "alice deletes lab2"
tap_is "$(as wt-admin1 net delete shared)" 0 "the admin takes 'shared' down again"
tap_is "$(lv_nets)" "" "no wirt network is left"
tap_check_fails "libvirt's 'default' network was never started" sh -c \
    "virsh -q -c '$PRIVATE_LIBVIRTD_QEMU_URI' net-list --name | grep -qx default"

# --- history --------------------------------------------------------------------------------
tap_like "$(grep -c '"action":"net-create"' "$tmp/history.jsonl")" '^[0-9]+$' "history has net-create lines"
tap_like "$(grep '"action":"net-create"' "$tmp/history.jsonl" | grep '"ok":true' | head -1)" \
    'subnet=10.77.0.0/24' "with the subnet"
tap_like "$(grep '"action":"net-delete"' "$tmp/history.jsonl" | grep -c '"ok":true')" '^[1-9]' \
    "and net-delete lines"

stop_wirtd
tap_is "$wirtd_status" 0 "wirtd stops cleanly (no leaks under ASan)"
[ "$wirtd_status" = 0 ] || tail -n 40 "$tmp/wirtd.log" | sed 's/^/# /' >&2
tap_done
