#!/usr/bin/env bash
# tests/integration/test-files.sh: issue 4, the files API, end to end, as real users.
#
# The real wirtd (with its wirt-userfs helpers) and wirt CLI, real unprivileged users
# (tests/lib/users.sh) and a private libvirtd serving the test driver. Members drive VMs
# with command files in ~/wirt/command/vm/NAME/ACTION (and the legacy ~/virsh/dom-NAME/);
# the test reads what wirtd writes back in ~/wirt/info and ~/wirt/logs, and attacks the
# tree with symlinks, hard links, FIFOs, devices, foreign files, odd names, floods and
# races. Results are awaited by polling files every 20 ms; fixed waits only where a
# test proves that nothing happens (then about one rescan period). Needs root.
# WT_FILES_KEEP=1 keeps the temporary dir and the users' trees for a look afterwards.
# SC2016: the single-quoted scripts given to `sh -c` expand their own "$1" on purpose.
# SC2317: functions are called indirectly (trap, wait_until, tap_check).
# shellcheck disable=SC2016,SC2317
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/private-libvirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd, unshare, mknod)"
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"
command -v jq >/dev/null || tap_skip_all "jq not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

RESCAN=2
started=$(date +%s)
tmp=$(mktemp -d /tmp/wirt-files.XXXXXX)
chmod 0755 "$tmp"
dave_made=
fake_dirs=()

home_of() { getent passwd "$1" | cut -d: -f6; }

# clean_trees USER...: remove the files-API trees (and our staging dirs) from the homes.
clean_trees() {
    local u h
    for u in "$@"; do
        h=$(home_of "$u") || continue
        if [ -z "$h" ] || [ ! -d "$h" ]; then continue; fi
        rm -rf "$h/wirt" "$h/virsh" "$h/wirt.saved" "$h/.wt-stage" "$h/.wt-root-stage"
    done
}

cleanup() {
    stop_wirtd
    private_libvirtd_stop
    if [ -n "${WT_FILES_KEEP:-}" ]; then # debugging: keep the trees and $tmp
        tap_diag "kept $tmp and the trees of $A and $B"
        wt_users_cleanup
        return
    fi
    clean_trees "$A" "$B"
    if [ -n "$dave_made" ] && getent passwd "$D" >/dev/null; then
        userdel --remove "$D" 2>/dev/null
    fi
    [ ${#fake_dirs[@]} -eq 0 ] || rm -rf "${fake_dirs[@]}"
    rm -f /root/.wt-files-secret.*
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

# Members of our own group: every other integration test runs a wirtd with
# user-group=wt-users and the files API on (its default), and when such a test runs at
# the same time (another build dir), that wirtd takes wt-alice's command files too.
# So this test's members are wt-fs-alice and wt-fs-bob in wt-fs-users, no one else's.
G=wt-fs-users
A=wt-fs-alice
B=wt-fs-bob
D=wt-fs-dave
wt_users_setup || tap_bail "cannot create the test users"
wt_group_add "$G" || tap_bail "cannot create group $G"
wt_user_add "$A" "$G" || tap_bail "cannot create $A"
wt_user_add "$B" "$G" || tap_bail "cannot create $B"
wirt=$(wt_reachable_bin "$WIRT")
clean_trees "$A" "$B"
private_libvirtd_start "$tmp/libvirt" || tap_bail "private libvirtd does not start"
export WIRT_SOCKET=$tmp/wirtd.sock

AH=$(home_of "$A")
BH=$(home_of "$B")
BUID=$(id -u "$B")

cat >"$tmp/wirtd.conf" <<CONF
[daemon]
user-group = $G
admin-group = wt-admins
stop-timeout = 2
[quota]
vms = 1000
vcpus = 10000
memory-mib = 10000000
[files]
rescan-seconds = $RESCAN
log-max-bytes = 4096
log-keep = 100
mail = false
CONF

start_wirtd() {
    rm -f "$WIRT_SOCKET"
    "$WIRTD" --config "$tmp/wirtd.conf" --socket "$WIRT_SOCKET" \
        --connect "$PRIVATE_LIBVIRTD_TEST_URI" --history "$tmp/history.jsonl" \
        2>>"$tmp/wirtd.log" &
    wirtd_pid=$!
    for _ in $(seq 200); do
        [ -S "$WIRT_SOCKET" ] && return 0
        kill -0 "$wirtd_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# --- helpers ---------------------------------------------------------------------------

# wait_for FILE PATTERN [SECONDS]: until FILE matches the extended regex (every 20 ms).
wait_for() {
    local file=$1 pattern=$2 i n=$((${3:-5} * 50))
    for ((i = 0; i < n; i++)); do
        grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.02
    done
    return 1
}

# wait_empty DIR [SECONDS]: until DIR holds nothing (no command, no taken file).
wait_empty() {
    local dir=$1 i n=$((${2:-5} * 50))
    for ((i = 0; i < n; i++)); do
        [ -d "$dir" ] && [ -z "$(ls -A "$dir" 2>/dev/null)" ] && return 0
        sleep 0.02
    done
    return 1
}

# wait_until SECONDS COMMAND...: until COMMAND succeeds (every 20 ms).
wait_until() {
    local i n=$(($1 * 50))
    shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.02
    done
    return 1
}

vmdir() { printf '%s/wirt/command/vm/%s' "$(home_of "$1")" "$2"; }
info() { printf '%s/wirt/info/vm/%s/%s' "$(home_of "$1")" "$2" "$3"; }

# put USER VM ACTION [CONTENT]: write a command file as USER, as a shell would.
put() {
    local d
    d=$(vmdir "$1" "$2")
    wt_as "$1" mkdir -p "$d"
    wt_as "$1" sh -c 'printf "%s" "$1" >"$2"' sh "${4:-}" "$d/$3"
}

# run USER VM ACTION [CONTENT]: put it and wait until it is done (the file is gone).
run() {
    put "$@"
    wait_empty "$(vmdir "$1" "$2")" "${RUN_WAIT:-10}"
}

# sj USER VM FILE JQ: a value from info/vm/VM/FILE.
sj() { jq -r "$4" "$(info "$1" "$2" "$3")" 2>/dev/null; }

# hist USER: the member's whole history.log, rotated parts first.
hist() {
    local h i
    h=$(home_of "$1")/wirt/logs
    for ((i = 100; i >= 1; i--)); do
        [ -f "$h/history.log.$i.gz" ] && zcat "$h/history.log.$i.gz"
    done
    cat "$h/history.log" 2>/dev/null
}

# hq USER JQ-FILTER: the history records matching FILTER (compact JSON lines).
hq() { hist "$1" | jq -c "select($2)" 2>/dev/null; }

as() {
    local user=$1
    shift
    wt_as "$user" "$wirt" "$@"
}
state_of() { # state_of USER VM: its state as `wirt list` shows it to USER, or "missing"
    local s
    s=$(as "$1" --format json list 2>/dev/null | jq -r --arg n "$2" '.[] | select(.name == $n) | .state')
    printf '%s' "${s:-missing}"
}

# cmd_result USER VM: "COMMAND OK STATE" from status.json.
cmd_result() { sj "$1" "$2" status.json '"\(.command) \(.ok) \(.state)"'; }

# check USER VM ACTION CONTENT EXPECTED DESCRIPTION: run a command, compare cmd_result.
check() {
    local got
    if ! run "$1" "$2" "$3" "$4"; then
        tap_not_ok "$6" "the command file was not processed: $(ls -A "$(vmdir "$1" "$2")")"
        return
    fi
    got=$(cmd_result "$1" "$2")
    tap_is "$got" "$5" "$6"
}

# ensure_wirtd: a new wirtd when ours died (to go on testing the rest; whatever killed it
# has failed an assertion already).
ensure_wirtd() {
    kill -0 "$wirtd_pid" 2>/dev/null && return 0
    wait "$wirtd_pid" 2>/dev/null
    wirtd_pid=
    start_wirtd || tap_bail "wirtd does not restart"
}

alive_n=0
# alive DESCRIPTION: the daemon still works: an autostart toggle on alice's `web` runs.
alive() {
    local flag=--disable want=disable
    alive_n=$((alive_n + 1))
    if [ $((alive_n % 2)) -eq 1 ]; then flag=; want=enable; fi
    if ! kill -0 "$wirtd_pid" 2>/dev/null; then
        tap_not_ok "$1: wirtd is alive" "wirtd exited: $(tail -5 "$tmp/wirtd.log")"
        ensure_wirtd
    fi
    check "$A" web autostart "$flag" "autostart $want true shutoff" "$1: daemon still works"
}

# problem USER REGEX: a "files" problem line in USER's history.log whose error matches.
problem_seen() {
    hq "$1" '.action == "files" and .ok == false' | jq -r .error | grep -Eq -- "$2"
}

etc_changes() { # files under /etc changed since MARKER, minus the user database (useradd by tests)
    find /etc -newer "$1" ! -path /etc \
        ! -regex '/etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)\(-\|\.lock\|\.OLD\)?' \
        2>/dev/null
}

start_wirtd || { cat "$tmp/wirtd.log" >&2; tap_bail "wirtd does not start"; }
tap_ok "wirtd starts with the files API on the private libvirtd's test driver"
# Members are attached at start; give the helpers a moment to set up their watches.
wait_until 5 test -n "$(ls /proc/"$wirtd_pid"/task 2>/dev/null)"

# === 1. the issue's flow ================================================================
wt_as "$A" mkdir -p "$AH/wirt/command/vm/web"
put "$A" web create '{"memory": 512, "cpus": 1}'
put "$A" web start
tap_check "web: create and start are processed (the files go)" wait_empty "$(vmdir "$A" web)"
wait_for "$(info "$A" web status.json)" '"command":"start"'
tap_is "$(sj "$A" web status.json '"\(.name) \(.state) \(.ok) \(.command)"')" "web running true start" \
    "status.json: web is running, the last command start was ok"
tap_is "$(sj "$A" web settings.json '"\(.name) \(.memory) \(.cpus) \(.door)"')" "web 512 1 files" \
    "settings.json: memory 512, 1 cpu, made through the files door"
tap_is "$(hq "$A" '.vm == "web" and .door == "files" and .ok' | jq -r .action | paste -sd,)" \
    "create,start" "history.log: create then start, door files, ok"
tap_like "$(cat "$AH/wirt/logs/vm/web.log" 2>&1)" \
    "create .*by $A via files: ok.*"$'\n'".* start .*by $A via files: ok" \
    "logs/vm/web.log: one human line for each"
tap_is "$(ls -A "$(vmdir "$A" web)")" "" "the command files are gone"
tap_is "$(state_of "$A" web)" running "wirt list (as alice, over the socket) shows web running"
tap_check "wirt stop --force web through the CLI" as "$A" stop web --force
tap_check "status.json follows the CLI: shutoff" \
    wait_for "$(info "$A" web status.json)" '"state":"shutoff"'
cli_stop_seen() { [ -n "$(hq "$A" '.vm == "web" and .door == "cli" and .action == "stop" and .ok')" ]; }
tap_check "history.log has the CLI's stop, door cli" wait_until 5 cli_stop_seen

# === 2. every command =====================================================================
check "$A" cmds create '{"memory_mib": 256, "vcpus": 1}' "create memory=256 cpus=1 true shutoff" "create (memory_mib/vcpus)"
check "$A" cmds start "" "start true running" "start"
check "$A" cmds stop "" "stop true shutoff" "stop (graceful)"
check "$A" cmds start "" "start true running" "start again"
check "$A" cmds shutdown "" "stop true shutoff" "shutdown is stop"
check "$A" cmds start "" "start true running" "start again"
check "$A" cmds destroy "" "destroy true shutoff" "destroy"
check "$A" cmds start "" "start true running" "start again"
check "$A" cmds reboot "" "reboot true running" "reboot"
check "$A" cmds suspend "" "suspend true paused" "suspend"
check "$A" cmds resume "" "resume true running" "resume"
check "$A" cmds stop "--timeout=5" "stop timeout=5 true shutoff" "stop --timeout=5"
check "$A" cmds start "" "start true running" "start again"
check "$A" cmds stop '{"force": true}' "stop force true shutoff" 'stop {"force": true}'
check "$A" cmds autostart "" "autostart enable true shutoff" "autostart (empty: enable)"
tap_is "$(sj "$A" cmds settings.json .autostart)" true "settings.json: autostart true"
check "$A" cmds autostart "--disable" "autostart disable true shutoff" "autostart --disable"
tap_is "$(sj "$A" cmds settings.json .autostart)" false "settings.json: autostart false"
check "$A" cmds config '{"memory": 384, "cpus": 2, "autostart": true}' \
    "configure memory=384 cpus=2 autostart=true true shutoff" "config memory, cpus and autostart"
tap_is "$(sj "$A" cmds settings.json '"\(.memory) \(.cpus) \(.autostart)"')" "384 2 true" \
    "settings.json shows the new memory, cpus and autostart"
check "$A" cmds config '{"autostart": false}' "configure autostart=false true shutoff" \
    "config autostart alone"
tap_is "$(sj "$A" cmds settings.json .autostart)" false "settings.json: autostart false again"
check "$A" cmds delete "" "delete true absent" "delete: state absent"
tap_check_fails "delete: settings.json is gone" test -e "$(info "$A" cmds settings.json)"
tap_is "$(state_of "$A" cmds)" missing "delete: the VM is gone from wirt list"

# === 3. order: oldest change time first ===================================================
now=$(date +%s)
stage=$AH/.wt-stage
wt_as "$A" mkdir -p "$stage/ord"
wt_as "$A" sh -c 'printf %s "{\"memory\":128}" >"$1/create"' sh "$stage/ord"
for a in start suspend resume stop; do wt_as "$A" touch "$stage/ord/$a"; done
wt_as "$A" sh -c 'printf %s --force >"$1/stop"' sh "$stage/ord"
# names in alphabetical order would be create, resume, start, stop, suspend
wt_as "$A" touch -d "@$((now - 50))" "$stage/ord/create"
wt_as "$A" touch -d "@$((now - 40))" "$stage/ord/start"
wt_as "$A" touch -d "@$((now - 30))" "$stage/ord/suspend"
wt_as "$A" touch -d "@$((now - 20))" "$stage/ord/resume"
wt_as "$A" touch -d "@$((now - 10))" "$stage/ord/stop"
wt_as "$A" mv "$stage/ord" "$AH/wirt/command/vm/ord"
tap_check "order: five commands moved in at once are all processed" wait_empty "$(vmdir "$A" ord)"
tap_is "$(hq "$A" '.vm == "ord" and .door == "files"' | jq -r '"\(.action):\(.ok)"' | paste -sd,)" \
    "create:true,start:true,suspend:true,resume:true,stop:true" \
    "order: they ran oldest change time first (history.log)"
tap_is "$(cmd_result "$A" ord)" "stop force true shutoff" "order: the newest (stop --force) ran last"

# === 4. malformed commands ================================================================
settings_before=$(cat "$(info "$A" web settings.json)")
state_before=$(sj "$A" web status.json .state)
run "$A" web frobnicate "" || true
tap_is "$(sj "$A" web status.json '"\(.command) \(.ok)"')" "frobnicate false" \
    "an unknown command: ok false in status.json"
tap_like "$(sj "$A" web status.json .error)" "'frobnicate' is not a command \(commands: create, start" \
    "with an error naming the commands"
tap_is "$(ls -A "$(vmdir "$A" web)")" "" "and the file is removed"
tap_like "$(tail -1 "$AH/wirt/logs/vm/web.log")" "frobnicate by $A via files: error: 'frobnicate' is not a command" \
    "web.log says so too"
run "$A" web reboot "now please" || true
tap_is "$(sj "$A" web status.json '"\(.command) \(.ok) \(.error)"')" \
    "reboot false reboot: takes no parameters; leave the file empty" "reboot with content: refused, clear error"
tap_is "$(ls -A "$(vmdir "$A" web)")" "" "and the file is removed"
run "$A" badjson create '{"memory": 512,' || true
tap_is "$(sj "$A" badjson status.json '"\(.command) \(.ok) \(.state)"')" "create false absent" \
    "create with bad JSON: refused, no VM"
tap_like "$(sj "$A" badjson status.json .error)" "^create: " "with an error about the content"
tap_is "$(ls -A "$(vmdir "$A" badjson)")" "" "and the file is removed"
tap_is "$(state_of "$A" badjson)" missing "no VM badjson exists"
tap_is "$(cat "$(info "$A" web settings.json)")" "$settings_before" "web's settings did not change"
tap_is "$(sj "$A" web status.json .state)" "$state_before" "web's state did not change"

# === 5. info/ and logs/ belong to root =====================================================
tap_is "$(stat -c '%U %G %a' "$AH/wirt/info")" "root $A 750" "info/ is root:alice's group 0750"
tap_is "$(stat -c '%U %G %a' "$AH/wirt/logs")" "root $A 750" "logs/ is root:alice's group 0750"
tap_is "$(stat -c '%U %G %a' "$(info "$A" web status.json)")" "root $A 640" "status.json is root:alice 0640"
tap_check_fails "alice cannot create a file in info/" wt_as "$A" touch "$AH/wirt/info/mine"
tap_check_fails "alice cannot change status.json" wt_as "$A" sh -c ": >>'$(info "$A" web status.json)'"
tap_check "alice can read her status.json" wt_as "$A" cat "$(info "$A" web status.json)"
tap_check_fails "bob cannot read alice's status.json" wt_as "$B" cat "$(info "$A" web status.json)"

# === 6. the legacy layout (seed 000) ========================================================
wt_as "$A" mkdir -p "$AH/virsh/dom-old"
wt_as "$A" sh -c 'printf %s "{\"memory\": 256}" >"$1/create"' sh "$AH/virsh/dom-old"
tap_check "legacy: create is processed" wait_empty "$AH/virsh/dom-old"
wt_as "$A" touch "$AH/virsh/dom-old/start"
tap_check "legacy: start is processed" wait_empty "$AH/virsh/dom-old"
stamp_re='[0-9]{2}_[A-Z][a-z]{2}_[0-9]{2}_[0-9]{2}\.[0-9]{2}'
tap_like "$(find "$AH/virsh/log" -mindepth 1 -printf '%f\n' 2>/dev/null)" "^${stamp_re}-$A-dom-old-create\.log$" \
    "legacy: log/DD_Mon_YY_HH.MM-$A-dom-old-create.log"
tap_like "$(cat "$AH"/virsh/log/*-dom-old-start.log 2>&1)" "^ok: " "legacy: the start log says ok: …"
tap_like "$(find "$AH/virsh/history" -mindepth 1 -printf '%f\n' 2>/dev/null | sort | paste -sd' ')" \
    "^${stamp_re}-dom-old-create ${stamp_re}-dom-old-start$" "legacy: both commands moved to history/"
tap_is "$(cat "$AH"/virsh/history/*-dom-old-create 2>&1)" '{"memory": 256}' \
    "legacy: history/ keeps the command's content"
tap_is "$(state_of "$A" old)" running "legacy: wirt list shows old running"
tap_is "$(hq "$A" '.vm == "old"' | jq -r '"\(.action):\(.door):\(.ok)"' | paste -sd,)" \
    "create:files:true,start:files:true" "legacy: history.log has both, door files"
run_legacy_bad() {
    wt_as "$A" touch "$AH/virsh/dom-old/explode"
    wait_empty "$AH/virsh/dom-old"
}
tap_check "legacy: an unknown command is processed too" run_legacy_bad
tap_like "$(cat "$AH"/virsh/log/*-dom-old-explode.log 2>&1)" "^error: 'explode' is not a command" \
    "legacy: its log says error: …"

# === 7. attacks ===============================================================================
alive "before the attacks"
rstage=$AH/.wt-root-stage
mkdir -p "$rstage" && chmod 0755 "$rstage"
secret=$(mktemp /root/.wt-files-secret.XXXXXX)
printf 'root only\n' >"$secret"
chmod 0600 "$secret"
secret_sum=$(sha256sum <"$secret")
shadow_sum=$(sha256sum </etc/shadow)

# --- a symlink as a command
wt_as "$A" ln -s /etc/shadow "$(vmdir "$A" web)/start"
tap_check "symlink to /etc/shadow: processed" wait_empty "$(vmdir "$A" web)"
tap_is "$(sj "$A" web status.json '"\(.command) \(.ok)"')" "start false" "symlink: refused (status.json)"
tap_like "$(sj "$A" web status.json .error)" "symbolic link" "symlink: the error says why"
tap_is "$(sha256sum </etc/shadow)" "$shadow_sum" "symlink: /etc/shadow untouched"
tap_is "$(sj "$A" web status.json .state)" shutoff "symlink: web was not started"
wt_as "$A" ln -s "$secret" "$(vmdir "$A" web)/create"
tap_check "symlink to a root-only file: processed" wait_empty "$(vmdir "$A" web)"
tap_like "$(sj "$A" web status.json '"\(.command) \(.ok) \(.error)"')" "^create false .*symbolic link" \
    "symlink to a root-only file: refused"
tap_is "$(sha256sum <"$secret")" "$secret_sum" "the root-only file is untouched"
alive "after symlinks"

# --- a hard link (root makes it: protected_hardlinks stops alice herself)
printf 'root data\n' >"$rstage/rootfile"
chmod 0644 "$rstage/rootfile"
ln "$rstage/rootfile" "$(vmdir "$A" web)/start"
tap_check "hard link to a root file: processed" wait_empty "$(vmdir "$A" web)"
tap_like "$(sj "$A" web status.json '"\(.command) \(.ok) \(.error)"')" \
    "^start false .*(hard links|belongs to uid 0)" "hard link: refused"
tap_is "$(cat "$rstage/rootfile" 2>&1) $(stat -c %h "$rstage/rootfile")" "root data 1" \
    "hard link: the root file keeps its content (and its only remaining link)"
tap_is "$(sj "$A" web status.json .state)" shutoff "hard link: web was not started"
alive "after a hard link"

# --- a FIFO
wt_as "$A" mkfifo "$(vmdir "$A" web)/suspend"
tap_check "FIFO: processed without hanging" wait_empty "$(vmdir "$A" web)"
tap_like "$(sj "$A" web status.json '"\(.command) \(.ok) \(.error)"')" "^suspend false .*not a regular file" \
    "FIFO: refused"
alive "after a FIFO"

# --- a device node
mknod "$(vmdir "$A" web)/start" c 1 3
tap_check "device node: processed" wait_empty "$(vmdir "$A" web)"
tap_like "$(sj "$A" web status.json '"\(.command) \(.ok) \(.error)"')" "^start false .*not a regular file" \
    "device node: refused"
tap_is "$(sj "$A" web status.json .state)" shutoff "device node: web was not started"
alive "after a device node"

# --- a big file
wt_as "$A" mkdir -p "$(vmdir "$A" big)"
wt_as "$A" sh -c 'head -c 2097152 /dev/zero | tr "\0" " " >"$1"' sh "$(vmdir "$A" big)/create"
tap_check "2 MB create: processed" wait_empty "$(vmdir "$A" big)"
tap_like "$(sj "$A" big status.json '"\(.command) \(.ok) \(.error)"')" \
    "^create false .*2097152 bytes; the limit is 65536" "2 MB create: refused unread"
tap_is "$(state_of "$A" big)" missing "2 MB create: no VM"
alive "after a big file"

# --- VM directories that are symlinks
mkdir -p "$rstage/target"
printf 'x' >"$rstage/target/start"
touch -d '2001-01-01' "$rstage/target/start" "$rstage/target"
target_before=$(ls -lA --time-style=full-iso "$rstage/target")
root_listing() { find /root -maxdepth 1 ! -name '.wt-files-secret.*' -printf '%p %s %T@ %u\n' | sort; }
root_before=$(root_listing)
wt_as "$A" ln -s "$rstage/target" "$(vmdir "$A" evil)"
wt_as "$A" ln -s /root "$(vmdir "$A" evil2)"
tap_check "a VM dir symlinked to a root dir: reported" \
    wait_until 6 problem_seen "$A" "command/vm/evil: ignored: .*symbolic link"
tap_check "a VM dir symlinked to /root: reported" \
    wait_until 6 problem_seen "$A" "command/vm/evil2: ignored: .*symbolic link"
tap_is "$(ls -lA --time-style=full-iso "$rstage/target")" "$target_before" "nothing in the target dir touched"
tap_is "$(root_listing)" "$root_before" "nothing in /root touched"
tap_is "$(state_of "$A" evil)" missing "no VM evil"
wt_as "$A" rm -f "$(vmdir "$A" evil)" "$(vmdir "$A" evil2)"
alive "after symlinked VM dirs"

# --- ~/wirt/command a symlink
fake2=$(mktemp -d /tmp/wt-files-fake2.XXXXXX)
fake_dirs+=("$fake2")
chown "$A:" "$fake2"
wt_as "$A" mkdir -p "$fake2/vm/fake2"
wt_as "$A" sh -c ': >"$1/vm/fake2/create"' sh "$fake2"
wt_as "$A" mv "$AH/wirt/command" "$AH/wirt/command.saved"
wt_as "$A" ln -s "$fake2" "$AH/wirt/command"
tap_check "\$HOME/wirt/command a symlink: reported" \
    wait_until 6 problem_seen "$A" "wirt/command: ignored: .*symbolic link"
tap_is "$(cd "$fake2" && find . | sort | paste -sd' ')" ". ./vm ./vm/fake2 ./vm/fake2/create" \
    "\$HOME/wirt/command a symlink: the command behind it was not taken"
tap_is "$(state_of "$A" fake2)" missing "no VM fake2"
wt_as "$A" rm "$AH/wirt/command"
wt_as "$A" mv "$AH/wirt/command.saved" "$AH/wirt/command"

# --- ~/wirt itself a symlink
fake=$(mktemp -d /tmp/wt-files-fake.XXXXXX)
fake_dirs+=("$fake")
chown "$A:" "$fake"
wt_as "$A" mkdir -p "$fake/command/vm/fake"
wt_as "$A" sh -c ': >"$1/command/vm/fake/create"' sh "$fake"
wt_as "$A" mv "$AH/wirt" "$AH/wirt.saved"
wt_as "$A" ln -s "$fake" "$AH/wirt"
sleep $((RESCAN + 1)) # proving that nothing happens: a rescan period and a bit
tap_is "$(cd "$fake" && find . | sort | paste -sd' ')" ". ./command ./command/vm ./command/vm/fake ./command/vm/fake/create" \
    "\$HOME/wirt a symlink to /tmp: nothing taken, no info/ or logs/ written through it"
tap_is "$(state_of "$A" fake)" missing "no VM fake"
wt_as "$A" rm "$AH/wirt"
wt_as "$A" mv "$AH/wirt.saved" "$AH/wirt"
alive "after ~/wirt and ~/wirt/command as symlinks"

# --- ~/wirt/info a symlink to /etc before first use (bob's fresh tree)
etc_marker=$tmp/etc-marker
touch "$etc_marker"
sleep 0.02
wt_as "$B" mkdir -p "$BH/.wt-stage/wirt/command/vm/binfo"
wt_as "$B" ln -s /etc "$BH/.wt-stage/wirt/info"
wt_as "$B" sh -c 'printf %s "{\"memory\": 64}" >"$1"' sh "$BH/.wt-stage/wirt/command/vm/binfo/create"
wt_as "$B" mv "$BH/.wt-stage/wirt" "$BH/wirt"
tap_check "info/ a symlink to /etc: the command is processed" wait_empty "$(vmdir "$B" binfo)"
tap_check_fails "info/ a symlink: no /etc/vm" test -e /etc/vm
tap_is "$(etc_changes "$etc_marker")" "" "info/ a symlink: nothing written into /etc"
tap_is "$(readlink "$BH/wirt/info")" /etc "info/ a symlink: left as it is"
tap_check "info/ a symlink: bob is told in history.log" \
    wait_until 3 problem_seen "$B" "info"

# --- a file owned by bob inside alice's VM dir
printf '' >"$rstage/start"
chown "$B:" "$rstage/start"
mv "$rstage/start" "$(vmdir "$A" web)/start"
tap_check "bob's file in alice's dir: processed" wait_empty "$(vmdir "$A" web)"
tap_like "$(sj "$A" web status.json '"\(.command) \(.ok) \(.error)"')" \
    "^start false .*belongs to uid $BUID" "bob's file: refused"
tap_is "$(sj "$A" web status.json .state)" shutoff "bob's file: web was not started"
alive "after a foreign file"

# --- odd names
long=$(printf 'a%.0s' $(seq 200))
odd=("we b" "-rf" "a..b" "$long" $'nl\nname' "dot.name" "under_score")
for n in "${odd[@]}"; do
    wt_as "$A" mkdir -p -- "$AH/wirt/command/vm/$n"
    wt_as "$A" touch -- "$AH/wirt/command/vm/$n/start"
done
check "$A" okname create '{"memory": 64}' "create memory=64 true shutoff" "odd names: a valid VM beside them works"
for n in "${odd[@]}"; do
    shown=$(printf '%s' "${n:0:80}" | sed -e 's/\n/\\n/')
    [ "$n" = $'nl\nname' ] && shown='nl\nname'
    if wait_until 5 problem_seen "$A" "command/vm/$(printf '%s' "$shown" | sed 's/[.[\*^$()+?{|]/\\&/g'): ignored"; then
        tap_ok "odd name '${shown:0:20}': reported in history.log"
    else
        tap_not_ok "odd name '${shown:0:20}': reported in history.log" \
            "$(hq "$A" '.action == "files"' | tail -5)"
    fi
    tap_check "odd name '${shown:0:20}': its command is left alone" test -f "$AH/wirt/command/vm/$n/start"
done
tap_is "$(as "$A" --format json list | jq -r '.[].name' | grep -c -e '^we b' -e 'rf$' -e '^a\.\.b' -e '^aaaa' -e '^nl' -e '^dot' -e '^under')" \
    0 "odd names: no VM made from any"
for n in "${odd[@]}"; do rm -rf -- "${AH:?}/wirt/command/vm/$n"; done
alive "after odd names"

# --- a flood: 500 command files in 50 VM dirs at once
flood_cmds=(create start suspend resume reboot autostart config stop destroy delete)
wt_as "$A" mkdir -p "$AH/.wt-stage/flood"
now=$(date +%s)
wt_as "$A" bash -c '
    now=$1; shift
    for i in $(seq -w 1 50); do
        d=$HOME/.wt-stage/flood/f$i
        mkdir -p "$d"
        printf %s "{\"memory\": 32}" >"$d/create"
        : >"$d/start"; : >"$d/suspend"; : >"$d/resume"; : >"$d/reboot"
        : >"$d/autostart"; printf %s "{\"autostart\": false}" >"$d/config"
        printf %s --force >"$d/stop"; : >"$d/destroy"; : >"$d/delete"
        t=$((now - 100))
        for a in "$@"; do touch -d "@$t" "$d/$a"; t=$((t + 1)); done
    done' sh "$now" "${flood_cmds[@]}"
flood_t0=$(date +%s.%N)
wt_as "$A" sh -c 'mv "$HOME"/.wt-stage/flood/f* "$HOME/wirt/command/vm/"'
flood_done() { [ -z "$(find "$AH/wirt/command/vm" -mindepth 2 -path '*/f[0-9]*/*' -print -quit)" ]; }
if wait_until 60 flood_done; then
    tap_ok "flood: 500 commands in 50 dirs all processed ($(printf '%.1f' "$(echo "$(date +%s.%N) - $flood_t0" | bc)") s)"
else
    tap_not_ok "flood: 500 commands in 50 dirs all processed" \
        "left: $(find "$AH/wirt/command/vm" -mindepth 2 -path '*/f[0-9]*/*' | wc -l)"
fi
tap_is "$(jq -c --arg a "$A" 'select(.owner == $a and .door == "files" and ((.vm // "") | test("^f[0-9]+$")))' \
    "$tmp/history.jsonl" | wc -l)" 500 "flood: wirtd's own history has all 500"
flood_lines=$(hq "$A" '(.vm // "") | test("^f[0-9]+$")' | wc -l)
tap_is "$flood_lines" 500 "flood: history.log has a line for each of the 500"
[ "$flood_lines" = 500 ] || tap_diag "$(find "$AH/wirt/logs" -maxdepth 1 -printf '%f %s\n' | head -20)" "$(hist "$A" | wc -l) lines in all"
tap_is "$(hq "$A" '((.vm // "") | test("^f[0-9]+$")) and .action == "delete" and .ok' | wc -l)" 50 \
    "flood: each dir's commands ran in order, ending with a successful delete"
tap_is "$(as "$A" --format json list | jq '[.[] | select(.name | test("^f[0-9]+$"))] | length')" 0 \
    "flood: no flood VM is left"
alive "after the flood"
rm -rf "${AH:?}"/wirt/command/vm/f[0-9]*

# --- a heavy flood: 60 commands of 60 KB each (under max-command-bytes) at once
wt_as "$A" bash -c '
    pad=$(head -c 60000 /dev/zero | tr "\0" " ")
    for i in $(seq -w 1 60); do
        mkdir -p "$HOME/.wt-stage/heavy/h$i"
        printf "%s--disable" "$pad" >"$HOME/.wt-stage/heavy/h$i/autostart"
    done'
wt_as "$A" sh -c 'mv "$HOME"/.wt-stage/heavy/h* "$HOME/wirt/command/vm/"'
heavy_done() { [ -z "$(find "$AH/wirt/command/vm" -mindepth 2 -path '*/h[0-9]*/*' -print -quit)" ]; }
tap_check "heavy flood: 60 commands of 60 KB all processed" wait_until 30 heavy_done
tap_is "$(cat "$AH"/wirt/info/vm/h[0-9]*/status.json 2>/dev/null | jq -r .command | grep -c '^autostart disable$')" 60 \
    "heavy flood: each answered in its status.json"
# (gone before the check below, so a restarted wirtd does not read them again)
rm -rf "${AH:?}"/wirt/command/vm/h[0-9]*
alive "after the heavy flood"

ensure_wirtd # the race gets a living wirtd even when an earlier attack killed it

# --- a race: a VM dir swapped between a directory and a symlink to /etc
etc_marker2=$tmp/etc-marker2
touch "$etc_marker2"
etc_entries() { find /etc -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -v -E '^(passwd|group|shadow|gshadow|subuid|subgid)' | sort; }
etc_list_before=$(etc_entries)
sleep 0.02
wt_as "$A" bash -c '
    d=$HOME/wirt/command/vm
    end=$((SECONDS + 4))
    while [ "$SECONDS" -lt "$end" ]; do
        rm -f "$d/race"; mkdir "$d/race" 2>/dev/null
        : >"$d/race/autostart" 2>/dev/null
        printf %s "{\"memory\": 32}" >"$d/race/create" 2>/dev/null
        rm -rf "$d/race" 2>/dev/null
        ln -s /etc "$d/race" 2>/dev/null
    done' 2>/dev/null &
racer=$!
wt_as "$A" bash -c '
    d=$HOME/wirt/command/vm/race
    end=$((SECONDS + 4))
    while [ "$SECONDS" -lt "$end" ]; do : >"$d/start"; : >"$d/delete"; done' 2>/dev/null &
racer2=$!
wait "$racer" "$racer2"
wt_as "$A" rm -rf "$AH/wirt/command/vm/race"
tap_is "$(etc_changes "$etc_marker2")" "" "race: nothing in /etc changed"
tap_is "$(etc_entries)" "$etc_list_before" \
    "race: no entry in /etc appeared or went"
tap_check_fails "race: no /etc/.wirt-taken.* file" sh -c 'find /etc -maxdepth 1 -name ".wirt-taken*" | grep -q .'
alive "after the race"
if [ "$(state_of "$A" race)" != missing ]; then
    as "$A" destroy race >/dev/null 2>&1
    as "$A" delete race >/dev/null 2>&1
fi

tap_is "$(grep -c 'helper [0-9]* stopped' "$tmp/wirtd.log")" 0 \
    "no wirt-userfs helper died during the attacks (wirtd.log)"

# === 8. group changes =========================================================================
getent passwd "$D" >/dev/null || dave_made=1
if wt_user_add "$D" "$G"; then
    DH=$(home_of "$D")
    chmod 0755 "$DH"
    wt_as "$D" mkdir -p "$DH/wirt/command/vm/dv"
    wt_as "$D" sh -c 'printf %s "{\"memory\": 64}" >"$1"' sh "$DH/wirt/command/vm/dv/create"
    tap_check "a user added to the group is picked up (his create runs)" \
        wait_empty "$DH/wirt/command/vm/dv" $((RESCAN + 8))
    tap_is "$(sj "$D" dv status.json '"\(.command) \(.ok) \(.state)"')" "create memory=64 true shutoff" \
        "his status.json says so"
    tap_is "$(state_of "$D" dv)" shutoff "wirt list shows dave's dv"
    gpasswd -d "$D" "$G" >/dev/null
    sleep $((RESCAN + 1)) # wirtd re-reads the group every rescan-seconds
    wt_as "$D" touch "$DH/wirt/command/vm/dv/start"
    sleep $((RESCAN * 2)) # proving that nothing happens: two rescan periods
    tap_check "after leaving the group his command file stays" test -f "$DH/wirt/command/vm/dv/start"
    tap_is "$("$wirt" --format json list | jq -r --arg d "$D" '.[] | select(.owner == $d and .name == "dv") | .state')" \
        shutoff "and nothing happens to his VM"
    "$wirt" delete "$D/dv" >/dev/null 2>&1
    rm -rf "${DH:?}/wirt"
    if [ -n "$dave_made" ]; then userdel --remove "$D" 2>/dev/null; fi
else
    tap_not_ok "cannot make $D"
fi

# === 9. restart with pending commands =============================================================
stop_wirtd
tap_is "$wirtd_status" 0 "wirtd stops cleanly"
wt_as "$A" mkdir -p "$(vmdir "$A" rs)"
wt_as "$A" sh -c 'printf %s "{\"memory\": 64}" >"$1/create"; : >"$1/start"' sh "$(vmdir "$A" rs)"
wt_as "$A" touch -d '-5 seconds' "$(vmdir "$A" rs)/create"
start_wirtd || tap_bail "wirtd does not restart"
tap_check "restart: commands written while wirtd was down are processed" \
    wait_empty "$(vmdir "$A" rs)" 10
tap_is "$(cmd_result "$A" rs)" "start true running" "restart: create then start ran"
alive "after the restart"

# === 10. a burst from two users ===================================================================
for u in "$A" "$B"; do
    wt_as "$u" bash -c '
        for i in $(seq -w 1 20); do
            mkdir -p "$HOME/.wt-stage/burst/b$i"
            printf %s "{\"memory\": 32, \"cpus\": 1}" >"$HOME/.wt-stage/burst/b$i/create"
        done'
    wt_as "$u" mkdir -p "$(home_of "$u")/wirt/command/vm"
done
burst_t0=$(date +%s.%N)
wt_as "$A" sh -c 'mv "$HOME"/.wt-stage/burst/b* "$HOME/wirt/command/vm/"' &
p1=$!
wt_as "$B" sh -c 'mv "$HOME"/.wt-stage/burst/b* "$HOME/wirt/command/vm/"' &
p2=$!
wait "$p1" "$p2"
burst_done() {
    [ -z "$(find "$AH/wirt/command/vm" "$BH/wirt/command/vm" -mindepth 2 -path '*/b[0-9]*/*' -print -quit)" ]
}
tap_check "burst: 40 creates from two users all processed" wait_until 60 burst_done
tap_diag "burst took $(echo "$(date +%s.%N) - $burst_t0" | bc) s"
for u in "$A" "$B"; do
    tap_is "$(as "$u" --format json list | jq '[.[] | select(.name | test("^b[0-9]+$"))] | length')" 20 \
        "burst: $u has all 20 VMs"
done

# === 11. rotation =================================================================================
rot_ok=1
run "$A" rot create '{"memory": 32}' || rot_ok=0
for i in $(seq 2 70); do
    flag=
    [ $((i % 2)) -eq 0 ] && flag=--disable
    run "$A" rot autostart "$flag" || rot_ok=0
done
tap_is "$rot_ok" 1 "rotation: 70 commands on one VM processed"
tap_check "rotation: logs/vm/rot.log.1.gz exists" test -f "$AH/wirt/logs/vm/rot.log.1.gz"
tap_like "$(zcat "$AH/wirt/logs/vm/rot.log.1.gz" 2>&1 | head -3)" "create .*by $A via files: ok" \
    "rotation: zcat reads it, the oldest line first"
tap_check "rotation: the current rot.log is under the limit" \
    test "$(stat -c %s "$AH/wirt/logs/vm/rot.log")" -le 4096
tap_is "$(stat -c '%U %G %a' "$AH/wirt/logs/vm/rot.log.1.gz")" "root $A 640" \
    "rotation: the .gz is root:alice 0640 too"
tap_check "rotation: history.log rotated too (history.log.1.gz)" test -f "$AH/wirt/logs/history.log.1.gz"

# --- the end
stop_wirtd
[ "$wirtd_status" = 0 ] || tap_diag "$(tail -40 "$tmp/wirtd.log")"
tap_is "$wirtd_status" 0 "wirtd stops cleanly at the end"
tap_diag "test-files took $(($(date +%s) - started)) s"
tap_done
