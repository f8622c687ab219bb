#!/usr/bin/env bash
# tests/integration/test-boxes.sh: `wirt box add|list|remove` end to end (docs/boxes.md).
#
# A private libvirtd (its QEMU driver, whose storage driver makes real volumes; the test
# driver's storage is too limited) with a `dir` storage pool named `default` under the
# test's tmp dir, the real wirtd, the wirt CLI as real users: alice uploads a box, bob can
# neither see nor remove it, an admin's shared box is seen by both, malformed boxes are
# refused with the reader's reason and leave no volume behind, and the volume's bytes are
# box.img's. Needs root, qemu-img, tar, curl and jq.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/private-libvirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd, unshare)"
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"
command -v qemu-img >/dev/null || tap_skip_all "qemu-img not installed"
command -v jq >/dev/null || tap_skip_all "jq not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-boxes.XXXXXX)
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

mkdir -p "$tmp/pool"
virsh_q pool-define-as default dir --target "$tmp/pool" >/dev/null &&
    virsh_q pool-start default >/dev/null || tap_bail "cannot define the dir storage pool"
tap_ok "the private libvirtd's QEMU driver has a dir storage pool 'default'"

write_config() { # MODE
    cat >"$tmp/wirtd.conf" <<CONF
[daemon]
user-group=wt-users
admin-group=wt-admins
security-mode=$1
history=$tmp/history.jsonl
[vm]
storage-pool=default
max-box-gib=2
[files]
enabled=false
[http]
token-file=$tmp/tokens
[pool default]
uris=$PRIVATE_LIBVIRTD_QEMU_URI
[quota user:wt-bob]
box-gib=0
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

# --- box files -----------------------------------------------------------------------------
# make_box OUT [METADATA [KIND]]: a tarball with metadata.json and box.img; KIND "backing"
# makes box.img name a backing file, "3g" makes it a 3 GiB qcow2.
make_box() {
    local out=$1 meta=${2:-'{"provider":"libvirt","format":"qcow2","virtual_size":1}'} d
    d=$(mktemp -d "$tmp/make.XXXXXX")
    printf '%s\n' "$meta" >"$d/metadata.json"
    if [ "${3:-}" = backing ]; then
        qemu-img create -q -f qcow2 -b "$tmp/tiny.box.img" -F qcow2 "$d/box.img" || return 1
    elif [ "${3:-}" = 3g ]; then
        qemu-img create -q -f qcow2 "$d/box.img" 3G || return 1
    else
        # Not all zeros: a byte-for-byte comparison must mean something.
        dd if=/dev/urandom of="$d/raw" bs=1M count=4 status=none &&
            qemu-img convert -q -f raw -O qcow2 "$d/raw" "$d/box.img" && rm -f "$d/raw" || return 1
    fi
    tar -C "$d" -czf "$out" metadata.json box.img || return 1
    cp "$d/box.img" "$out.img"
    rm -rf "$d"
    chmod 0644 "$out" "$out.img"
}

make_box "$tmp/tiny.box" || tap_bail "cannot make a box"
make_box "$tmp/base.box" || tap_bail "cannot make a box"
make_box "$tmp/bad-meta.box" '{"provider":"virtualbox","format":"qcow2","virtual_size":1}'
make_box "$tmp/backing.box" '' backing
make_box "$tmp/too-big.box" '{"provider":"libvirt","format":"qcow2","virtual_size":3}' 3g
d=$(mktemp -d "$tmp/make.XXXXXX")
cp "$tmp/tiny.box.img" "$d/box.img"
printf '{"provider":"libvirt","format":"qcow2","virtual_size":1}\n' >"$d/metadata.json"
ln -s /etc/shadow "$d/Vagrantfile"
tar -C "$d" -czf "$tmp/symlink.box" metadata.json box.img Vagrantfile
head -c 2000 "$tmp/tiny.box" >"$tmp/truncated.box"
chmod 0644 "$tmp"/*.box
rm -rf "$d"

write_config owner-manage
start_wirtd || { cat "$tmp/wirtd.log" >&2; tap_bail "wirtd does not start"; }

volumes() { virsh_q vol-list default | awk '{print $1}' | sort | paste -sd' '; }
as() { # as USER ARGS…: wirt as USER; stdout to $tmp/out, stderr to $tmp/err, exit status out
    local user=$1
    shift
    wt_as "$user" "$wirt" "$@" >"$tmp/out" 2>"$tmp/err"
    echo $?
}
http_as() { # http_as USER CURL-ARGS…: body to $tmp/body (written by root), status to stdout
    local user=$1
    shift
    wt_as "$user" curl -s -w '\n%{http_code}' --unix-socket "$WIRT_SOCKET" "$@" >"$tmp/raw"
    sed '$d' "$tmp/raw" >"$tmp/body"
    tail -n 1 "$tmp/raw"
}

# --- add, list, the bytes ------------------------------------------------------------------
tap_is "$(as wt-alice box add tiny "$tmp/tiny.box")" 0 "alice adds her box 'tiny'"
tap_like "$(cat "$tmp/out")" "^box tiny: added" "and is told so"
tap_like "$(cat "$tmp/err")" "100% uploaded" "with progress on stderr (a line every 10% off a tty)"
tap_is "$(volumes)" "box.wt-alice.tiny.qcow2" "the box is one volume in the storage pool, named after its owner"
virsh_q vol-download --pool default box.wt-alice.tiny.qcow2 "$tmp/downloaded" >/dev/null 2>&1
tap_check "the volume's bytes are box.img's" cmp "$tmp/downloaded" "$tmp/tiny.box.img"
tap_is "$(virsh_q vol-dumpxml --pool default box.wt-alice.tiny.qcow2 | sed -n "s/.*<format type='\([a-z0-9]*\)'.*/\1/p" | head -1)" \
    qcow2 "its format is declared qcow2"

# Any HTTP client: without "Expect: 100-continue" libsoup streams the body chunk by chunk.
tap_is "$(http_as wt-alice -X POST -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    -T "$tmp/base.box" http://wirt/1.0/boxes/viacurl):$(jq -r .owner "$tmp/body")" "201:wt-alice" \
    "curl uploads a box without Expect: 100-continue (libsoup's chunked path)"
virsh_q vol-download --pool default box.wt-alice.viacurl.qcow2 "$tmp/downloaded" >/dev/null 2>&1
tap_check "  and its bytes are box.img's too" cmp "$tmp/downloaded" "$tmp/base.box.img"
tap_is "$(http_as wt-alice -X POST -H 'Expect:' -T "$tmp/backing.box" http://wirt/1.0/boxes/viacurl2):$(jq -r .error.code "$tmp/body")" \
    "400:invalid" "  and a malformed one is refused on that path too"
tap_is "$(http_as wt-alice -X DELETE http://wirt/1.0/boxes/viacurl)" 200 "  (removed again)"

tap_is "$(as wt-alice box list)" 0 "alice lists boxes"
tap_like "$(cat "$tmp/out")" "^NAME +OWNER +SIZE +VIRTUAL-SIZE +POOL" "as a table NAME OWNER SIZE VIRTUAL-SIZE POOL"
tap_like "$(cat "$tmp/out")" "tiny +wt-alice +[0-9.]+M +4.0M +default" "showing her box"
as wt-alice --format json box list >/dev/null
tap_is "$(jq -r '.[] | [.name, .owner, .shared, .state, .virtual_size] | join(" ")' "$tmp/out")" \
    "tiny wt-alice false ready 4194304" "--format json gives the box's facts from libvirt"
tap_is "$(as wt-alice box add tiny "$tmp/tiny.box")" 6 "adding 'tiny' again is a conflict (exit 6)"
tap_like "$(cat "$tmp/err")" "already exists" "saying it exists"

# --- another user ---------------------------------------------------------------------------
as wt-bob --format json box list >/dev/null
tap_is "$(jq length "$tmp/out")" 0 "bob does not see alice's box"
tap_is "$(http_as wt-bob "http://wirt/1.0/boxes/tiny?owner=wt-alice"):$(jq -r .error.message "$tmp/body")" \
    "404:box wt-alice/tiny: not found" "GET of alice's box by bob: 404, like a missing box"
tap_is "$(http_as wt-bob "http://wirt/1.0/boxes/nosuch?owner=wt-alice"):$(jq -r .error.message "$tmp/body")" \
    "404:box wt-alice/nosuch: not found" "(a box that does not exist answers the same)"
tap_is "$(as wt-bob box remove tiny --owner wt-alice)" 3 "bob cannot remove alice's box (not found, exit 3)"
tap_is "$(as wt-bob box remove tiny)" 3 "nor his own of that name, which does not exist"
tap_is "$(http_as wt-bob -X POST --data-binary @"$tmp/tiny.box" "http://wirt/1.0/boxes/x?owner=wt-alice")" \
    404 "nor upload into alice's boxes"
tap_is "$(as wt-carol box list)" 4 "an outsider is refused (exit 4)"
tap_is "$(volumes)" "box.wt-alice.tiny.qcow2" "nothing changed"

# --- shared boxes ---------------------------------------------------------------------------
tap_is "$(as wt-admin1 box add base "$tmp/base.box")" 0 "an admin adds a box: it is shared"
tap_is "$(volumes)" "box.base.qcow2 box.wt-alice.tiny.qcow2" "as volume box.base.qcow2"
as wt-alice --format json box list >/dev/null
tap_is "$(jq -r '[.[] | .name + ":" + (.owner // "shared")] | sort | join(" ")' "$tmp/out")" \
    "base:shared tiny:wt-alice" "alice sees the shared box and her own"
as wt-bob box list >/dev/null
tap_like "$(cat "$tmp/out")" "base +shared" "bob sees the shared box"
tap_is "$(http_as wt-bob http://wirt/1.0/boxes/base):$(jq -r .shared "$tmp/body")" "200:true" \
    "and may GET it"
tap_is "$(as wt-bob box remove base)" 3 "bob's 'box remove base' means his own box, which he has not"
tap_is "$(as wt-bob box remove base --owner -)" 4 "the shared one he may not remove (denied, exit 4)"
tap_like "$(cat "$tmp/err")" "shared boxes are managed by admins" "and is told why"
as wt-admin1 --format json box list >/dev/null
tap_is "$(jq length "$tmp/out")" 2 "admins see every box"
vols_before=$(volumes)
tap_is "$(as wt-bob box add mine "$tmp/tiny.box")" 5 \
    "bob's own boxes count in his quota: with box-gib=0 his upload is refused (409, exit 5)"
tap_like "$(cat "$tmp/err")" "quota: box-gib: " "saying it is his box quota"
tap_is "$(volumes)" "$vols_before" "and no volume is made"

# --- malformed boxes ------------------------------------------------------------------------
refused() { # refused FILE NAME REASON-REGEX DESCRIPTION
    local code
    code=$(as wt-alice box add "$2" "$1")
    tap_is "$code" 2 "$4: refused (exit 2)"
    tap_like "$(cat "$tmp/err")" "$3" "  with the reader's reason"
    tap_is "$(virsh_q vol-list default | grep -c "box.wt-alice.$2.qcow2")" 0 "  and no volume left behind"
}
refused "$tmp/bad-meta.box" badmeta 'provider is "virtualbox"' "bad metadata.json"
refused "$tmp/backing.box" backing "names a backing file" "an image with a backing file"
refused "$tmp/symlink.box" symlink "is a symbolic link" "a symlink entry"
refused "$tmp/truncated.box" trunc "truncated" "a truncated archive"
refused "$tmp/too-big.box" toobig "over the limit" "a virtual size over [vm] max-box-gib"
code=$(http_as wt-alice -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/tiny.box" \
    http://wirt/1.0/boxes/chunked)
tap_is "$code" 411 "an upload without a Content-Length is refused (411)"
tap_is "$(volumes)" "box.base.qcow2 box.wt-alice.tiny.qcow2" "only the good boxes are volumes"
tap_is "$(as wt-alice box add 'bad.name' "$tmp/tiny.box")" 2 "box names follow the VM name rule"

# A client that goes away half-way, on both paths: the half-made volume is deleted.
cut_upload() { # cut_upload NAME EXPECT-HEADER
    wt_as wt-alice python3 - "$WIRT_SOCKET" "$tmp/tiny.box" "$1" "$2" <<'PY'
import socket, sys
sock, path, name, expect = sys.argv[1:5]
data = open(path, "rb").read()
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
head = "POST /1.0/boxes/%s HTTP/1.1\r\nHost: wirt\r\nContent-Length: %d\r\n%s\r\n" % (
    name, len(data), expect)
s.sendall(head.encode())
if expect:
    s.recv(100)  # HTTP/1.1 100 Continue
s.sendall(data[: len(data) // 2])
s.close()
PY
}
if command -v python3 >/dev/null; then
    cut_upload cut1 $'Expect: 100-continue\r\n'
    cut_upload cut2 ''
    for _ in $(seq 50); do
        virsh_q vol-list default | grep -q 'box.wt-alice.cut' || break
        sleep 0.1
    done
    tap_is "$(virsh_q vol-list default | grep -c 'box.wt-alice.cut')" 0 \
        "an upload whose client goes away half-way leaves no volume (either path)"
    tap_like "$(jq -r 'select(.action == "box-add" and (.detail | test("box=cut"))) | .error' "$tmp/history.jsonl" | paste -sd'|')" \
        "ended after .*ended after|truncated.*truncated" "and history says the upload ended early"
else
    tap_skip "python3 not installed: no half-way upload"
    tap_skip "python3 not installed: no half-way upload"
fi

# --- history --------------------------------------------------------------------------------
tap_is "$(jq -r 'select(.action == "box-add" and .ok) | .actor + ":" + (.owner // "shared")' "$tmp/history.jsonl" | paste -sd' ')" \
    "wt-alice:wt-alice wt-alice:wt-alice wt-admin1:shared" "history records the uploads"
tap_like "$(jq -r 'select(.action == "box-add" and (.ok | not)) | .error' "$tmp/history.jsonl" | paste -sd'|')" \
    "backing file" "and the refusals, with their reason"

# --- remove -----------------------------------------------------------------------------------
tap_is "$(as wt-alice box remove tiny)" 0 "alice removes her box"
tap_is "$(cat "$tmp/out")" "box tiny: removed" "and is told so"
tap_is "$(volumes)" "box.base.qcow2" "its volume is gone"
tap_is "$(as wt-alice box remove tiny)" 3 "removing it again: not found"
tap_is "$(as wt-admin1 box remove base --owner -)" 0 "an admin removes the shared box"
tap_is "$(volumes)" "" "the pool is empty"

# --- read-only modes: users may not add -------------------------------------------------------
stop_wirtd
write_config owner-view
start_wirtd || tap_bail "wirtd does not restart"
tap_is "$(as wt-alice box add tiny "$tmp/tiny.box")" 4 "owner-view: alice may not add a box (denied)"
tap_like "$(cat "$tmp/err")" "read-only" "because the mode is read-only for users"
tap_is "$(as wt-admin1 box add base "$tmp/base.box")" 0 "admins still may"
tap_is "$(volumes)" "box.base.qcow2" "and only theirs is there"
tap_is "$(as wt-alice box list)" 0 "alice still lists the shared boxes"
stop_wirtd
tap_is "$wirtd_status" 0 "wirtd stops cleanly"
tap_done
