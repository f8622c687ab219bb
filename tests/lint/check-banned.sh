#!/usr/bin/env bash
# tests/lint/check-banned.sh SOURCE_ROOT: calls wirt does not make (comments and strings
# are ignored), in the spirit of libvirt's syntax-check.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lint-lib.sh"

# A call is NAME followed by "(", not preceded by an identifier character (so g_snprintf,
# g_ascii_strtoll and the like pass).
call() {
    printf '(^|[^A-Za-z0-9_])(%s)[[:space:]]*\\(' "$1"
}

mapfile -t src < <(lint_c_files src)
lint_prepare "${src[@]}"
mapfile -t not_helper < <(lint_c_files src | grep -v '^src/helper/')
mapfile -t user_tree < <(lint_c_files src/spool src/helper)

lint_rule "src/: no system() or popen() (a shell; use g_spawn_* with an argv)" code \
    "$(call 'system|popen')" "${src[@]}"
lint_rule "src/: no sprintf()/vsprintf() (unbounded; use g_strdup_printf or g_snprintf)" code \
    "$(call 'sprintf|vsprintf')" "${src[@]}"
lint_rule "src/: no strcpy()/strcat() (unbounded; use g_strlcpy, g_strconcat, GString)" code \
    "$(call 'strcpy|strcat')" "${src[@]}"
lint_rule "src/: no gets()" code "$(call 'gets')" "${src[@]}"
lint_rule "src/: no strtol() family or ato*() (silent overflow, no error; use g_ascii_string_to_signed/unsigned)" code \
    "$(call 'strtol|strtoul|strtoll|strtoull|atoi|atol|atoll')" "${src[@]}"
lint_rule "src/ outside src/helper: no set*id()/setgroups() (only wirt-userfs changes identity)" code \
    "$(call 'setuid|setgid|seteuid|setegid|setreuid|setregid|setresuid|setresgid|setfsuid|setfsgid|setgroups|initgroups')" \
    "${not_helper[@]}"
lint_rule "src/spool, src/helper: no open()/fopen() in user trees (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS via util)" code \
    "$(call 'open|fopen|open64|creat')" "${user_tree[@]}"
tap_done
