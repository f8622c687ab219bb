#!/usr/bin/env bash
# tests/integration/test-matrix.sh: every VM route x role x security mode, generated.
#
# The routes come from `wirtd --print-routes` (so a new route is covered the day it
# is added), the roles are real users (the owner, another user, an admin, an
# outsider), and the expected outcome comes from the policy table below, written out
# here independently of src/core/wirt-policy.c. Each answer is classed as allowed
# (2xx, or 400/409: the policy let it through to validation or the VM's state),
# denied (403) or hidden (404: answered exactly like a VM that does not exist).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd)"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-matrix.XXXXXX)
chmod 0755 "$tmp"
cleanup() {
    stop_wirtd
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT
wt_users_setup || tap_bail "cannot create the test users"
export WIRT_SOCKET=$tmp/wirtd.sock

start_wirtd() { # MODE
    stop_wirtd
    printf '[daemon]\nuser-group=wt-users\nadmin-group=wt-admins\nsecurity-mode=%s\nhistory=%s\n[files]\nenabled=false\n[http]\ntoken-file=%s\n' \
        "$1" "$tmp/history.jsonl" "$tmp/tokens" >"$tmp/wirtd.conf"
    "$WIRTD" --config "$tmp/wirtd.conf" --connect test:///default --socket "$WIRT_SOCKET" \
        2>>"$tmp/wirtd.log" &
    wirtd_pid=$!
    for _ in $(seq 100); do [ -S "$WIRT_SOCKET" ] && break; sleep 0.05; done
    reset_vm
    reset_net
}

# alice's network "web": the object every network route is tried on.
reset_net() {
    "$WIRT" net list --format json 2>/dev/null | jq -e '.[] | select(.owner == "wt-alice" and .name == "web")' \
        >/dev/null 2>&1 && return
    "$WIRT" net create web --owner wt-alice --subnet 10.99.0.0/24 >/dev/null 2>&1
}

# alice's VM "web", shut off, autostart off: the object every route is tried on.
reset_vm() {
    "$WIRT" info wt-alice/web >/dev/null 2>&1 || "$WIRT" create web --owner wt-alice >/dev/null 2>&1
    "$WIRT" destroy wt-alice/web >/dev/null 2>&1
    "$WIRT" autostart wt-alice/web --disable >/dev/null 2>&1
}

# The policy, as issue 2 states it. A = allowed, D = denied, N = hidden.
expect() { # MODE ROLE CLASS
    local mode=$1 role=$2 class=$3
    # ssh (issue 3): the owner's alone in every mode, admins included; other users are
    # denied where they may see the VM, and find nothing where they may not.
    if [ "$class" = ssh ]; then
        case $role:$mode in
        owner:*) echo A ;;
        admin:* | outsider:* | other:open | other:read-only) echo D ;;
        other:*) echo N ;;
        esac
        return
    fi
    case $role in
    admin) echo A; return ;;
    outsider) echo D; return ;;
    esac
    case $class in
    view)
        case $role:$mode in
        owner:*) echo A ;;
        other:open | other:read-only) echo A ;;
        other:*) echo N ;;
        esac ;;
    change)
        case $role:$mode in
        owner:open | owner:owner-manage) echo A ;;
        owner:*) echo D ;;
        other:open) echo A ;;
        other:read-only) echo D ;;
        other:*) echo N ;;
        esac ;;
    create)
        case $mode in
        open | owner-manage) echo A ;;
        *) echo D ;;
        esac ;;
    admin-only) echo D ;;
    # Networks (issue 3): a user's network is private in every mode, like a box.
    net-view)
        case $role in owner) echo A ;; other) echo N ;; esac ;;
    net-change)
        case $role:$mode in
        owner:open | owner:owner-manage) echo A ;;
        owner:*) echo D ;;
        other:*) echo N ;;
        esac ;;
    net-create) # each user creates a network of their own
        case $mode in
        open | owner-manage) echo A ;;
        *) echo D ;;
        esac ;;
    esac
}

user_of() {
    case $1 in
    owner) echo wt-alice ;;
    other) echo wt-bob ;;
    admin) echo wt-admin1 ;;
    outsider) echo wt-carol ;;
    esac
}

routes=$("$WIRTD" --print-routes)
checked=0
for mode in open read-only owner-view owner-manage; do
    start_wirtd "$mode"
    mismatches=0
    while read -r method pattern action body; do
        case $action in
        view) class=view ;;
        start | stop | destroy | reboot | suspend | resume | autostart | delete | attach-disk) class=change ;;
        create) class=create ;;
        adopt) class=admin-only ;;
        net-view) class=net-view ;;
        net-delete) class=net-change ;;
        net-create) class=net-create ;;
        ssh) class=ssh ;; # the owner's, shut off here: 409 (allowed through to the state)
        *) continue ;; # not about a VM: whoami, lists, tokens, operations, sessions
        esac
        case $pattern in
        *'{name}'* | /1.0/vms | /1.0/adopt) ;;
        /1.0/networks) [ "$method" = POST ] || continue ;;
        *) continue ;; # collections are filtered, not refused: test-foundation.sh checks them
        esac
        [ "$body" = - ] && body=
        ctype=application/json
        case $body in '<'*) ctype=application/xml ;; esac
        path=${pattern//\{owner\}/wt-alice}
        path=${path//\{name\}/web}
        query=
        case $pattern in /1.0/vms/* | /1.0/networks/*) query="?owner=wt-alice" ;; esac
        for role in owner other admin outsider; do
            [ "$class" = admin-only ] && [ "$role" = admin ] && continue # adopts a domain that is not there
            out=$(wt_as "$(user_of "$role")" curl -s -w '\n%{http_code}' --unix-socket "$WIRT_SOCKET" \
                -X "$method" ${body:+-H "Content-Type: $ctype" --data "$body"} \
                "http://wirt$path$query")
            code=${out##*$'\n'}
            message=$(printf '%s' "${out%$'\n'*}" | jq -r '.error.message // empty' 2>/dev/null)
            # Hidden means answered like a VM that does not exist; any other answer but
            # 403 means the policy let the request through (to validation, to the VM's
            # state, or to libvirt, whose test driver cannot attach devices: 500).
            case $code:$message in
            403:*) got=D ;;
            404:vm\ *:\ not\ found | 404:network\ *:\ not\ found) got=N ;;
            [2345]??:*) got=A ;;
            *) got="?$code" ;;
            esac
            want=$(expect "$mode" "$role" "$class")
            checked=$((checked + 1))
            if [ "$got" != "$want" ]; then
                mismatches=$((mismatches + 1))
                tap_not_ok "$mode: $role $method $pattern" "expected $want, got $got (HTTP $code)" \
                    "${out%$'\n'*}"
            fi
            if [ "$got" = A ] && [ "$class" != view ] && [ "$class" != net-view ] && [ "$class" != ssh ]; then
                reset_vm
                reset_net
            fi
        done
    done <<<"$routes"
    [ "$mismatches" -eq 0 ] && tap_ok "$mode: every VM route x role answers as the policy table says"
done
if [ "$checked" -ge 100 ]; then
    tap_ok "$checked route x role x mode cases checked"
else
    tap_not_ok "enough cases were generated" "only $checked"
fi
tap_done
