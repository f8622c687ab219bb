/* wirt-config.h: /etc/wirt/wirtd.conf (GKeyFile), parsed and checked once at start. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    WIRT_SECURITY_OPEN,         /* every user sees and manages every VM */
    WIRT_SECURITY_READ_ONLY,    /* every user sees every VM, changes nothing */
    WIRT_SECURITY_OWNER_VIEW,   /* users see only their own VMs, change nothing */
    WIRT_SECURITY_OWNER_MANAGE, /* users see and manage only their own */
} WirtSecurityMode;

const char *wirt_security_mode_to_string(WirtSecurityMode mode);
gboolean wirt_security_mode_from_string(const char *text, WirtSecurityMode *out_mode);

/* -1 in any field means "no limit"; WIRT_QUOTA_UNSET (override sections only)
 * means "as in [quota]". */
#define WIRT_QUOTA_UNSET G_MININT64
typedef struct {
    gint64 vms;
    gint64 vcpus;
    gint64 memory_mib;
} WirtQuota;

typedef struct {
    char *name;
    GStrv uris; /* one or more libvirt URIs: the pool's hosts */
} WirtPoolConfig;

typedef struct {
    char *path; /* the file it came from, or NULL for built-in defaults */
    char *user_group;
    char *admin_group;
    WirtSecurityMode security_mode;
    gboolean allow_delete;
    gboolean allow_attach_disk;
    guint stop_timeout;     /* seconds from ACPI shutdown to power-off */
    guint64 max_memory_mib; /* per-VM caps on what create accepts */
    guint max_vcpus;
    guint64 default_memory_mib;
    guint default_vcpus;
    char *socket_path;
    char *history_path;
    GPtrArray *pools;         /* WirtPoolConfig*, in file order; never empty after load */
    WirtQuota quota;          /* the default for every user */
    GHashTable *group_quotas; /* group name -> WirtQuota* ([quota group:NAME]) */
    GHashTable *user_quotas;  /* user name -> WirtQuota* ([quota user:NAME]) */
} WirtConfig;

WirtConfig *wirt_config_new_default(void);
WirtConfig *wirt_config_load(const char *path, GError **error);
WirtConfig *wirt_config_load_data(const char *data, gsize len, const char *path_for_messages,
                                  GError **error);
void wirt_config_set_uris(WirtConfig *config, const char *const *uris);
void wirt_config_free(WirtConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtConfig, wirt_config_free)

const WirtPoolConfig *wirt_config_find_pool(const WirtConfig *config, const char *name);

/* The quota that applies to @user in @groups: [quota user:U] wins, else the
 * most generous [quota group:G] per field among the user's groups, else [quota]. */
void wirt_config_quota_for(const WirtConfig *config, const char *user, const char *const *groups,
                           WirtQuota *out_quota);

G_END_DECLS
