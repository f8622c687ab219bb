# tests/lib/users.sh: real Unix users and groups for integration tests (bash library, root).
#
#   . tests/lib/users.sh
#   wt_users_setup                 # wt-alice, wt-bob (wt-users), wt-carol (outsider),
#                                  # wt-admin1 (wt-admins); idempotent
#   trap wt_users_cleanup EXIT
#   wt_as wt-alice "$WIRT" list    # runuser -u wt-alice -- "$WIRT" list
#   wirt=$(wt_reachable_bin "$WIRT") # a copy the test users may execute, if they cannot
#                                    # reach the build tree (e.g. a clone under /root);
#                                    # after wt_users_setup or wt_user_add
#   wt_group_add wt-students; wt_user_add wt-dave wt-users wt-students
#
# Every name starts with `wt-` so the tests never touch a real account. A user or group is
# only created when it does not exist, and wt_users_cleanup only removes what the harness
# created, and only when no other test still uses them: meson runs tests in parallel,
# so every test that called wt_users_setup holds a shared lock on USERS_LOCK until its
# cleanup, and the last one out removes the users (and their homes) recorded in USERS_MARK.

WT_USER_GROUP=wt-users
WT_ADMIN_GROUP=wt-admins
WT_ALICE=wt-alice
WT_BOB=wt-bob
WT_CAROL=wt-carol   # in neither group: an outsider
WT_ADMIN1=wt-admin1 # in wt-admins only

WT_USERS_STATE_DIR=${WT_USERS_STATE_DIR:-/run/lock}
_WT_CREATE_LOCK=$WT_USERS_STATE_DIR/wirt-test-users.create.lock
_WT_USE_LOCK=$WT_USERS_STATE_DIR/wirt-test-users.use.lock
_WT_MARK=$WT_USERS_STATE_DIR/wirt-test-users.created
_WT_USE_FD=
_WT_BIN_DIR=

_wt_check_name() {
    case "$1" in
    wt-*) return 0 ;;
    *)
        printf '# users.sh: refusing a name without the wt- prefix: %s\n' "$1" >&2
        return 1
        ;;
    esac
}

# _wt_locked COMMAND...: run COMMAND holding the creation lock (serialises useradd & co,
# which fail with "cannot lock /etc/passwd" when two run at once).
_wt_locked() {
    local fd rc=0
    mkdir -p "$WT_USERS_STATE_DIR"
    exec {fd}>>"$_WT_CREATE_LOCK"
    flock -x "$fd"
    "$@" || rc=$?
    flock -u "$fd"
    exec {fd}>&-
    return "$rc"
}

_wt_group_add_unlocked() {
    _wt_check_name "$1" || return 1
    getent group "$1" >/dev/null && return 0
    groupadd "$1" || return 1
    printf 'group %s\n' "$1" >>"$_WT_MARK"
}

_wt_user_add_unlocked() {
    local name=$1 groups
    shift
    _wt_check_name "$name" || return 1
    groups=$(
        IFS=,
        printf '%s' "$*"
    )
    if ! getent passwd "$name" >/dev/null; then
        useradd --create-home --shell /bin/bash --user-group \
            ${groups:+--groups "$groups"} "$name" || return 1
        printf 'user %s\n' "$name" >>"$_WT_MARK"
    elif [ -n "$groups" ]; then
        usermod --append --groups "$groups" "$name" || return 1
    fi
}

# Take the shared "in use" lock (once) before the creation lock is released, so a cleanup
# (which needs both) cannot remove the users between our creating and our using them.
# Also make wt_reachable_bin's directory here, in the caller's shell: wt_reachable_bin itself
# usually runs in a $(…) subshell, where a variable it set would be lost with the subshell
# and the directory never removed.
_wt_hold_unlocked() {
    [ -z "$_WT_USE_FD" ] || return 0
    exec {_WT_USE_FD}>>"$_WT_USE_LOCK"
    flock -s "$_WT_USE_FD"
    if [ -z "$_WT_BIN_DIR" ]; then
        _WT_BIN_DIR=$(mktemp -d /tmp/wirt-test-bin.XXXXXX) && chmod 755 "$_WT_BIN_DIR"
    fi
}

_wt_require_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    printf '# users.sh: needs root (useradd)\n' >&2
    return 1
}

# wt_group_add NAME: create group NAME (wt-…) unless it exists.
wt_group_add() {
    _wt_require_root || return 1
    _wt_locked _wt_group_add_hold "$1"
}
_wt_group_add_hold() {
    _wt_group_add_unlocked "$1" && _wt_hold_unlocked
}

# wt_user_add NAME [GROUP...]: create user NAME (wt-…, with a home and its own group) unless
# it exists, and make sure it is in each GROUP (which must exist).
wt_user_add() {
    _wt_require_root || return 1
    _wt_locked _wt_user_add_hold "$@"
}
_wt_user_add_hold() {
    _wt_user_add_unlocked "$@" && _wt_hold_unlocked
}

_wt_users_setup_unlocked() {
    _wt_group_add_unlocked "$WT_USER_GROUP" &&
        _wt_group_add_unlocked "$WT_ADMIN_GROUP" &&
        _wt_user_add_unlocked "$WT_ALICE" "$WT_USER_GROUP" &&
        _wt_user_add_unlocked "$WT_BOB" "$WT_USER_GROUP" &&
        _wt_user_add_unlocked "$WT_CAROL" &&
        _wt_user_add_unlocked "$WT_ADMIN1" "$WT_ADMIN_GROUP" &&
        _wt_hold_unlocked
}

# wt_users_setup: make the standard test users and groups (see the top of this file).
wt_users_setup() {
    _wt_require_root || return 1
    _wt_locked _wt_users_setup_unlocked
}

_wt_users_cleanup_unlocked() {
    local fd kind name
    exec {fd}>>"$_WT_USE_LOCK"
    if ! flock -x -n "$fd"; then
        exec {fd}>&-
        return 0 # another test still uses them; the last one out cleans up
    fi
    if [ -f "$_WT_MARK" ]; then
        # Users first (userdel -r also removes each one's own group and home), then groups.
        while read -r kind name; do
            [ "$kind" = user ] && _wt_check_name "$name" && userdel --remove "$name" 2>/dev/null
        done <"$_WT_MARK"
        while read -r kind name; do
            [ "$kind" = group ] && _wt_check_name "$name" && groupdel "$name" 2>/dev/null
        done <"$_WT_MARK"
        rm -f "$_WT_MARK"
    fi
    flock -u "$fd"
    exec {fd}>&-
    return 0
}

# wt_users_cleanup: stop using the test users; remove the ones the harness created if no
# other test uses them any more. Also removes wt_reachable_bin's copies. Safe to call twice.
wt_users_cleanup() {
    if [ -n "$_WT_BIN_DIR" ]; then
        rm -rf "$_WT_BIN_DIR"
        _WT_BIN_DIR=
    fi
    [ -n "$_WT_USE_FD" ] || return 0
    flock -u "$_WT_USE_FD"
    exec {_WT_USE_FD}>&-
    _WT_USE_FD=
    _wt_locked _wt_users_cleanup_unlocked
}

# wt_as USER COMMAND...: run COMMAND as USER, with USER's groups and the caller's
# environment (so WIRT_SOCKET and the like pass through), from a directory USER can enter.
wt_as() {
    local user=$1
    shift
    (cd / && runuser -u "$user" -- "$@")
}

# wt_reachable_bin FILE: print a path to FILE that every test user can execute: FILE itself
# when any user (tried as `nobody`) can run it, else a copy in a world-readable temporary
# directory (a clone under /root is out of reach of everyone else).
wt_reachable_bin() {
    local file=$1
    if runuser -u nobody -- test -x "$file" 2>/dev/null; then
        printf '%s\n' "$file"
        return 0
    fi
    if [ -z "$_WT_BIN_DIR" ]; then
        printf '# users.sh: call wt_users_setup or wt_user_add before wt_reachable_bin\n' >&2
        return 1
    fi
    install -m 755 "$file" "$_WT_BIN_DIR/" || return 1
    printf '%s\n' "$_WT_BIN_DIR/$(basename "$file")"
}
