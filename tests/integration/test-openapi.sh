#!/usr/bin/env bash
# tests/integration/test-openapi.sh: data/openapi.json describes the server as it is.
#
# The route table (`wirtd --print-routes`) and the document must list the same
# (method, path) pairs with the same policy action (x-wirt-action): a route the
# document lacks, or a documented one the server does not have, fails. The
# document must hold together (every $ref resolves, every {param} of a path is
# declared), and the running daemon must serve it unchanged at /1.0/openapi.json.
set -uo pipefail
export LC_ALL=C # sort and comm must agree on the order

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/wirtd.sh"

command -v jq >/dev/null || tap_skip_all "jq not installed"
command -v curl >/dev/null || tap_skip_all "curl not installed"
: "${WIRTD:?WIRTD must name the wirtd binary}"

doc=${WIRT_OPENAPI:-$here/../../data/openapi.json} # WIRT_OPENAPI: try another copy
[ -r "$doc" ] || tap_bail "cannot read $doc"

tmp=$(mktemp -d /tmp/wirt-openapi.XXXXXX)
cleanup() {
    stop_wirtd
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- the document against the route table ------------------------------------------------
tap_check "data/openapi.json is JSON" jq -e . "$doc"
tap_is "$(jq -r .openapi "$doc")" 3.0.3 "it is an OpenAPI 3.0.3 document"

if ! "$WIRTD" --print-routes >"$tmp/routes" 2>"$tmp/routes.err" || ! [ -s "$tmp/routes" ]; then
    tap_bail "wirtd --print-routes failed: $(cat "$tmp/routes.err")"
fi
# "METHOD PATTERN ACTION BODY…": the body may hold spaces, the first three fields do not.
awk '{ print $1, $2 }' "$tmp/routes" | sort >"$tmp/server-ops"
awk '{ print $1, $2, $3 }' "$tmp/routes" | sort >"$tmp/server-actions"
tap_is "$(sort -u "$tmp/server-ops" | wc -l)" "$(wc -l <"$tmp/server-ops")" \
    "the route table has no (method, path) twice"

jq -r '
    .paths | to_entries[] | .key as $path | .value | to_entries[]
    | select(.key | IN("get", "put", "post", "delete", "patch", "head", "options", "trace"))
    | "\(.key | ascii_upcase) \($path) \(.value["x-wirt-action"] // "(none)")"
' "$doc" | sort >"$tmp/doc-actions"
awk '{ print $1, $2 }' "$tmp/doc-actions" | sort >"$tmp/doc-ops"

missing=$(comm -23 "$tmp/server-ops" "$tmp/doc-ops")
if [ -z "$missing" ]; then
    tap_ok "every route of the server ($(wc -l <"$tmp/server-ops")) is in the document"
else
    tap_not_ok "every route of the server is in the document" "missing from data/openapi.json:" \
        "$missing"
fi
stale=$(comm -13 "$tmp/server-ops" "$tmp/doc-ops")
if [ -z "$stale" ]; then
    tap_ok "every operation of the document is a route of the server"
else
    tap_not_ok "every operation of the document is a route of the server" \
        "in data/openapi.json but not in wirtd --print-routes:" "$stale"
fi
wrong=$(awk 'NR == FNR { doc[$1 " " $2] = $3; next }
    ($1 " " $2) in doc && doc[$1 " " $2] != $3 {
        print $1, $2 ": the route table says " $3 ", the document " doc[$1 " " $2] }' \
    "$tmp/doc-actions" "$tmp/server-actions")
if [ -z "$wrong" ]; then
    tap_ok "each operation's x-wirt-action is the route table's policy action"
else
    tap_not_ok "each operation's x-wirt-action is the route table's policy action" \
        "$wrong"
fi

# --- the document holds together -----------------------------------------------------------
# jq failing is a failure too: an empty answer must mean "nothing wrong", not "jq broke".
dangling=$(jq -r '
    . as $root
    | [.. | objects | select(has("$ref")) | .["$ref"]] | unique[]
    | . as $ref
    | select(($ref | startswith("#/") | not) or
        (($root | getpath($ref | ltrimstr("#/") | split("/"))) == null))
' "$doc" 2>&1) || dangling="jq failed: $dangling"
if [ -z "$dangling" ]; then
    tap_ok "every \$ref resolves inside the document"
else
    tap_not_ok "every \$ref resolves inside the document" "dangling:" "$dangling"
fi

undeclared=$(jq -r '
    . as $root
    | def deref: if type == "object" and has("$ref")
                 then .["$ref"] as $ref | $root | getpath($ref | ltrimstr("#/") | split("/"))
                 else . end;
    .paths | to_entries[] | .key as $path | .value as $item
    | ([$path | scan("\\{([^}]+)\\}")[]] | sort) as $want
    | $item | to_entries[]
    | select(.key | IN("get", "put", "post", "delete", "patch", "head", "options", "trace"))
    | ([(($item.parameters // []) + (.value.parameters // []))[] | deref
        | select(.in == "path") | .name] | unique) as $have
    | select($have != $want)
    | "\(.key | ascii_upcase) \($path): path parameters \($have), the path has \($want)"
' "$doc" 2>&1) || undeclared="jq failed: $undeclared"
if [ -z "$undeclared" ]; then
    tap_ok "each path's {parameters} are declared, and only those"
else
    tap_not_ok "each path's {parameters} are declared, and only those" "$undeclared"
fi

dup_ids=$(jq -r '[.paths[][] | objects | .operationId // empty] | group_by(.)[]
    | select(length > 1)[0]' "$doc" 2>&1) || dup_ids="jq failed: $dup_ids"
tap_is "$dup_ids" "" "operationIds are unique"

# --- the served document ---------------------------------------------------------------------
sock=$tmp/wirtd.sock
printf '[daemon]\nuser-group=%s\n[files]\nenabled=false\n[http]\ntoken-file=%s/tokens\n' "$(id -gn)" "$tmp" \
    >"$tmp/wirtd.conf"
"$WIRTD" --config "$tmp/wirtd.conf" --connect test:///default --socket "$sock" \
    --history "$tmp/history.jsonl" 2>"$tmp/wirtd.log" &
wirtd_pid=$!
for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://wirt/1.0)" = 200 ] &&
        break
    sleep 0.05
done
tap_is "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://wirt/1.0)" 200 \
    "wirtd answers on its socket"

code=$(curl -s -o "$tmp/served.json" -D "$tmp/served.headers" -w '%{http_code}' \
    --unix-socket "$sock" http://wirt/1.0/openapi.json)
tap_is "$code" 200 "GET /1.0/openapi.json answers 200"
tap_like "$(tr -d '\r' <"$tmp/served.headers")" '[Cc]ontent-[Tt]ype: application/json' \
    "as application/json"
if jq -S . "$tmp/served.json" >"$tmp/served.sorted" 2>/dev/null &&
    jq -S . "$doc" >"$tmp/doc.sorted" && cmp -s "$tmp/served.sorted" "$tmp/doc.sorted"; then
    tap_ok "the served document is data/openapi.json"
else
    tap_not_ok "the served document is data/openapi.json" \
        "$(diff "$tmp/doc.sorted" "$tmp/served.sorted" 2>&1 | head -20)" \
        "$(head -c 300 "$tmp/served.json")"
fi
tap_done
