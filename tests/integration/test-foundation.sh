#!/usr/bin/env bash
# tests/integration/test-foundation.sh: issue 2 end to end, as real users.
#
# The real wirtd and wirt CLI, real unprivileged users made with useradd, and a
# private libvirtd (its own mount and network namespace) serving libvirt's test
# driver, so wirtd, virsh and the CLI see one world and the daemon can be
# restarted under wirtd's feet. Needs root.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/private-libvirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd, unshare)"
command -v libvirtd >/dev/null || tap_skip_all "libvirtd not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-foundation.XXXXXX)
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

# write_config MODE [EXTRA-DAEMON-LINES]
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
[pool default]
uris=$PRIVATE_LIBVIRTD_TEST_URI
[quota]
vms=3
[quota user:wt-bob]
vms=1
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

as() { # as USER wirt-args...
    local user=$1
    shift
    wt_as "$user" "$wirt" "$@"
}
json() { # json USER wirt-args... : stdout only
    as "$@" --format json 2>/dev/null
}
http_as() { # http_as USER CURL-ARGS...: the body goes to $tmp/body, the status to stdout
    local out
    out=$(wt_as "$1" curl -s -w '\n%{http_code}' --unix-socket "$WIRT_SOCKET" "${@:2}")
    printf '%s' "${out%$'\n'*}" >"$tmp/body"
    printf '%s' "${out##*$'\n'}"
}

printf '[daemon]\nuser-group=wt-users\n\nsecurity-mode=wide-open\n' >"$tmp/bad.conf"
out=$("$WIRTD" --config "$tmp/bad.conf" --socket "$tmp/bad.sock" 2>&1)
rc=$?
tap_is "$rc" 1 "a bad config stops wirtd at start"
tap_like "$out" "bad.conf:4: security-mode: 'wide-open' is not one of" "naming the file, the line and the reason"
tap_check_fails "and it never listened" test -e "$tmp/bad.sock"

write_config owner-manage
start_wirtd || { cat "$tmp/wirtd.log" >&2; tap_bail "wirtd does not start"; }
tap_ok "wirtd starts on the private libvirtd's test driver"

# --- two users, one name ------------------------------------------------------------
tap_check "alice creates web" as wt-alice create web --memory 256 --cpus 1
tap_check "bob creates web too: names are per owner" as wt-bob create web --memory 128
tap_is "$(json wt-alice list | jq -r '[.[] | .owner + "/" + .name] | join(",")')" \
    "wt-alice/web" "alice lists only her own VM"
tap_is "$(json wt-bob list | jq -r '[.[] | .owner + "/" + .name] | join(",")')" \
    "wt-bob/web" "bob lists only his own VM"
tap_is "$(json wt-alice info web | jq -r '.owner, .memory_mib, .vcpus, .state' | paste -sd' ')" \
    "wt-alice 256 1 shutoff" "alice's info shows owner, memory, vcpus and state"
tap_like "$(virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" list --all --name)" "wt-alice\\.web" \
    "the libvirt domain name is derived from owner and name"
tap_like "$(virsh -q -c "$PRIVATE_LIBVIRTD_TEST_URI" metadata wt-alice.web https://wirt.dev/xmlns/vm/1 2>&1)" \
    "wt-alice" "ownership lives in the domain's <metadata>"

# --- other users' VMs read exactly like missing ones ---------------------------------
real=$(as wt-alice info wt-bob/web 2>&1)
rc_real=$?
fake=$(as wt-alice info wt-bob/nosuch 2>&1)
rc_fake=$?
tap_is "$rc_real" 3 "alice asking for bob's VM exits 3 (not found)"
tap_is "${real//web/X}" "${fake//nosuch/X}" "and reads exactly like a VM that does not exist"
tap_check_exit "alice cannot start bob's VM" 3 as wt-alice start wt-bob/web
tap_is "$(json wt-bob info web | jq -r .state)" "shutoff" "bob's VM did not start"
tap_check_exit "alice cannot delete bob's VM" 3 as wt-alice delete wt-bob/web

# --- outsiders and admins -------------------------------------------------------------
out=$(as wt-carol list 2>&1)
rc=$?
tap_is "$rc" 4 "carol, not in the user group, is refused (exit 4)"
tap_like "$out" "not a member of group wt-users" "with a message that says why"
tap_like "$(json wt-admin1 list | jq -r '.[] | (.owner // "-") + "/" + .name' | sort | paste -sd,)" \
    "^-/test,wt-alice/web,wt-bob/web$" "an admin sees every VM, unowned domains too"
tap_check "root is an admin" "$wirt" list
tap_is "$(json wt-alice list | jq length)" 1 "users never see unowned domains"

# --- lifecycle ------------------------------------------------------------------------
tap_check "alice starts web" as wt-alice start web
tap_is "$(json wt-alice info web | jq -r .state)" running "web is running"
tap_check_exit "starting it again is a conflict (exit 6)" 6 as wt-alice start web
tap_check "suspend" as wt-alice suspend web
tap_is "$(json wt-alice info web | jq -r .state)" paused "web is paused"
tap_check "resume" as wt-alice resume web
tap_check "reboot" as wt-alice reboot web
tap_check_exit "a running VM cannot be deleted (exit 6)" 6 as wt-alice delete web
tap_check "stop (graceful)" as wt-alice stop web
tap_is "$(json wt-alice info web | jq -r .state)" shutoff "web is shut off"
tap_check "admin starts alice's web" "$wirt" start wt-alice/web
tap_check "alice destroys it" as wt-alice destroy web
tap_is "$(json wt-alice info web | jq -r .state)" shutoff "destroy powered it off"
tap_check "autostart" as wt-alice autostart web
tap_is "$(json wt-alice info web | jq -r .autostart)" true "autostart is on"
tap_check "autostart --disable" as wt-alice autostart web --disable
tap_is "$(json wt-alice info web | jq -r .autostart)" false "autostart is off"

# --- bad input, quotas ------------------------------------------------------------------
tap_check_exit "a bad VM name is a usage error (exit 2)" 2 as wt-alice create bad_name
tap_like "$(as wt-alice create bad_name 2>&1)" "letters, digits and '-'" "and says what is allowed"
tap_check_exit "memory over max-memory-mib is refused (exit 2)" 2 as wt-alice create big --memory 999999
out=$(as wt-bob create db 2>&1)
rc=$?
tap_is "$rc" 5 "bob's second VM passes his quota (exit 5)"
tap_is "$out" "wirt: quota: vms 1 of 1 used" "the refusal names the quota and the numbers"
tap_check_exit "alice cannot create web twice (exit 6)" 6 as wt-alice create web
tap_check_exit "an unknown node is not found (exit 3)" 3 as wt-alice create elsewhere --node nosuch
tap_check "alice creates a second VM" as wt-alice create db
tap_is "$(json wt-alice quota | jq -c '[.quota.vms, .usage.vms]')" "[3,2]" "quota shows limit and usage"
tap_check_exit "alice cannot see bob's quota" 4 as wt-alice quota --user wt-bob

# --- pools and nodes per role -----------------------------------------------------------
tap_is "$(json wt-alice pool list | jq -r '.[0].uris // "hidden"')" hidden "users do not see pool URIs"
tap_like "$(json wt-admin1 pool list | jq -r '.[0].uris[0]')" "^test\\+unix" "admins see pool URIs"
tap_is "$(json wt-alice node list | jq -r '.[0].uri // "hidden"')" hidden "users do not see node URIs"
tap_is "$(json wt-alice node list | jq -r '.[0].usage.vms')" 2 "users see their own usage per node"

# --- adopt ---------------------------------------------------------------------------
tap_check_exit "users cannot adopt" 4 as wt-alice adopt test --owner wt-alice --name legacy
tap_check "an admin adopts the unowned domain 'test' for alice" \
    "$wirt" adopt test --owner wt-alice --name legacy
tap_like "$(json wt-alice list | jq -r '.[].name' | sort | paste -sd,)" "^db,legacy,web$" \
    "alice now sees it as 'legacy'"

# --- history ---------------------------------------------------------------------------
tap_like "$(json wt-alice history | jq -r '.[] | .actor + ":" + .action + ":" + (.ok|tostring)' | paste -sd' ')" \
    "wt-alice:create:true.*wt-alice:start:true" "alice's history records her actions"
tap_is "$(json wt-alice history | jq '[.[] | select(.actor == "wt-bob" and .owner == "wt-bob")] | length')" 0 \
    "alice does not see bob's own history"
tap_like "$(json wt-admin1 history | jq -r '[.[].actor] | unique | join(",")')" "wt-alice.*wt-bob" \
    "admins see everyone's history"
tap_is "$(jq -c 'select(.actor=="wt-alice" and .action=="start" and .owner=="wt-bob") | .ok' "$tmp/history.jsonl" | head -1)" \
    false "the global history file records refused attempts too"
tap_is "$(json wt-alice history web | jq '[.[] | select(.vm != "web")] | length')" 0 "history NAME filters by VM"

# --- every route, walked as an outsider and as another user ------------------------------
routes=$("$WIRTD" --print-routes)
n_routes=$(printf '%s\n' "$routes" | wc -l)
walked=0
while read -r method pattern action body; do
    path=${pattern//\{owner\}/wt-alice}
    path=${path//\{name\}/web}
    [ "$body" = - ] && body=
    ctype=application/json
    case "$pattern" in /virt*) ctype=application/xml ;; esac
    call() { # call USER QUERY: body to $tmp/body (written by root), status to stdout
        http_as "$1" -X "$method" ${body:+-H "Content-Type: $ctype" --data "$body"} \
            "http://wirt$path$2"
    }
    code=$(call wt-carol "")
    [ "$code" = 403 ] || tap_not_ok "outsider gets 403 on $method $pattern" "got $code: $(cat "$tmp/body")"
    code=$(call wt-bob "?owner=wt-alice")
    case "$pattern" in
    /virt*) leak=$(grep -c 'owner="wt-alice"' "$tmp/body") ;;
    *) leak=$(jq '[.. | objects | select(.owner == "wt-alice" and .actor != "wt-bob")] | length' "$tmp/body" 2>&1) ;;
    esac
    case "$pattern" in
    *'{name}'*) want=404 ;;
    /1.0/adopt) want=403 ;;
    /1.0/events) want=400 ;; # not an upgrade: the stream's filtering is tested below
    /1.0/login | /1.0/logout) want=400 ;; # browser sessions: TCP only (tests/integration/test-http.sh)
    *) want=ok ;;
    esac
    if [ "$want" = ok ]; then
        case "$code" in 2??|409) ;; *) tap_not_ok "bob: $method $pattern answers" "got $code" ;; esac
    elif [ "$code" != "$want" ]; then
        tap_not_ok "bob gets $want on $method $pattern for alice's VM" "got $code: $(cat "$tmp/body")"
    fi
    [ "$leak" = 0 ] || tap_not_ok "bob learns nothing of alice from $method $pattern" "$(cat "$tmp/body")"
    walked=$((walked + 1))
done <<<"$routes"
tap_is "$walked" "$n_routes" "every route of the table was walked as outsider and other user"
tap_is "$(json wt-alice info web | jq -r .autostart)" false "the walk changed nothing of alice's"

# --- HTTP errors ----------------------------------------------------------------------
code=$(http_as wt-alice \
    -X PUT -H 'Content-Type: application/json' --data '{"action":' http://wirt/1.0/vms/web/state)
tap_is "$code:$(jq -r .error.code "$tmp/body")" "400:invalid" "malformed JSON is a 400 with the one error shape"
code=$(http_as wt-alice -X PATCH http://wirt/1.0/vms)
tap_is "$code" 405 "a known route with another method is a 405"

# --- operations: Prefer: respond-async -------------------------------------------------
code=$(http_as wt-alice -X PUT -H 'Prefer: respond-async' -H 'Content-Type: application/json' \
    --data '{"action":"start"}' http://wirt/1.0/vms/web/state)
op=$(jq -r .id "$tmp/body")
tap_is "$code:$(jq -r .status "$tmp/body")" "202:running" "Prefer: respond-async answers 202 with a running operation"
status=running
for _ in $(seq 50); do
    http_as wt-alice "http://wirt/1.0/operations/$op" >/dev/null
    status=$(jq -r .status "$tmp/body")
    [ "$status" = running ] || break
    sleep 0.1
done
tap_is "$status:$(jq -r '.status_code, .vm.state' "$tmp/body" | paste -sd:)" "success:200:running" \
    "the operation finishes with the VM's new state"
tap_is "$(http_as wt-bob "http://wirt/1.0/operations/$op")" 404 "bob cannot see alice's operation"
code=$(http_as wt-bob http://wirt/1.0/operations)
tap_is "$code:$(jq length "$tmp/body")" "200:0" "nor list it"
as wt-alice destroy web >/dev/null 2>&1

# --- live events: each stream carries only what its user may see -----------------------
( wt_as wt-alice "$wirt" events --format json --count 2 >"$tmp/alice-events" 2>&1 ) &
alice_events=$!
( "$wirt" events --format json --count 4 >"$tmp/admin-events" 2>&1 ) &
admin_events=$!
sleep 1 # both streams are up (the hello is not printed)
as wt-bob start web >/dev/null 2>&1
as wt-bob destroy web >/dev/null 2>&1
as wt-alice start web >/dev/null 2>&1
as wt-alice destroy web >/dev/null 2>&1
for _ in $(seq 100); do
    kill -0 "$alice_events" 2>/dev/null || kill -0 "$admin_events" 2>/dev/null || break
    sleep 0.1
done
kill "$alice_events" "$admin_events" 2>/dev/null
wait "$alice_events" "$admin_events" 2>/dev/null
tap_is "$(jq -r '.vm.owner + "/" + .vm.name + ":" + .vm.state' "$tmp/alice-events" 2>&1 | paste -sd' ')" \
    "wt-alice/web:running wt-alice/web:shutoff" "alice's event stream shows her VM's changes, not bob's"
tap_is "$(jq -r '.vm.owner' "$tmp/admin-events" 2>&1 | paste -sd' ')" \
    "wt-bob wt-bob wt-alice wt-alice" "an admin's stream shows everyone's, in order"
tap_check_exit "carol cannot open an event stream (exit 4)" 4 as wt-carol events

# --- security modes -------------------------------------------------------------------
stop_wirtd
[ "$wirtd_status" = 0 ] || tap_diag "$(tail -40 "$tmp/wirtd.log")"
tap_is "$wirtd_status" 0 "wirtd stops cleanly on SIGTERM (no leaks under ASan)"
write_config read-only
start_wirtd || tap_bail "wirtd does not restart"
tap_is "$(json wt-alice list | jq -r '[.[] | .owner] | unique | join(",")')" "wt-alice,wt-bob" \
    "read-only: users see every VM"
tap_check_exit "read-only: alice cannot start her own VM (exit 4)" 4 as wt-alice start web
tap_check_exit "read-only: nor create" 4 as wt-alice create new
tap_check "read-only: admins still manage" "$wirt" start wt-alice/web
"$wirt" destroy wt-alice/web >/dev/null 2>&1

stop_wirtd
write_config owner-view
start_wirtd || tap_bail "wirtd does not restart"
tap_is "$(json wt-alice list | jq -r '[.[] | .owner] | unique | join(",")')" "wt-alice" \
    "owner-view: users see only their own"
tap_check_exit "owner-view: alice cannot start her VM" 4 as wt-alice start web
tap_check_exit "owner-view: bob's VM is not found" 3 as wt-alice info wt-bob/web

stop_wirtd
write_config open "allow-delete=false"
start_wirtd || tap_bail "wirtd does not restart"
tap_check "open: alice may start bob's VM" as wt-alice start wt-bob/web
tap_check "open: and stop it" as wt-alice stop wt-bob/web --force
tap_check_exit "allow-delete=false: users cannot delete (exit 4)" 4 as wt-alice delete db
tap_check "allow-delete=false: admins can" "$wirt" delete wt-alice/db

# --- libvirtd restart under wirtd's feet ----------------------------------------------
private_libvirtd_restart || tap_bail "private libvirtd does not restart"
ok=
for _ in $(seq 150); do
    if [ "$(json wt-admin1 node list | jq -r '.[0].up')" = true ] &&
        json wt-admin1 list | jq -e 'map(.name) | index("test")' >/dev/null; then
        ok=1
        break
    fi
    sleep 0.1
done
tap_check "wirtd survives a libvirtd restart" kill -0 "$wirtd_pid"
tap_is "${ok:-0}" 1 "and reconnects and re-reads the host within 15 s"
tap_check "alice creates a VM on the restarted host" as wt-alice create after
tap_is "$(json wt-alice info after | jq -r .state)" shutoff "and it is there"
stop_wirtd
[ "$wirtd_status" = 0 ] || tap_diag "$(tail -40 "$tmp/wirtd.log")"
tap_is "$wirtd_status" 0 "wirtd stops cleanly after the restart too"

tap_done
