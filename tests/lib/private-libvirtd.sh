# tests/lib/private-libvirtd.sh: a private libvirtd for integration tests (bash library).
#
#   . tests/lib/private-libvirtd.sh
#   private_libvirtd_start "$tmpdir/libvirt"   # exports PRIVATE_LIBVIRTD_SOCK, _PID, _DIR
#   virsh -c "$PRIVATE_LIBVIRTD_TEST_URI" list --all     # test+unix:///default?socket=…
#   virsh -c "$PRIVATE_LIBVIRTD_QEMU_URI" list --all     # qemu+unix:///system?socket=…
#   private_libvirtd_restart                   # same state dir, new process
#   private_libvirtd_stop                      # destroys its running QEMU domains, then stops
#
# The daemon cannot disturb a system libvirtd running beside it:
# - it runs in its own mount namespace (`unshare --mount --propagation private`) where fresh
#   directories under DIR are bind-mounted over /etc/libvirt, /run/libvirt, /var/lib/libvirt,
#   /var/cache/libvirt and /var/log/libvirt. Its socket, state, logs, capability cache,
#   networks and storage pools therefore all live under DIR, and its socket shows up outside
#   the namespace at DIR/run/libvirt/libvirt-sock. Nothing is autostarted (empty /etc/libvirt);
# - by default it also gets its own network namespace (only `lo`), so a network a test defines
#   and starts there (bridges, dnsmasq, firewall rules) never reaches the host's. Unix sockets
#   are files, so clients outside still reach it. PRIVATE_LIBVIRTD_NETNS=0 shares the host's.
#   The namespace is a named one (`ip netns add`, exported as PRIVATE_LIBVIRTD_NETNS_NAME, at
#   /run/netns/NAME): a restart keeps it, so guests keep their network; stop deletes it;
# - its qemu.conf turns off cgroups (no shared /sys/fs/cgroup/machine entries) and virtlogd
#   (QEMU logs go to files under DIR), so it needs no other daemon;
# - it writes its pid file under DIR, and stop/restart signal only the PID it started.
#
# The test driver (`test:///default`) is part of libvirt.so itself, so a libvirtd serves it to
# `test+unix://` clients (libvirt docs/drvtest.rst). Its `default` world is shared by the
# daemon's clients but reference-counted: it is freed when the LAST connection to it closes
# (src/test/test_driver.c, testDriverCloseInternal), so `virsh destroy test` followed by a
# second virsh would see a fresh world again. To give a test one world for the daemon's whole
# life (virsh, wirtd and the CLI alike), start also runs a keeper, a `virsh event --loop`
# holding one connection open (PRIVATE_LIBVIRTD_KEEP_TEST_WORLD=0 turns it off). A restart
# still begins a fresh world, as a real libvirtd restart does.
#
# Needs root, util-linux (unshare), iproute2 (ip) and libvirt-daemon / libvirt-clients.

PRIVATE_LIBVIRTD_START_TIMEOUT=${PRIVATE_LIBVIRTD_START_TIMEOUT:-30}
PRIVATE_LIBVIRTD_STOP_TIMEOUT=${PRIVATE_LIBVIRTD_STOP_TIMEOUT:-15}

_private_libvirtd_log() {
    printf '# private-libvirtd: %s\n' "$*" >&2
}

# The directories the daemon gets its own copy of, as "mountpoint:subdir of DIR".
_PRIVATE_LIBVIRTD_BINDS=(
    /etc/libvirt:etc/libvirt
    /run/libvirt:run/libvirt
    /var/lib/libvirt:lib/libvirt
    /var/cache/libvirt:cache/libvirt
    /var/log/libvirt:log/libvirt
)

_private_libvirtd_write_config() {
    local dir=$1

    mkdir -p "$dir/etc/libvirt/qemu" "$dir/run/libvirt" "$dir/lib/libvirt" \
        "$dir/cache/libvirt" "$dir/log/libvirt/qemu"
    # Root-only socket: wirtd (root) is the only client, as in production. No polkit.
    cat >"$dir/etc/libvirt/libvirtd.conf" <<'EOF'
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:stderr"
EOF
    cat >"$dir/etc/libvirt/qemu.conf" <<'EOF'
# Private test daemon: no cgroups shared with the host's libvirtd, no virtlogd.
cgroup_controllers = [ ]
stdio_handler = "file"
EOF
    # Clients in the namespace (none of ours) would read this; keep it local too.
    : >"$dir/etc/libvirt/libvirt.conf"
}

# Runs inside the new namespaces (as `bash -c`): bind the private directories over the
# system ones, then become libvirtd, keeping the PID unshare was started with.
# shellcheck disable=SC2016
_PRIVATE_LIBVIRTD_INNER='
set -eu
dir=$1
shift
for bind in "$@"; do
    target=${bind%%:*}
    mkdir -p "$target"
    mount --bind "$dir/${bind#*:}" "$target"
done
if [ "${PRIVATE_LIBVIRTD_NETNS:-1}" = 1 ]; then
    ip link set lo up
fi
exec libvirtd --config "$dir/etc/libvirt/libvirtd.conf" --pid-file "$dir/libvirtd.pid"
'

# private_libvirtd_start DIR: start a private libvirtd with its state under DIR (created if
# missing; reused as is by a restart). Exports PRIVATE_LIBVIRTD_DIR, PRIVATE_LIBVIRTD_SOCK,
# PRIVATE_LIBVIRTD_PID, PRIVATE_LIBVIRTD_QEMU_URI, PRIVATE_LIBVIRTD_TEST_URI.
# Returns non-zero (and prints the daemon's log) when it does not answer in time.
private_libvirtd_start() {
    local dir=${1:?private_libvirtd_start: DIR missing}
    local unshare_args=(--mount --propagation private)
    local pid i

    if [ -n "${PRIVATE_LIBVIRTD_PID:-}" ] && kill -0 "$PRIVATE_LIBVIRTD_PID" 2>/dev/null; then
        _private_libvirtd_log "already running as PID $PRIVATE_LIBVIRTD_PID"
        return 1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    case "$dir" in
    /etc/libvirt* | /run/libvirt* | /var/run/libvirt* | /var/lib/libvirt* | /var/cache/libvirt* | /var/log/libvirt*)
        _private_libvirtd_log "DIR must not be under a directory it hides: $dir"
        return 1
        ;;
    esac
    _private_libvirtd_write_config "$dir"
    rm -f "$dir/run/libvirt/libvirt-sock"
    local enter=()
    if [ "${PRIVATE_LIBVIRTD_NETNS:-1}" = 1 ]; then
        # A named network namespace (`ip netns add`), made once and kept across restarts:
        # a restarted libvirtd finds its networks, and running guests keep their links.
        if [ -z "${PRIVATE_LIBVIRTD_NETNS_NAME:-}" ]; then
            PRIVATE_LIBVIRTD_NETNS_NAME=wirt-t-$$-$RANDOM
            if ! ip netns add "$PRIVATE_LIBVIRTD_NETNS_NAME"; then
                _private_libvirtd_log "ip netns add $PRIVATE_LIBVIRTD_NETNS_NAME failed"
                unset PRIVATE_LIBVIRTD_NETNS_NAME
                return 1
            fi
            ip -n "$PRIVATE_LIBVIRTD_NETNS_NAME" link set lo up
            export PRIVATE_LIBVIRTD_NETNS_NAME
        fi
        enter=(nsenter "--net=/run/netns/$PRIVATE_LIBVIRTD_NETNS_NAME" --)
    fi

    # nsenter and unshare (no --fork) exec bash, which execs libvirtd: $! is libvirtd's PID.
    "${enter[@]}" unshare "${unshare_args[@]}" -- bash -c "$_PRIVATE_LIBVIRTD_INNER" \
        private-libvirtd "$dir" "${_PRIVATE_LIBVIRTD_BINDS[@]}" >>"$dir/libvirtd.log" 2>&1 </dev/null &
    pid=$!

    export PRIVATE_LIBVIRTD_DIR=$dir
    PRIVATE_LIBVIRTD_KEEPER_PID=
    export PRIVATE_LIBVIRTD_PID=$pid
    export PRIVATE_LIBVIRTD_SOCK=$dir/run/libvirt/libvirt-sock
    export PRIVATE_LIBVIRTD_QEMU_URI="qemu+unix:///system?socket=$PRIVATE_LIBVIRTD_SOCK"
    export PRIVATE_LIBVIRTD_TEST_URI="test+unix:///default?socket=$PRIVATE_LIBVIRTD_SOCK"

    for ((i = 0; i < PRIVATE_LIBVIRTD_START_TIMEOUT * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            _private_libvirtd_log "libvirtd (PID $pid) exited at start; its log:"
            sed 's/^/#   /' "$dir/libvirtd.log" >&2
            unset PRIVATE_LIBVIRTD_PID
            return 1
        fi
        if [ -S "$PRIVATE_LIBVIRTD_SOCK" ] &&
            virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" uri >/dev/null 2>&1; then
            _private_libvirtd_log "libvirtd PID $pid answers on $PRIVATE_LIBVIRTD_SOCK"
            if [ "${PRIVATE_LIBVIRTD_KEEP_TEST_WORLD:-1}" = 1 ]; then
                virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" event --all --loop \
                    >/dev/null 2>>"$dir/keeper.log" </dev/null &
                PRIVATE_LIBVIRTD_KEEPER_PID=$!
                _private_libvirtd_wait_clients 1 || { private_libvirtd_stop; return 1; }
            fi
            return 0
        fi
        sleep 0.1
    done
    _private_libvirtd_log "libvirtd (PID $pid) did not answer in ${PRIVATE_LIBVIRTD_START_TIMEOUT}s; its log:"
    sed 's/^/#   /' "$dir/libvirtd.log" >&2
    _private_libvirtd_kill "$pid"
    return 1
}

# Wait until the daemon has at least N clients (so the keeper's connection is open before a
# test's first virsh), asking its admin socket.
_private_libvirtd_wait_clients() {
    local want=$1 i n
    local admin="libvirtd:///system?socket=$PRIVATE_LIBVIRTD_DIR/run/libvirt/libvirt-admin-sock"
    for ((i = 0; i < PRIVATE_LIBVIRTD_START_TIMEOUT * 10; i++)); do
        n=$(virt-admin -q -c "$admin" srv-clients-info libvirtd 2>/dev/null |
            sed -n 's/^nclients *: *//p')
        [ "${n:-0}" -ge "$want" ] && return 0
        sleep 0.1
    done
    _private_libvirtd_log "the test-world keeper did not connect; $PRIVATE_LIBVIRTD_DIR/keeper.log:"
    sed 's/^/#   /' "$PRIVATE_LIBVIRTD_DIR/keeper.log" >&2
    return 1
}

# Signal PID (one we started) with TERM, then KILL after the timeout; reap it.
_private_libvirtd_kill() {
    local pid=$1 i

    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < PRIVATE_LIBVIRTD_STOP_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        _private_libvirtd_log "libvirtd PID $pid ignored SIGTERM for ${PRIVATE_LIBVIRTD_STOP_TIMEOUT}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# private_libvirtd_stop [--keep-domains]: power off the QEMU domains the private daemon runs
# (libvirtd leaves QEMU running when it exits; a test must not leak guests), then stop the
# daemon this shell started. Safe to call twice or when nothing runs.
private_libvirtd_stop() {
    local pid=${PRIVATE_LIBVIRTD_PID:-} dom net

    if [ -z "$pid" ]; then
        [ "${1:-}" = --keep-domains ] || _private_libvirtd_drop_netns
        return 0
    fi
    if [ "${1:-}" != --keep-domains ] && kill -0 "$pid" 2>/dev/null; then
        for dom in $(virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" list --name 2>/dev/null); do
            virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" destroy "$dom" >/dev/null 2>&1 || true
        done
        # libvirtd leaves each running network's dnsmasq behind when it exits.
        for net in $(virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" net-list --name 2>/dev/null); do
            virsh -q -c "$PRIVATE_LIBVIRTD_QEMU_URI" net-destroy "$net" >/dev/null 2>&1 || true
        done
    fi
    if [ -n "${PRIVATE_LIBVIRTD_KEEPER_PID:-}" ]; then
        kill -TERM "$PRIVATE_LIBVIRTD_KEEPER_PID" 2>/dev/null || true
        wait "$PRIVATE_LIBVIRTD_KEEPER_PID" 2>/dev/null || true
        PRIVATE_LIBVIRTD_KEEPER_PID=
    fi
    _private_libvirtd_kill "$pid"
    unset PRIVATE_LIBVIRTD_PID
    [ "${1:-}" = --keep-domains ] || _private_libvirtd_drop_netns
    return 0
}

_private_libvirtd_drop_netns() {
    if [ -n "${PRIVATE_LIBVIRTD_NETNS_NAME:-}" ]; then
        ip netns delete "$PRIVATE_LIBVIRTD_NETNS_NAME" 2>/dev/null || true
        unset PRIVATE_LIBVIRTD_NETNS_NAME
    fi
}

# private_libvirtd_restart: stop the daemon (its QEMU domains keep running, as in a real
# libvirtd restart) and start a new one on the same DIR and socket. The test driver's
# in-memory world starts afresh.
private_libvirtd_restart() {
    local dir=${PRIVATE_LIBVIRTD_DIR:?private_libvirtd_restart: not started}

    private_libvirtd_stop --keep-domains
    private_libvirtd_start "$dir"
}
