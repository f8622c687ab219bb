#!/usr/bin/env bash
# tests/lint/check-virt-calls.sh SOURCE_ROOT: only src/service (after policy and quota) and
# src/virt itself call wirt_virt_*(), the blocking libvirt actions. A front door (http, spool,
# cli, daemon, …) that called one would skip the policy check (STYLE.md, as libvirt's
# check-aclrules). Tests of the virt layer itself (tests/virt) may call them.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lint-lib.sh"

mapfile -t files < <(lint_c_files src | grep -Ev '^src/(service|virt)/')
lint_prepare "${files[@]}"
lint_rule "outside src/service and src/virt: no wirt_virt_*() calls" code \
    '(^|[^A-Za-z0-9_])wirt_virt_[A-Za-z0-9_]*[[:space:]]*\(' "${files[@]}"
tap_done
