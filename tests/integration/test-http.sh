#!/usr/bin/env bash
# tests/integration/test-http.sh: the API over TCP with TLS, as real users.
#
# A certificate the test makes, real PAM passwords (chpasswd), an admin password
# file (crypt(3) hashes), API tokens, the admin realm, login throttling, and the
# size and Origin checks, with curl as the client. Needs root.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"
. "$here/../lib/users.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (useradd, chpasswd)"
command -v openssl >/dev/null || tap_skip_all "openssl not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}" "${WIRT:?WIRT must name the wirt binary}"

tmp=$(mktemp -d /tmp/wirt-http.XXXXXX)
chmod 0755 "$tmp"
cleanup() {
    stop_wirtd
    wt_users_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

wt_users_setup || tap_bail "cannot create the test users"
printf '%s\n' 'wt-alice:alice-pw-1' 'wt-bob:bob-pw-1' 'wt-admin1:admin-pam-pw' | chpasswd ||
    tap_bail "chpasswd failed"
printf 'wt-admin1:%s\n' "$(openssl passwd -6 admin-file-pw)" >"$tmp/admins"
chmod 0600 "$tmp/admins"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$tmp/tls.key" -out "$tmp/tls.crt" >/dev/null 2>&1 || tap_bail "openssl req failed"

port=$((20000 + $$ % 20000))
base=https://127.0.0.1:$port
export WIRT_SOCKET=$tmp/wirtd.sock
cat >"$tmp/wirtd.conf" <<CONF
[daemon]
user-group=wt-users
admin-group=wt-admins
history=$tmp/history.jsonl
[files]
enabled=false
[http]
listen=127.0.0.1:$port
tls-cert=$tmp/tls.crt
tls-key=$tmp/tls.key
auth=pam;token
admin-auth=file:$tmp/admins
token-file=$tmp/tokens
fail-limit=3
fail-window=60
lockout=4
cache-seconds=30
CONF
"$WIRTD" --config "$tmp/wirtd.conf" --connect test:///default --socket "$WIRT_SOCKET" \
    2>"$tmp/wirtd.log" &
wirtd_pid=$!
for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$tmp/tls.crt" "$base/1.0" && break
    sleep 0.05
done

# req CURL-ARGS...: body to $tmp/body, status to stdout
req() {
    curl -s -o "$tmp/body" -w '%{http_code}' --cacert "$tmp/tls.crt" "$@"
}

tap_is "$(req "$base/1.0")" 401 "no credentials: 401"
tap_like "$(curl -s -D - -o /dev/null --cacert "$tmp/tls.crt" "$base/1.0" | tr -d '\r')" \
    'WWW-Authenticate: Basic realm="wirt"' "with a Basic challenge"
tap_is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/1.0")" 000 \
    "plain HTTP on the TLS port gets no answer"

tap_is "$(req -u wt-alice:alice-pw-1 "$base/1.0")" 200 "alice logs in with her PAM password"
tap_is "$(jq -r '.user, .admin' "$tmp/body" | paste -sd' ')" "wt-alice false" "as herself, not an admin"
tap_is "$(req -u wt-alice:alice-pw-1 -X POST -H 'Content-Type: application/json' \
    --data '{"name":"web","memory_mib":128}' "$base/1.0/vms")" 201 "alice creates a VM over TCP"
tap_is "$(req -u wt-alice:alice-pw-1 -X PUT -H 'Content-Type: application/json' \
    --data '{"action":"start"}' "$base/1.0/vms/web/state")" 200 "and starts it"
tap_is "$(jq -r 'select(.action == "start") | .door' "$tmp/history.jsonl")" http \
    "history records the http front door"
tap_is "$(req -u wt-bob:bob-pw-1 "$base/1.0/vms/web?owner=wt-alice")" 404 \
    "bob cannot see alice's VM over TCP either"
tap_is "$(req -u wt-alice:wrong "$base/1.0")" 401 "a wrong password is a 401"
tap_like "$(cat "$tmp/wirtd.log")" "auth failure for user 'wt-alice' from 127\\.0\\.0\\.1" \
    "and a fail2ban line in the log"

# --- the admin realm --------------------------------------------------------------------
tap_is "$(req -u wt-admin1:admin-pam-pw "$base/1.0/vms")" 403 \
    "an admin logging in with PAM (not admin-auth) gets no admin rights"
tap_is "$(req -u wt-admin1:admin-file-pw "$base/1.0")" 200 "with the admin password file"
tap_is "$(jq -r .admin "$tmp/body")" true "they are an admin"
tap_is "$(req -u wt-admin1:admin-file-pw "$base/1.0/vms")" 200 "and see every VM"
tap_like "$(jq -r '.[] | (.owner // "-") + "/" + .name' "$tmp/body" | paste -sd,)" "wt-alice/web" \
    "alice's among them"
printf 'wt-admin1:%s\n' "$(openssl passwd -6 admin-file-pw-2)" >"$tmp/admins.new"
mv "$tmp/admins.new" "$tmp/admins"
tap_is "$(req -u wt-admin1:admin-file-pw "$base/1.0")" 401 \
    "a changed admin password stops working at once (not after cache-seconds)"
tap_is "$(req -u wt-admin1:admin-file-pw-2 "$base/1.0")" 200 "the new one works"

# --- API tokens -------------------------------------------------------------------------
out=$(wt_as wt-alice curl -s --unix-socket "$WIRT_SOCKET" -X POST -H 'Content-Type: application/json' \
    --data '{"name":"ci"}' http://wirt/1.0/tokens)
token=$(printf '%s' "$out" | jq -r .token)
tap_like "$token" '^wirt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$' "alice makes an API token on the unix socket"
tap_check_fails "the token file never holds the token itself" grep -q "${token##*_}" "$tmp/tokens"
tap_is "$(stat -c %a "$tmp/tokens")" 600 "the token file is root's alone"
tap_is "$(req -H "Authorization: Bearer $token" "$base/1.0")" 200 "the token logs her in over TCP"
tap_is "$(jq -r .user "$tmp/body")" wt-alice "as alice"
tap_is "$(wt_as wt-bob curl -s --unix-socket "$WIRT_SOCKET" http://wirt/1.0/tokens | jq length)" 0 \
    "bob does not see alice's tokens"
tap_is "$(wt_as wt-bob curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WIRT_SOCKET" \
    'http://wirt/1.0/tokens?user=wt-alice')" 404 "nor may he ask for them (they read as not found)"
tap_is "$(curl -s --unix-socket "$WIRT_SOCKET" 'http://wirt/1.0/tokens?user=wt-alice' | jq -r '.[].name')" ci \
    "an admin may"
tap_is "$(wt_as wt-alice curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WIRT_SOCKET" \
    -X DELETE http://wirt/1.0/tokens/ci)" 200 "alice revokes it"
tap_is "$(req -H "Authorization: Bearer $token" "$base/1.0")" 401 "a revoked token is refused"
tap_is "$(req -H "Authorization: Bearer wirt_0000000000000000_$(printf 'x%.0s' $(seq 43))" "$base/1.0")" \
    401 "a made-up token is refused"

# --- browser sessions: cookie + CSRF token ------------------------------------------
tap_is "$(curl -s -o "$tmp/login" -D "$tmp/login-headers" -w '%{http_code}' --cacert "$tmp/tls.crt" \
    -c "$tmp/jar" -u wt-alice:alice-pw-1 -X POST "$base/1.0/login")" 200 "alice logs in for a browser session"
tap_like "$(tr -d '\r' <"$tmp/login-headers" | grep -i '^set-cookie')" \
    "wirt_session=.*HttpOnly; Secure; SameSite=Strict" "the cookie is HttpOnly, Secure and SameSite=Strict"
csrf=$(jq -r .csrf_token "$tmp/login")
tap_is "$(req -b "$tmp/jar" "$base/1.0/vms")" 200 "the cookie alone reads"
tap_is "$(req -b "$tmp/jar" -X PUT -H 'Content-Type: application/json' --data '{"action":"suspend"}' \
    "$base/1.0/vms/web/state")" 403 "but cannot change anything without the CSRF token"
tap_is "$(req -b "$tmp/jar" -H "X-CSRF-Token: not-$csrf" -X PUT -H 'Content-Type: application/json' \
    --data '{"action":"suspend"}' "$base/1.0/vms/web/state")" 403 "nor with a wrong one"
tap_is "$(req -b "$tmp/jar" -H "X-CSRF-Token: $csrf" -X PUT -H 'Content-Type: application/json' \
    --data '{"action":"suspend"}' "$base/1.0/vms/web/state")" 200 "with the session's token it can"
tap_is "$(req -b "$tmp/jar" -H "X-CSRF-Token: $csrf" -X POST "$base/1.0/logout")" 200 "logout"
tap_is "$(req -b "$tmp/jar" "$base/1.0/vms")" 401 "the session is gone"
tap_is "$(req -b "wirt_session=made-up" "$base/1.0/vms")" 401 "a made-up session is refused"

# --- size, Origin ---------------------------------------------------------------------
tap_is "$(req -u wt-alice:alice-pw-1 -X POST -H 'Content-Type: text/plain' --data '{"name":"x"}' \
    "$base/1.0/vms")" 415 "a body that is not application/json is a 415"
tap_is "$(jq -r .error.code "$tmp/body")" unsupported-media-type "with its own error code"
head -c 100000 /dev/zero | tr '\0' ' ' >"$tmp/big"
tap_is "$(req -u wt-alice:alice-pw-1 -X POST -H 'Content-Type: application/json' \
    --data-binary @"$tmp/big" "$base/1.0/vms")" 413 "a 100 KB body is refused before it is read (413)"
tap_is "$(req -u wt-alice:alice-pw-1 -X POST -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data '{"name":"x"}' "$base/1.0/vms")" 411 \
    "a chunked body is refused (411)"
ws=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13'
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
tap_is "$(req --max-time 2 -u wt-alice:alice-pw-1 "${ws[@]}" -H 'Origin: https://evil.example' \
    "$base/1.0/events")" 403 "a websocket from a foreign Origin is refused"
tap_is "$(req --max-time 2 -u wt-alice:alice-pw-1 "${ws[@]}" -H "Origin: https://127.0.0.1:$port" \
    "$base/1.0/events")" 101 "from the server's own Origin it is upgraded"

# --- throttling -----------------------------------------------------------------------
start=$(date +%s%N)
for i in 1 2 3; do req -u wt-bob:wrong-$i "$base/1.0" >/dev/null; done
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$ms" -ge 1000 ]; then
    tap_ok "repeated failures are answered more and more slowly ($ms ms for 3)"
else
    tap_not_ok "repeated failures are answered more and more slowly" "3 failures took $ms ms"
fi
tap_is "$(req -u wt-bob:bob-pw-1 "$base/1.0")" 429 "past fail-limit even the right password gets 429"
tap_like "$(curl -s -D - -o /dev/null --cacert "$tmp/tls.crt" -u wt-bob:bob-pw-1 "$base/1.0" | tr -d '\r')" \
    "Retry-After: [0-9]+" "with Retry-After"
tap_is "$(req -u wt-alice:alice-pw-1 -H 'X-Forwarded-For: 1.2.3.4' "$base/1.0")" 429 \
    "the address is locked too (headers do not change who is calling)"
sleep 4.5
tap_is "$(req -u wt-bob:bob-pw-1 "$base/1.0")" 200 "after the lockout the right password works again"
tap_done
