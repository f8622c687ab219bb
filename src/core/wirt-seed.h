/* wirt-seed.h: cloud-init NoCloud seeds (MISSION V7, issue 3).
 *
 * A seed is a small ISO 9660 image with the volume label "cidata" holding two files,
 * meta-data (instance id, host name) and user-data (#cloud-config: the ssh keys of the
 * VM's owner). cloud-init reads it at first boot, as does the tiny box's init
 * (docs/tiny-box.md). Built in memory: no file is written, no tool is run.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WIRT_SEED_MAX_KEYS 32
#define WIRT_SEED_MAX_KEY_BYTES 16384

typedef struct {
    const char *instance_id;     /* e.g. the VM's uuid; letters, digits, '-', '.', '_' */
    const char *hostname;        /* a VM name (core/wirt-names.h) */
    const char *const *ssh_keys; /* NULL-terminated OpenSSH public key lines; may be empty */
} WirtSeedSpec;

/* Checks one "TYPE BASE64 [COMMENT]" public key line (a whole line, no newline). */
gboolean wirt_seed_check_key(const char *line, GError **error);
/* The two files; INVALID when a field breaks its rules (never quoted into YAML raw). */
char *wirt_seed_meta_data(const WirtSeedSpec *spec, GError **error);
char *wirt_seed_user_data(const WirtSeedSpec *spec, GError **error);
/* (transfer full): the ISO image (libisofs, Rock Ridge and Joliet, label "cidata"). */
GBytes *wirt_seed_build_iso(const WirtSeedSpec *spec, GError **error);

G_END_DECLS
