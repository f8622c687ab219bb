#!/usr/bin/env bash
# tests/lint/check-includes.sh SOURCE_ROOT: the direction of dependencies (STYLE.md):
#   util ← core ← virt ← service ← {spool, http, console, provision} ← daemon;  cli → util + core
# The compiler cannot enforce it (system headers are always on the path), so this does.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lint-lib.sh"

# An #include line (comments stripped, strings kept) that names one of the given folders of
# src/, as "virt/…", "../virt/…" or "src/virt/…".
inc_local() {
    printf '^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*/)?(%s)/' "$1"
}
inc_system() {
    printf '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(%s)' "$1"
}

# Tests of the virt layer (tests/virt, tests/integration) and benchmarks may use libvirt
# directly to set up fixtures or measure a peer; unit tests and fuzzers are pure logic.
mapfile -t not_virt < <(lint_c_files src tests/unit tests/fuzz fuzz | grep -v '^src/virt/')
mapfile -t core_util < <(lint_c_files src/core src/util)
mapfile -t util < <(lint_c_files src/util)
mapfile -t cli < <(lint_c_files src/cli)
lint_prepare "${not_virt[@]}"

lint_rule "only src/virt includes <libvirt/…> (checked in src/, tests/unit and the fuzzers)" incl \
    "$(inc_system 'libvirt/')" "${not_virt[@]}"
lint_rule "src/core, src/util: no libsoup, libvirt or libvirt-glib headers (pure model, no I/O)" incl \
    "$(inc_system 'libsoup|libvirt/|libvirt-glib/|libvirt-gobject/|libvirt-gconfig/')" "${core_util[@]}"
lint_rule "src/core, src/util: nothing from src/virt, service, http, daemon, cli (or later layers)" incl \
    "$(inc_local 'virt|service|http|daemon|cli|spool|console|provision|discovery|helper')" "${core_util[@]}"
lint_rule "src/util: nothing from src/core either (util sits below core)" incl \
    "$(inc_local 'core')" "${util[@]}"
lint_rule "src/cli: nothing from src/virt, service, http (the CLI speaks HTTP to wirtd)" incl \
    "$(inc_local 'virt|service|http|daemon|spool|console|provision|discovery')" "${cli[@]}"
lint_rule "src/cli: no libvirt headers" incl \
    "$(inc_system 'libvirt/|libvirt-glib/|libvirt-gobject/|libvirt-gconfig/')" "${cli[@]}"
tap_done
