/* wirt-config.h: /etc/wirt/wirtd.conf (GKeyFile), parsed and checked once at start. */
#pragma once

#include <glib.h>

#include "wirt-net.h"

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
    gint64 box_gib; /* the virtual sizes of the user's own boxes, together */
} WirtQuota;

typedef struct {
    char *name;
    GStrv uris; /* one or more libvirt URIs: the pool's hosts */
} WirtPoolConfig;

/* [network NAME]: an admins' network (libvirt network "wirt-NAME"), defined and
 * started on a pool's hosts on demand (docs/configuration.md). */
typedef struct {
    char *name;   /* VM-name grammar */
    char *subnet; /* "10.0.5.0/24", checked by wirt_net_parse_subnet(); (nullable) for direct */
    WirtNetMode mode;
    gboolean dhcp;
    gboolean hidden;    /* users neither see nor use it (E12) */
    char *pool;         /* (nullable): the one pool it exists in; NULL: every pool */
    char *device;       /* mode=direct: the host interface guests get a macvtap on */
    char *macvtap_mode; /* mode=direct: bridge (default), vepa, private, passthrough */
} WirtNetworkConfig;

/* [http]: the API on TCP (issue 5). Off unless listen= names an address. */
typedef struct {
    GStrv listen;          /* "HOST:PORT" or "[V6]:PORT"; empty: no TCP listener */
    char *tls_cert;        /* PEM certificate (chain) file */
    char *tls_key;         /* PEM private key file */
    gboolean plain_http;   /* allow-plain-http=true: no TLS, loopback addresses only */
    GStrv auth;            /* users' login methods, in order: pam, file:PATH, token */
    GStrv admin_auth;      /* admins' login methods (the admin realm) */
    char *pam_service;     /* PAM service name (default "wirt") */
    char *token_file;      /* where API tokens are kept, hashed */
    GStrv origins;         /* websocket Origins allowed besides the server's own */
    char *xsl_stylesheet;  /* seed 001's /virt: optional <?xml-stylesheet?> href */
    guint fail_limit;      /* failed logins per user or address before refusing */
    guint fail_window;     /* seconds over which failures count */
    guint lockout;         /* seconds a locked user or address is refused (429) */
    guint cache_seconds;   /* how long verified credentials are remembered */
    guint session_seconds; /* browser sessions (POST /1.0/login) last this long */
} WirtHttpConfig;

/* [files]: the files API (~/wirt of each member of user-group). */
typedef struct {
    gboolean enabled;
    guint rescan_seconds;    /* the safety net under inotify; also re-reads the members */
    char *dir;               /* the tree in each home: "wirt" */
    char *legacy_dir;        /* seed 000's old layout: "virsh"; NULL: off */
    guint max_command_bytes; /* bigger command files are refused unread */
    guint max_pending;       /* commands taken per user per scan; the rest wait */
    gboolean mail;           /* mail errors to the user and root via /usr/sbin/sendmail */
    guint mail_interval;     /* at most one mail per user per this many seconds */
    guint64 log_max_bytes;   /* logs/vm/NAME.log is rotated past this size */
    guint log_keep;          /* compressed old logs kept per VM */
    guint helpers;           /* wirt-userfs processes; members are spread over them */
} WirtFilesConfig;

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
    char *storage_pool;          /* [vm] storage-pool: the libvirt storage pool boxes live in */
    guint max_box_gib;           /* [vm] max-box-gib: cap on a box's virtual size and image */
    char *domain_type;           /* [vm] domain-type: "auto", "kvm" or "qemu" (TCG) */
    guint max_disk_gib;          /* [vm] max-disk-gib: cap on a VM's --disk-size */
    guint max_networks_per_user; /* [vm] max-networks-per-user: users' own networks */
    gboolean allow_nat_networks; /* [vm] allow-nat-networks: users may make NAT networks */
    GPtrArray *networks;         /* WirtNetworkConfig*: [network NAME], in file order */
    guint64 default_memory_mib;
    guint default_vcpus;
    char *socket_path;
    char *history_path;
    GPtrArray *pools;         /* WirtPoolConfig*, in file order; never empty after load */
    WirtQuota quota;          /* the default for every user */
    GHashTable *group_quotas; /* group name -> WirtQuota* ([quota group:NAME]) */
    GHashTable *user_quotas;  /* user name -> WirtQuota* ([quota user:NAME]) */
    WirtHttpConfig http;
    WirtFilesConfig files;
} WirtConfig;

WirtConfig *wirt_config_new_default(void);
WirtConfig *wirt_config_load(const char *path, GError **error);
WirtConfig *wirt_config_load_data(const char *data, gsize len, const char *path_for_messages,
                                  GError **error);
void wirt_config_set_uris(WirtConfig *config, const char *const *uris);
void wirt_config_free(WirtConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtConfig, wirt_config_free)

/* Whether @name may be [vm] storage-pool: 1 to 64 of [A-Za-z0-9._-], not starting with '.'. */
gboolean wirt_config_storage_pool_valid(const char *name);

/* (transfer none) (nullable): the admins' network [network @name]. */
const WirtNetworkConfig *wirt_config_find_network(const WirtConfig *config, const char *name);
/* (transfer full): the libvirt <network> XML of an admins' [network] section. */
char *wirt_config_network_xml(const WirtNetworkConfig *net, GError **error);

const WirtPoolConfig *wirt_config_find_pool(const WirtConfig *config, const char *name);

/* The quota that applies to @user in @groups: [quota user:U] wins, else the
 * most generous [quota group:G] per field among the user's groups, else [quota]. */
void wirt_config_quota_for(const WirtConfig *config, const char *user, const char *const *groups,
                           WirtQuota *out_quota);

G_END_DECLS
