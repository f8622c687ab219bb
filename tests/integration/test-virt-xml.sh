#!/usr/bin/env bash
# tests/integration/test-virt-xml.sh: seed 001's /virt XML interface, as real users.
#
# The real wirtd on a private libvirtd's test driver (as test-foundation.sh), curl on
# the unix socket as the client (and once over TCP with a token), xmllint to read the
# answers. Every read command, the two power actions and their history lines, the
# device rules (allow-attach-disk, host paths and other users' volumes refused), the
# stylesheet line, 405s, and the route walk's conventions for /virt. Needs root.
#
# With --qemu (the e2e suite) it runs real QEMU instead: the test driver has no device
# hotplug, so that is where a user's volume is really attached and detached.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/private-libvirtd.sh"
. "$here/../lib/users.sh"

mode=${1:-test-driver}
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd, unshare)"
if [ "$mode" = --qemu ]; then
    command -v qemu-system-x86_64 >/dev/null || tap_skip_all "qemu-system-x86 not installed"
fi
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
command -v xmllint >/dev/null || tap_skip_all "xmllint (libxml2-utils) not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-virt-xml.XXXXXX)
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
port=$((20000 + ($$ + 7) % 20000))
xsl='/static/virt.xsl?v=1&theme="dark"'

# write_config MODE [EXTRA-DAEMON-LINES [EXTRA-HTTP-LINES]]
write_config() {
    cat >"$tmp/wirtd.conf" <<CONF
[daemon]
user-group=wt-users
admin-group=wt-admins
security-mode=$1
stop-timeout=2
history=$tmp/history.jsonl
${2:-}
[files]
enabled=false
[http]
token-file=$tmp/tokens
${3:-}
[pool default]
uris=${pool_uri:-$PRIVATE_LIBVIRTD_TEST_URI}
CONF
}

start_wirtd() {
    "$WIRTD" --config "$tmp/wirtd.conf" --socket "$WIRT_SOCKET" 2>>"$tmp/wirtd.log" &
    wirtd_pid=$!
    for _ in $(seq 100); do
        [ -S "$WIRT_SOCKET" ] && return 0
        kill -0 "$wirtd_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# http_as USER CURL-ARGS...: body to $tmp/body, headers to $tmp/headers, status to stdout.
http_as() {
    local user=$1
    shift
    rm -f "$tmp/body" "$tmp/headers"
    wt_as "$user" curl -s -o - -D - --unix-socket "$WIRT_SOCKET" "$@" >"$tmp/raw"
    sed -n '1,/^\r\{0,1\}$/p' "$tmp/raw" | tr -d '\r' >"$tmp/headers"
    sed '1,/^\r\{0,1\}$/d' "$tmp/raw" >"$tmp/body"
    sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$tmp/headers"
}
get() { # get USER PATH
    http_as "$1" "http://wirt$2"
}
post_xml() { # post_xml USER PATH XML
    http_as "$1" -X POST -H 'Content-Type: application/xml' --data-binary "$3" "http://wirt$2"
}
header() { # header NAME: from the last answer
    sed -n "s/^$1: *//Ip" "$tmp/headers" | head -1
}
xpath() { # xpath EXPR: from the last body
    xmllint --xpath "$1" "$tmp/body" 2>/dev/null
}
err() { # the last body's JSON error code and status
    jq -r '.error.code + ":" + (.error.status|tostring)' "$tmp/body" 2>/dev/null
}
virsh_t() { virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" "$@"; }

# --- real QEMU: a user's volume attached and detached, live and in the config ------------
if [ "$mode" = --qemu ]; then
    virsh_q() { virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" "$@"; }
    mkdir -p "$tmp/vols"
    virsh_q pool-define-as vols dir --target "$tmp/vols" >/dev/null &&
        virsh_q pool-start vols >/dev/null &&
        virsh_q vol-create-as vols wt-alice.data 1M --format raw >/dev/null ||
        tap_bail "cannot make a storage pool with a volume"
    pool_uri=$PRIVATE_LIBVIRTD_QEMU_URI
    write_config owner-manage
    start_wirtd || { cat "$tmp/wirtd.log" >&2; tap_bail "wirtd does not start"; }
    tap_check "alice creates a 64 MiB VM on QEMU" wt_as wt-alice "$wirt" create box --memory 64
    tap_check "and starts it" wt_as wt-alice "$wirt" start box
    vdb="<disk type='volume'><source pool='vols' volume='wt-alice.data'/><target dev='vdb' bus='virtio'/></disk>"
    code=$(post_xml wt-alice /virt/wt-alice/box/domainAttachDevice "$vdb")
    tap_is "$code:$(xpath 'string(/domainAttachDevice/@state)')" 200:running \
        "alice attaches her own volume to her running VM"
    tap_like "$(virsh_q domblklist wt-alice.box)" "vdb +wt-alice.data" "QEMU has it now (live)"
    virsh_q dumpxml --inactive wt-alice.box >"$tmp/inactive.xml"
    tap_is "$(xmllint --xpath "string(//disk[target/@dev='vdb']/driver/@type)" "$tmp/inactive.xml")" raw \
        "and so has the config, as raw: the format is never probed"
    code=$(post_xml wt-alice /virt/wt-alice/box/domainDetachDevice "<disk type='volume'><target dev='vdb'/></disk>")
    tap_is "$code" 200 "alice detaches it by its target"
    virsh_q dumpxml --inactive wt-alice.box >"$tmp/inactive.xml"
    tap_is "$(xmllint --xpath "count(//disk[target/@dev='vdb'])" "$tmp/inactive.xml")" 0 \
        "it is gone from the config (a guest with no OS never releases the live one)"
    tap_is "$(jq -r 'select(.action == "attach-disk") | [.ok, .detail] | join(" ")' "$tmp/history.jsonl" | paste -sd'|')" \
        "true domainAttachDevice disk type=volume volume=vols/wt-alice.data target=vdb|true domainDetachDevice disk type=volume target=vdb" \
        "both are in history"
    code=$(post_xml wt-alice /virt/wt-alice/box/domainShutdown "")
    sleep 3 # past stop-timeout=2: the JSON API's stop would have powered it off by now
    tap_is "$code:$(virsh_q domstate wt-alice.box)" "200:running" \
        "domainShutdown only asks: a guest that ignores ACPI keeps running"
    wt_as wt-alice "$wirt" destroy box >/dev/null 2>&1
    stop_wirtd
    tap_is "$wirtd_status" 0 "wirtd stops cleanly"
    tap_done
fi

write_config owner-manage "" "xsl-stylesheet=$xsl
listen=127.0.0.1:$port
allow-plain-http=true
auth=token"
start_wirtd || { cat "$tmp/wirtd.log" >&2; tap_bail "wirtd does not start"; }
tap_ok "wirtd starts with xsl-stylesheet set"

wt_as wt-alice "$wirt" create web --memory 256 --cpus 2 >/dev/null 2>&1
wt_as wt-alice "$wirt" start web >/dev/null 2>&1
wt_as wt-bob "$wirt" create web --memory 128 >/dev/null 2>&1
tap_is "$(wt_as wt-alice "$wirt" info web --format json | jq -r .state)" running \
    "alice has a running VM web, bob one of the same name"

# --- the list ---------------------------------------------------------------------------
code=$(get wt-alice /virt)
tap_is "$code:$(header Content-Type)" "200:application/xml" "GET /virt answers XML"
tap_check "and it is well-formed" xmllint --noout "$tmp/body"
tap_is "$(xpath 'count(/vms/vm)')" 1 "alice sees one VM"
tap_is "$(xpath 'string(/vms/vm/@owner)'):$(xpath 'string(/vms/vm/@name)'):$(xpath 'string(/vms/vm/@state)'):$(xpath 'string(/vms/vm/@href)')" \
    "wt-alice:web:running:/virt/wt-alice/web" "with owner, name, state and its href"
get wt-admin1 /virt >/dev/null
tap_is "$(xpath '/vms/vm/@href' | tr ' ' '\n' | sed -n 's/^href="\(.*\)"$/\1/p' | sort | paste -sd,)" \
    "/virt/-/test,/virt/wt-alice/web,/virt/wt-bob/web" "an admin sees every VM; unowned domains under owner -"
get wt-admin1 /virt/- >/dev/null
tap_is "$(xpath 'string(/vms/vm/@name)'):$(xpath 'count(/vms/vm)')" "test:1" "GET /virt/- lists only unowned domains"
get wt-alice /virt/wt-bob >/dev/null
tap_is "$(xpath 'count(/vms/vm)')" 0 "GET /virt/wt-bob shows alice nothing of bob's"
get wt-alice /virt/- >/dev/null
tap_is "$(xpath 'count(/vms/vm)')" 0 "nor any unowned domain"

# --- the stylesheet line ----------------------------------------------------------------
get wt-alice /virt/wt-alice/web >/dev/null
tap_is "$(sed -n 2p "$tmp/body")" \
    '<?xml-stylesheet type="text/xsl" href="/static/virt.xsl?v=1&amp;theme=&quot;dark&quot;"?>' \
    "xsl-stylesheet adds an escaped <?xml-stylesheet?> line"

# --- the domain XML, and other users' VMs read as missing --------------------------------
code=$(get wt-alice /virt/wt-alice/web)
tap_is "$code:$(xpath 'name(/*)'):$(xpath 'string(/domain/name)')" "200:domain:wt-alice.web" \
    "GET /virt/OWNER/VM is the domain XML (domainGetXMLDesc)"
cp "$tmp/body" "$tmp/desc-default"
get wt-alice /virt/wt-alice/web/domainGetXMLDesc >/dev/null
tap_check "and /domainGetXMLDesc says the same" cmp -s "$tmp/body" "$tmp/desc-default"
for cmd in "" /domainGetID /domainInterfaceStats; do
    real=$(get wt-bob "/virt/wt-alice/web$cmd"):$(sed 's/web/X/g' "$tmp/body")
    fake=$(get wt-bob "/virt/wt-alice/nosuch$cmd"):$(sed 's/nosuch/X/g' "$tmp/body")
    tap_is "$real" "$fake" "bob on alice's web$cmd: exactly like a VM that does not exist"
done
tap_is "${real%%:*}:$(err)" "404:not-found:404" "which is a 404 in the API's JSON error shape"
real=$(post_xml wt-bob /virt/wt-alice/web/domainReboot ""):$(sed 's/web/X/g' "$tmp/body")
fake=$(post_xml wt-bob /virt/wt-alice/nosuch/domainReboot ""):$(sed 's/nosuch/X/g' "$tmp/body")
tap_is "$real" "$fake" "bob rebooting alice's web: the same as a missing VM"
real=$(get wt-alice /virt/-/test):$(sed 's/test/X/g' "$tmp/body")
fake=$(get wt-alice /virt/-/nosuch):$(sed 's/nosuch/X/g' "$tmp/body")
tap_is "$real" "$fake" "an unowned domain is missing for users"
tap_is "$(get wt-admin1 /virt/-/test/domainGetName):$(xpath 'string(/domainGetName)')" "200:test" \
    "admins address it as /virt/-/NAME"
tap_is "$(get wt-admin1 /virt/-/te%73t/domainGetName):$(xpath 'string(/domainGetName)')" "200:test" \
    "path segments are percent-decoded"
tap_is "$(get wt-admin1 /virt/-/te%2Fst/domainGetName):$(jq -r .error.message "$tmp/body")" \
    "404:no such route" "a %2F is a / (libsoup decodes the path): no name holds one"

# --- every read command -------------------------------------------------------------------
uuid=$(wt_as wt-alice "$wirt" info web --format json | jq -r .uuid)
read_is() { # read_is COMMAND XPATH EXPECTED-REGEX
    local code
    code=$(get wt-alice "/virt/wt-alice/web/$1")
    if [ "$code" != 200 ] || [ "$(xpath 'name(/*)')" != "$1" ]; then
        tap_not_ok "$1 answers <$1>" "status $code" "$(cat "$tmp/body")"
        return
    fi
    tap_like "$(xpath "$2")" "$3" "$1 answers <$1> with $2 = $3"
}
read_is domainGetID 'string(/domainGetID)' '^[0-9]+$'
read_is domainGetMaxMemory 'concat(/domainGetMaxMemory/@unit, " ", /domainGetMaxMemory)' '^KiB 262144$'
read_is domainGetMaxVcpus 'string(/domainGetMaxVcpus)' '^[0-9]+$'
read_is domainGetName 'string(/domainGetName)' '^wt-alice\.web$'
read_is domainGetOSType 'string(/domainGetOSType)' '^(hvm|linux)$' # the test driver says linux
read_is domainGetSchedulerType 'concat(/domainGetSchedulerType, " ", /domainGetSchedulerType/@params)' '^fair 1$'
read_is domainGetSchedulerParameters \
    'concat(/domainGetSchedulerParameters/param/@name, " ", /domainGetSchedulerParameters/param/@type, " ", /domainGetSchedulerParameters/param)' \
    '^weight uint [0-9]+$'
read_is domainGetUUID 'concat(/domainGetUUID/@encoding, " ", /domainGetUUID)' "^hex ${uuid//-/}\$"
read_is domainGetUUIDString 'string(/domainGetUUIDString)' "^$uuid\$"
read_is domainGetVcpus 'concat(count(/domainGetVcpus/vcpu), " ", /domainGetVcpus/vcpu[1]/@number, " ", /domainGetVcpus/vcpu[1]/@state)' '^2 0 running$'
read_is domainGetVcpus 'string(/domainGetVcpus/vcpu[1]/@affinity)' '^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$'
read_is domainInterfaceStats 'count(/domainInterfaceStats/interface)' '^0$'
get wt-admin1 /virt/-/test/domainInterfaceStats >/dev/null
tap_like "$(xpath 'concat(/domainInterfaceStats/interface/@path, " ", /domainInterfaceStats/interface/@mac, " ", /domainInterfaceStats/interface/@rx_bytes)')" \
    '^testnet0 aa:bb:cc:dd:ee:ff [0-9]+$' "domainInterfaceStats lists every interface with its counters"

# --- 405 ------------------------------------------------------------------------------
code=$(get wt-alice /virt/wt-alice/web/domainReboot)
tap_is "$code:$(header Allow):$(err)" "405:POST:invalid:405" "GET of an action is a 405 with Allow: POST"
code=$(post_xml wt-alice /virt/wt-alice/web/domainGetID "")
tap_is "$code:$(header Allow)" "405:GET" "POST of a read is a 405 with Allow: GET"
code=$(http_as wt-alice -X DELETE http://wirt/virt)
tap_is "$code:$(header Allow)" "405:GET" "DELETE /virt is a 405"
code=$(get wt-alice /virt/wt-alice/web/domainNoSuchThing)
tap_is "$code:$(err)" "404:not-found:404" "an unknown command is an unknown route"

# --- power actions and their history ------------------------------------------------------
code=$(post_xml wt-alice /virt/wt-alice/web/domainReboot "")
tap_is "$code:$(xpath 'name(/*)'):$(xpath 'string(/*/@state)')" "200:domainReboot:running" \
    "domainReboot reboots alice's running VM"
tap_is "$(jq -r 'select(.actor == "wt-alice" and .action == "reboot") | [.owner, .vm, .ok, .detail] | join(" ")' \
    "$tmp/history.jsonl" | tail -1)" "wt-alice web true domainReboot" "and is in history"
start=$(date +%s%N)
code=$(post_xml wt-alice /virt/wt-alice/web/domainShutdown "")
ms=$((($(date +%s%N) - start) / 1000000))
tap_is "$code:$(xpath 'name(/*)')" "200:domainShutdown" "domainShutdown sends the shutdown request"
tap_like "$ms" '^[0-9]{1,4}$' "and answers without waiting for the guest ($ms ms)"
tap_is "$(jq -r 'select(.actor == "wt-alice" and .action == "stop") | [.vm, .ok, .detail] | join(" ")' \
    "$tmp/history.jsonl" | tail -1)" "web true domainShutdown: shutdown request only" \
    "history records it as stop, a request only"
tap_is "$(virsh_t domstate wt-alice.web)" "shut off" "the test driver's guest obeyed"
code=$(post_xml wt-alice /virt/wt-alice/web/domainShutdown "")
tap_is "$code:$(err)" "409:conflict:409" "shutting down a shut-off VM is a conflict"
code=$(get wt-alice /virt/wt-alice/web/domainGetVcpus)
tap_is "$code:$(err)" "409:conflict:409" "domainGetVcpus of a shut-off VM is a conflict, as in libvirt"
code=$(get wt-alice /virt/wt-alice/web/domainGetID)
tap_is "$code:$(xpath 'string(/domainGetID)')" "200:-1" "domainGetID of a shut-off VM is -1"
wt_as wt-alice "$wirt" start web >/dev/null 2>&1

# --- devices ------------------------------------------------------------------------------
virsh_t vol-create-as default-pool wt-alice.data 1M --format raw >/dev/null 2>&1
virsh_t vol-create-as default-pool wt-alice.cow 1M --format qcow2 >/dev/null 2>&1
virsh_t vol-create-as default-pool wt-bob.data 1M --format raw >/dev/null 2>&1
disk() { # disk POOL VOLUME [EXTRA-CHILDREN]
    printf "<disk type='volume' device='disk'><source pool='%s' volume='%s'/><target dev='vdb' bus='virtio'/>%s</disk>" \
        "$1" "$2" "${3:-}"
}
attach() { # attach USER XML [VM-PATH]: status, then the error code
    local code
    code=$(post_xml "$1" "${3:-/virt/wt-alice/web}/domainAttachDevice" "$2")
    printf '%s:%s' "$code" "$(err)"
}
tap_is "$(attach wt-alice "<disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vdb'/></disk>")" \
    "403:denied:403" "a user cannot attach a host path"
tap_like "$(jq -r .error.message "$tmp/body")" "only admins may attach a <disk type='file'>" "and is told why"
tap_is "$(attach wt-alice "<disk type='block' device='disk'><source dev='/dev/sda'/><target dev='vdb'/></disk>")" \
    "403:denied:403" "nor a host block device"
tap_is "$(attach wt-alice "$(disk default-pool wt-bob.data)")" "403:denied:403" \
    "nor another user's volume"
tap_like "$(jq -r .error.message "$tmp/body")" "volume wt-bob.data is not wt-alice's" "named as such"
tap_is "$(attach wt-alice "$(disk default-pool wt-alice.data "<backingStore type='file'><source file='/etc/shadow'/></backingStore>")")" \
    "403:denied:403" "nor a volume with a backing chain of her own making"
tap_is "$(attach wt-alice "$(disk default-pool wt-alice.data "<driver name='qemu' type='qcow2'/>")")" \
    "403:denied:403" "nor a format other than raw"
tap_is "$(attach wt-alice "$(disk default-pool wt-alice.cow)")" "403:denied:403" \
    "nor a qcow2 volume (its header would be read)"
tap_is "$(attach wt-alice "<interface type='bridge'><source bridge='br0'/></interface>")" \
    "403:denied:403" "nor a network interface"
tap_is "$(attach wt-alice "<disk type='volume'><source pool='default-pool'")" "400:invalid:400" \
    "malformed XML is a 400"
tap_is "$(attach wt-alice "<hostdev mode='subsystem' type='pci'/>")" "400:invalid:400" \
    "anything but a <disk> or <interface> is a 400, for everyone"
tap_is "$(attach wt-admin1 "<hostdev mode='subsystem' type='pci'/>")" "400:invalid:400" "admins too"
tap_is "$(attach wt-alice "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/shadow'>]><disk type='volume'>&x;</disk>")" \
    "400:invalid:400" "no entities beyond XML's own"
tap_is "$(attach wt-alice "$(disk default-pool wt-alice.none)")" "404:not-found:404" \
    "a missing volume is not found"
code=$(http_as wt-alice -X POST -H 'Content-Type: application/json' --data '{}' \
    http://wirt/virt/wt-alice/web/domainAttachDevice)
tap_is "$code:$(err)" "415:unsupported-media-type:415" "a JSON body is a 415"
code=$(http_as wt-alice -X POST http://wirt/virt/wt-alice/web/domainAttachDevice)
tap_is "$code:$(err)" "400:invalid:400" "an empty body is a 400"
# The test driver has no device hotplug: a disk that passes every rule reaches libvirt,
# which says so. (Real attaches are tested on QEMU, below, when it is there.)
tap_like "$(attach wt-alice "$(disk default-pool wt-alice.data "<readonly/>")")" "^500:" \
    "alice's own raw volume passes every rule and reaches libvirt"
tap_like "$(jq -r .error.message "$tmp/body")" "not supported" "(the test driver has no hotplug)"
tap_is "$(jq -r 'select(.actor == "wt-alice" and .action == "attach-disk") | [.ok, .detail] | join(" ")' \
    "$tmp/history.jsonl" | tail -1)" \
    "false domainAttachDevice disk type=volume volume=default-pool/wt-alice.data target=vdb" \
    "history records the attempt with the volume and target"
tap_is "$(jq -r 'select(.actor == "wt-alice" and .action == "attach-disk" and (.detail | test("file=/etc/shadow"))) | .ok' \
    "$tmp/history.jsonl")" false "and the refused host path"
tap_like "$(attach wt-admin1 "<disk type='file' device='disk'><source file='$tmp/admin.img'/><target dev='vdc'/></disk>")" \
    "^500:" "an admin's host-path disk passes policy and goes to libvirt as sent"
code=$(post_xml wt-alice /virt/wt-alice/web/domainDetachDevice "<disk type='volume'><target dev='vdb'/></disk>")
tap_like "$code" "^500$" "alice may detach by target alone (libvirt answers)"
tap_is "$(attach wt-bob "$(disk default-pool wt-bob.data)" /virt/wt-alice/web)" "404:not-found:404" \
    "bob attaching to alice's VM: not found, whatever the body"

# --- over TCP too: the same routes, one dispatcher ---------------------------------------------
out=$(wt_as wt-alice curl -s --unix-socket "$WIRT_SOCKET" -H 'Content-Type: application/json' \
    --data '{"name":"virt"}' http://wirt/1.0/tokens)
token=$(printf '%s' "$out" | jq -r .token 2>/dev/null)
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/virt/wt-alice/web/domainGetVcpus")
tap_is "$code:$(xpath 'name(/*)')" "200:domainGetVcpus" "the same routes answer over TCP (here with an API token)"

# --- the route walk's conventions for /virt ---------------------------------------------------
# As tests/integration/test-foundation.sh walks the table: {owner} -> wt-alice, {name} -> web,
# ?owner=wt-alice; an outsider gets 403 everywhere, bob 404 on every {name} route and an
# answer without alice in it on the lists.
walked=0
bad=
while read -r method pattern action body; do
    case "$pattern" in /virt*) ;; *) continue ;; esac
    path=${pattern//\{owner\}/wt-alice}
    path=${path//\{name\}/web}
    [ "$body" = - ] && body=
    args=(-X "$method")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/xml' --data-binary "$body")
    code=$(http_as wt-carol "${args[@]}" "http://wirt$path")
    [ "$code" = 403 ] || bad+=" carol:$method:$pattern:$code"
    code=$(http_as wt-bob "${args[@]}" "http://wirt$path?owner=wt-alice")
    case "$pattern" in
    *'{name}'*) [ "$code" = 404 ] || bad+=" bob:$method:$pattern:$code" ;;
    *) [ "$code" = 200 ] || bad+=" bob:$method:$pattern:$code" ;;
    esac
    grep -q 'owner="wt-alice"' "$tmp/body" && bad+=" leak:$method:$pattern"
    walked=$((walked + 1))
done < <("$WIRTD" --print-routes)
tap_is "$walked:${bad:-none}" "19:none" "the walk: outsider 403, bob 404 on {name} routes, no leak in lists"

# --- allow-attach-disk=false, no stylesheet ----------------------------------------------------
stop_wirtd
tap_is "$wirtd_status" 0 "wirtd stops cleanly (no leaks under ASan)"
write_config owner-manage "allow-attach-disk=false"
start_wirtd || tap_bail "wirtd does not restart"
get wt-alice /virt >/dev/null
tap_is "$(sed -n 2p "$tmp/body")" "<vms>" "without xsl-stylesheet there is no stylesheet line"
tap_is "$(attach wt-alice "$(disk default-pool wt-alice.data)")" "403:denied:403" \
    "allow-attach-disk=false: alice cannot attach even her own volume"
tap_like "$(jq -r .error.message "$tmp/body")" "allow-attach-disk=false" "and the refusal names the switch"
code=$(post_xml wt-alice /virt/wt-alice/web/domainDetachDevice "$(disk default-pool wt-alice.data)")
tap_is "$code:$(err)" "403:denied:403" "nor detach"
tap_like "$(attach wt-admin1 "$(disk default-pool wt-alice.data)")" "^500:" "admins are not held by the switch"

# --- read-only: everyone sees, nobody but admins acts -------------------------------------------
stop_wirtd
write_config read-only
start_wirtd || tap_bail "wirtd does not restart"
get wt-bob /virt >/dev/null
tap_is "$(xpath 'count(/vms/vm)')" 2 "read-only: bob lists alice's VM too"
tap_is "$(get wt-bob /virt/wt-alice/web/domainGetName):$(xpath 'string(/domainGetName)')" \
    "200:wt-alice.web" "and may read it"
code=$(post_xml wt-alice /virt/wt-alice/web/domainReboot "")
tap_is "$code:$(err)" "403:denied:403" "read-only: alice cannot reboot her own VM"
stop_wirtd
tap_is "$wirtd_status" 0 "wirtd stops cleanly"

tap_done
