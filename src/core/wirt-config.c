/* wirt-config.c: /etc/wirt/wirtd.conf, parsed and checked once at start.
 *
 * GKeyFile does the parsing, but its messages carry no line numbers, so a
 * first pass walks the text, checks each line's shape and remembers where
 * every group and key is; every later complaint then names FILE:LINE.
 * Unknown groups and keys are errors: a typo in a security setting must not
 * be silently ignored.
 */
#include "wirt-config.h"

#include <string.h>

#include "wirt-command.h"
#include "wirt-error.h"
#include "wirt-names.h"

#define DEFAULT_SOCKET "/run/wirt/wirtd.sock"
#define DEFAULT_HISTORY "/var/log/wirt/history.jsonl"

typedef struct {
    const char *path;
    GHashTable *lines; /* "group\x1fkey" or "group" -> line number */
} Source;

static const char *const daemon_keys[] = {
    "user-group", "admin-group", "security-mode", "allow-delete", "allow-attach-disk",
    "socket",     "history",     "stop-timeout",  NULL,
};
static const char *const vm_keys[] = {
    "default-memory-mib",
    "default-vcpus",
    "max-memory-mib",
    "max-vcpus",
    "storage-pool",
    "max-box-gib",
    "max-networks-per-user",
    "allow-nat-networks",
    "domain-type",
    "max-disk-gib",
    NULL,
};
static const char *const network_keys[] = {"subnet", "mode",   "dhcp",         "hidden",
                                           "pool",   "device", "macvtap-mode", NULL};
static const char *const pool_keys[] = {"uris", NULL};
static const char *const http_keys[] = {
    "listen",     "tls-cert",    "tls-key",    "allow-plain-http", "auth",
    "admin-auth", "pam-service", "token-file", "origins",          "xsl-stylesheet",
    "fail-limit", "fail-window", "lockout",    "cache-seconds",    NULL,
};
static const char *const quota_keys[] = {"vms", "vcpus", "memory-mib", "box-gib", NULL};

static const char *const mode_names[] = {
    [WIRT_SECURITY_OPEN] = "open",
    [WIRT_SECURITY_READ_ONLY] = "read-only",
    [WIRT_SECURITY_OWNER_VIEW] = "owner-view",
    [WIRT_SECURITY_OWNER_MANAGE] = "owner-manage",
};

/**
 * wirt_security_mode_to_string:
 * Returns: (transfer none): the mode's config word.
 */
const char *
wirt_security_mode_to_string(WirtSecurityMode mode)
{
    if ((gsize)mode < G_N_ELEMENTS(mode_names))
        return mode_names[mode];
    return "owner-manage";
}

/**
 * wirt_security_mode_from_string:
 * Returns: %TRUE and sets @out_mode when @text is a mode's config word.
 */
gboolean
wirt_security_mode_from_string(const char *text, WirtSecurityMode *out_mode)
{
    for (gsize i = 0; text && i < G_N_ELEMENTS(mode_names); i++) {
        if (g_str_equal(mode_names[i], text)) {
            *out_mode = (WirtSecurityMode)i;
            return TRUE;
        }
    }
    return FALSE;
}

static void
pool_config_free(gpointer data)
{
    WirtPoolConfig *pool = data;

    g_free(pool->name);
    g_strfreev(pool->uris);
    g_free(pool);
}

static void
network_config_free(gpointer data)
{
    WirtNetworkConfig *net = data;

    g_free(net->name);
    g_free(net->subnet);
    g_free(net->device);
    g_free(net->macvtap_mode);
    g_free(net->pool);
    g_free(net);
}

static WirtPoolConfig *
pool_config_new(const char *name, const char *const *uris)
{
    WirtPoolConfig *pool = g_new0(WirtPoolConfig, 1);

    pool->name = g_strdup(name);
    pool->uris = g_strdupv((char **)uris);
    return pool;
}

/**
 * wirt_config_new_default:
 * Returns: (transfer full): the configuration used when no file exists: one
 * pool "default" of qemu:///system and the documented defaults.
 */
WirtConfig *
wirt_config_new_default(void)
{
    WirtConfig *config = g_new0(WirtConfig, 1);
    const char *const uris[] = {"qemu:///system", NULL};

    config->user_group = g_strdup("wirt");
    config->admin_group = g_strdup("wirt-admin");
    config->security_mode = WIRT_SECURITY_OWNER_MANAGE;
    config->allow_delete = TRUE;
    config->allow_attach_disk = TRUE;
    config->stop_timeout = 60;
    config->default_memory_mib = 512;
    config->default_vcpus = 1;
    config->max_memory_mib = 65536;
    config->max_vcpus = 32;
    config->storage_pool = g_strdup("default");
    config->domain_type = g_strdup("auto");
    config->max_disk_gib = 64;
    config->max_box_gib = 64;
    config->max_networks_per_user = 4;
    config->allow_nat_networks = FALSE;
    config->networks = g_ptr_array_new_with_free_func(network_config_free);
    config->socket_path = g_strdup(DEFAULT_SOCKET);
    config->history_path = g_strdup(DEFAULT_HISTORY);
    config->pools = g_ptr_array_new_with_free_func(pool_config_free);
    g_ptr_array_add(config->pools, pool_config_new("default", uris));
    config->quota = (WirtQuota){10, 16, 16384, -1};
    config->group_quotas = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    config->user_quotas = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    config->http.listen = g_new0(char *, 1);
    config->http.auth = g_strsplit("pam", ",", -1);
    config->http.admin_auth = g_strsplit("pam", ",", -1);
    config->http.pam_service = g_strdup("wirt");
    config->http.token_file = g_strdup("/var/lib/wirt/tokens");
    config->http.origins = g_new0(char *, 1);
    config->http.fail_limit = 5;
    config->http.fail_window = 300;
    config->http.lockout = 300;
    config->http.cache_seconds = 60;
    config->http.session_seconds = 7200;
    config->files.enabled = TRUE;
    config->files.rescan_seconds = 60;
    config->files.dir = g_strdup("wirt");
    config->files.legacy_dir = g_strdup("virsh");
    config->files.max_command_bytes = WIRT_COMMAND_MAX_BYTES_DEFAULT;
    config->files.max_pending = 64;
    config->files.mail = TRUE;
    config->files.mail_interval = 300;
    config->files.log_max_bytes = 1024 * 1024;
    config->files.log_keep = 5;
    config->files.helpers = 2;
    return config;
}

/**
 * wirt_config_free:
 * @config: (nullable): a configuration
 */
void
wirt_config_free(WirtConfig *config)
{
    if (!config)
        return;
    g_free(config->path);
    g_free(config->user_group);
    g_free(config->admin_group);
    g_free(config->socket_path);
    g_free(config->storage_pool);
    g_free(config->domain_type);
    g_free(config->history_path);
    g_clear_pointer(&config->pools, g_ptr_array_unref);
    g_clear_pointer(&config->networks, g_ptr_array_unref);
    g_clear_pointer(&config->group_quotas, g_hash_table_unref);
    g_clear_pointer(&config->user_quotas, g_hash_table_unref);
    g_strfreev(config->http.listen);
    g_free(config->http.tls_cert);
    g_free(config->http.tls_key);
    g_strfreev(config->http.auth);
    g_strfreev(config->http.admin_auth);
    g_free(config->http.pam_service);
    g_free(config->http.token_file);
    g_strfreev(config->http.origins);
    g_free(config->http.xsl_stylesheet);
    g_free(config->files.dir);
    g_free(config->files.legacy_dir);
    g_free(config);
}

static int
source_line(const Source *src, const char *group, const char *key)
{
    g_autofree char *id = key ? g_strconcat(group, "\x1f", key, NULL) : g_strdup(group);

    return GPOINTER_TO_INT(g_hash_table_lookup(src->lines, id));
}

static gboolean G_GNUC_PRINTF(5, 6) fail_at(GError **error, const Source *src, const char *group,
                                            const char *key, const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list args;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s:%d: %s", src->path,
                source_line(src, group, key), message);
    return FALSE;
}

/* First pass: the shape of every line, and where each group and key is. */
static gboolean
scan_lines(const char *data, gsize len, Source *src, GError **error)
{
    g_autofree char *copy = g_strndup(data, len);
    g_auto(GStrv) lines = NULL;
    g_autofree char *group = NULL;

    if (memchr(data, '\0', len)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: contains a NUL byte", src->path);
        return FALSE;
    }
    if (!g_utf8_validate(copy, -1, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: is not valid UTF-8", src->path);
        return FALSE;
    }
    lines = g_strsplit(copy, "\n", -1);
    for (int n = 0; lines[n]; n++) {
        g_autofree char *line = g_strstrip(g_strdup(lines[n]));
        int lineno = n + 1;
        char *eq;

        if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
            continue;
        if (line[0] == '[') {
            gsize l = strlen(line);
            if (l < 3 || line[l - 1] != ']') {
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                            "%s:%d: a group header must look like [name]", src->path, lineno);
                return FALSE;
            }
            g_free(group);
            group = g_strndup(line + 1, l - 2);
            if (g_hash_table_contains(src->lines, group)) {
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                            "%s:%d: group [%s] appears twice", src->path, lineno, group);
                return FALSE;
            }
            g_hash_table_insert(src->lines, g_strdup(group), GINT_TO_POINTER(lineno));
            continue;
        }
        eq = strchr(line, '=');
        if (!eq || eq == line) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "%s:%d: expected 'key=value', a [group] or a # comment", src->path, lineno);
            return FALSE;
        }
        if (!group) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s:%d: key outside any [group]",
                        src->path, lineno);
            return FALSE;
        }
        *eq = '\0';
        g_strchomp(line);
        {
            g_autofree char *id = g_strconcat(group, "\x1f", line, NULL);
            if (g_hash_table_contains(src->lines, id)) {
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                            "%s:%d: key '%s' appears twice in [%s]", src->path, lineno, line,
                            group);
                return FALSE;
            }
            g_hash_table_insert(src->lines, g_steal_pointer(&id), GINT_TO_POINTER(lineno));
        }
    }
    return TRUE;
}

static gboolean
check_keys(GKeyFile *kf, const Source *src, const char *group, const char *const *allowed,
           GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);

    for (int i = 0; keys && keys[i]; i++)
        if (!g_strv_contains(allowed, keys[i]))
            return fail_at(error, src, group, keys[i], "unknown key '%s' in [%s]", keys[i], group);
    return TRUE;
}

static gboolean
get_string(GKeyFile *kf, const Source *src, const char *group, const char *key, char **inout,
           gboolean may_be_empty, GError **error)
{
    g_autofree char *value = NULL;

    if (!g_key_file_has_key(kf, group, key, NULL))
        return TRUE;
    value = g_key_file_get_string(kf, group, key, NULL);
    if (!value)
        return fail_at(error, src, group, key, "%s: not a valid string", key);
    g_strstrip(value);
    if (!may_be_empty && !*value)
        return fail_at(error, src, group, key, "%s: may not be empty", key);
    g_free(*inout);
    *inout = g_steal_pointer(&value);
    return TRUE;
}

static gboolean
get_bool(GKeyFile *kf, const Source *src, const char *group, const char *key, gboolean *inout,
         GError **error)
{
    g_autofree char *value = NULL;

    if (!g_key_file_has_key(kf, group, key, NULL))
        return TRUE;
    value = g_strstrip(g_key_file_get_value(kf, group, key, NULL));
    if (g_str_equal(value, "true") || g_str_equal(value, "yes") || g_str_equal(value, "1"))
        *inout = TRUE;
    else if (g_str_equal(value, "false") || g_str_equal(value, "no") || g_str_equal(value, "0"))
        *inout = FALSE;
    else
        return fail_at(error, src, group, key, "%s: '%s' is not true or false", key, value);
    return TRUE;
}

static gboolean
get_int(GKeyFile *kf, const Source *src, const char *group, const char *key, gint64 min, gint64 max,
        gint64 *inout, GError **error)
{
    g_autofree char *value = NULL;
    gint64 number = 0;

    if (!g_key_file_has_key(kf, group, key, NULL))
        return TRUE;
    value = g_strstrip(g_key_file_get_value(kf, group, key, NULL));
    if (!g_ascii_string_to_signed(value, 10, min, max, &number, NULL))
        return fail_at(error, src, group, key,
                       "%s: '%s' is not a whole number from %" G_GINT64_FORMAT
                       " to %" G_GINT64_FORMAT,
                       key, value, min, max);
    *inout = number;
    return TRUE;
}

static gboolean
get_quota(GKeyFile *kf, const Source *src, const char *group, WirtQuota *inout, GError **error)
{
    return check_keys(kf, src, group, quota_keys, error) &&
           get_int(kf, src, group, "vms", -1, 1000000, &inout->vms, error) &&
           get_int(kf, src, group, "vcpus", -1, 1000000, &inout->vcpus, error) &&
           get_int(kf, src, group, "memory-mib", -1, G_GINT64_CONSTANT(1) << 40, &inout->memory_mib,
                   error) &&
           get_int(kf, src, group, "box-gib", -1, 1000000, &inout->box_gib, error);
}

static gboolean
load_daemon(GKeyFile *kf, const Source *src, WirtConfig *config, GError **error)
{
    const char *g = "daemon";
    g_autofree char *mode = NULL;
    gint64 stop_timeout = config->stop_timeout;

    if (!g_key_file_has_group(kf, g))
        return TRUE;
    if (!check_keys(kf, src, g, daemon_keys, error) ||
        !get_string(kf, src, g, "user-group", &config->user_group, FALSE, error) ||
        !get_string(kf, src, g, "admin-group", &config->admin_group, TRUE, error) ||
        !get_string(kf, src, g, "security-mode", &mode, FALSE, error) ||
        !get_bool(kf, src, g, "allow-delete", &config->allow_delete, error) ||
        !get_bool(kf, src, g, "allow-attach-disk", &config->allow_attach_disk, error) ||
        !get_string(kf, src, g, "socket", &config->socket_path, FALSE, error) ||
        !get_string(kf, src, g, "history", &config->history_path, FALSE, error) ||
        !get_int(kf, src, g, "stop-timeout", 0, 3600, &stop_timeout, error))
        return FALSE;
    config->stop_timeout = (guint)stop_timeout;
    if (mode && !wirt_security_mode_from_string(mode, &config->security_mode))
        return fail_at(error, src, g, "security-mode",
                       "security-mode: '%s' is not one of open, read-only, owner-view, "
                       "owner-manage",
                       mode);
    if (!g_path_is_absolute(config->socket_path))
        return fail_at(error, src, g, "socket", "socket: '%s' is not an absolute path",
                       config->socket_path);
    if (!g_path_is_absolute(config->history_path))
        return fail_at(error, src, g, "history", "history: '%s' is not an absolute path",
                       config->history_path);
    return TRUE;
}

/**
 * wirt_config_storage_pool_valid:
 * @name: (nullable): a storage pool name from the config
 * Returns: %TRUE when @name is 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'.
 */
gboolean
wirt_config_storage_pool_valid(const char *name)
{
    gsize len = name ? strlen(name) : 0;

    if (len == 0 || len > 64 || name[0] == '.')
        return FALSE;
    for (gsize i = 0; i < len; i++)
        if (!g_ascii_isalnum(name[i]) && !strchr("._-", name[i]))
            return FALSE;
    return TRUE;
}

static gboolean
load_vm(GKeyFile *kf, const Source *src, WirtConfig *config, GError **error)
{
    const char *g = "vm";
    gint64 def_mem = (gint64)config->default_memory_mib, def_cpu = config->default_vcpus;
    gint64 max_mem = (gint64)config->max_memory_mib, max_cpu = config->max_vcpus;
    gint64 max_box = config->max_box_gib;
    gint64 max_nets = config->max_networks_per_user;
    gint64 max_disk = config->max_disk_gib;

    if (!g_key_file_has_group(kf, g))
        return TRUE;
    if (!check_keys(kf, src, g, vm_keys, error) ||
        !get_string(kf, src, g, "storage-pool", &config->storage_pool, FALSE, error) ||
        !get_string(kf, src, g, "domain-type", &config->domain_type, FALSE, error) ||
        !get_int(kf, src, g, "max-disk-gib", 1, 65536, &max_disk, error) ||
        !get_int(kf, src, g, "max-box-gib", 1, 65536, &max_box, error) ||
        !get_int(kf, src, g, "max-networks-per-user", 0, 1024, &max_nets, error) ||
        !get_bool(kf, src, g, "allow-nat-networks", &config->allow_nat_networks, error) ||
        !get_int(kf, src, g, "max-memory-mib", 16, G_GINT64_CONSTANT(1) << 32, &max_mem, error) ||
        !get_int(kf, src, g, "max-vcpus", 1, 4096, &max_cpu, error) ||
        !get_int(kf, src, g, "default-memory-mib", 16, max_mem, &def_mem, error) ||
        !get_int(kf, src, g, "default-vcpus", 1, max_cpu, &def_cpu, error))
        return FALSE;
    config->default_memory_mib = (guint64)def_mem;
    config->default_vcpus = (guint)def_cpu;
    config->max_memory_mib = (guint64)max_mem;
    config->max_vcpus = (guint)max_cpu;
    config->max_box_gib = (guint)max_box;
    config->max_networks_per_user = (guint)max_nets;
    config->max_disk_gib = (guint)max_disk;
    if (!g_str_equal(config->domain_type, "auto") && !g_str_equal(config->domain_type, "kvm") &&
        !g_str_equal(config->domain_type, "qemu"))
        return fail_at(error, src, g, "domain-type", "domain-type: '%s' is not auto, kvm or qemu",
                       config->domain_type);
    /* Only a libvirt object name: it never becomes a path of ours. */
    if (!wirt_config_storage_pool_valid(config->storage_pool))
        return fail_at(error, src, g, "storage-pool",
                       "storage-pool: '%s' is not a libvirt storage pool name (letters, digits, "
                       "'.', '_', '-')",
                       config->storage_pool);
    return TRUE;
}

static gboolean
get_list(GKeyFile *kf, const Source *src, const char *group, const char *key, GStrv *inout,
         GError **error)
{
    g_auto(GStrv) list = NULL;
    gsize n = 0;

    if (!g_key_file_has_key(kf, group, key, NULL))
        return TRUE;
    list = g_key_file_get_string_list(kf, group, key, &n, NULL);
    if (!list)
        return fail_at(error, src, group, key, "%s: not a valid list", key);
    for (gsize i = 0; i < n; i++) {
        g_strstrip(list[i]);
        if (!*list[i])
            return fail_at(error, src, group, key, "%s: has an empty entry", key);
    }
    g_strfreev(*inout);
    *inout = g_steal_pointer(&list);
    return TRUE;
}

static gboolean
is_loopback(const char *address)
{
    return g_str_has_prefix(address, "127.") || g_str_has_prefix(address, "[::1]:") ||
           g_str_has_prefix(address, "localhost:");
}

static gboolean
check_auth_methods(const Source *src, const char *key, const char *const *methods, GError **error)
{
    for (int i = 0; methods[i]; i++) {
        const char *m = methods[i];
        if (g_str_equal(m, "pam") || g_str_equal(m, "token"))
            continue;
        if (g_str_has_prefix(m, "file:") && g_path_is_absolute(m + 5))
            continue;
        return fail_at(error, src, "http", key, "%s: '%s' is not pam, token or file:/ABSOLUTE/PATH",
                       key, m);
    }
    if (!methods[0])
        return fail_at(error, src, "http", key, "%s: names no login method", key);
    return TRUE;
}

static gboolean
load_http(GKeyFile *kf, const Source *src, WirtConfig *config, GError **error)
{
    const char *g = "http";
    WirtHttpConfig *h = &config->http;
    gint64 fail_limit = h->fail_limit, fail_window = h->fail_window, lockout = h->lockout;
    gint64 cache_seconds = h->cache_seconds, session_seconds = h->session_seconds;
    gboolean admin_auth_given = g_key_file_has_key(kf, g, "admin-auth", NULL);

    if (!g_key_file_has_group(kf, g))
        return TRUE;
    if (!check_keys(kf, src, g, http_keys, error) ||
        !get_list(kf, src, g, "listen", &h->listen, error) ||
        !get_string(kf, src, g, "tls-cert", &h->tls_cert, FALSE, error) ||
        !get_string(kf, src, g, "tls-key", &h->tls_key, FALSE, error) ||
        !get_bool(kf, src, g, "allow-plain-http", &h->plain_http, error) ||
        !get_list(kf, src, g, "auth", &h->auth, error) ||
        !get_list(kf, src, g, "admin-auth", &h->admin_auth, error) ||
        !get_string(kf, src, g, "pam-service", &h->pam_service, FALSE, error) ||
        !get_string(kf, src, g, "token-file", &h->token_file, FALSE, error) ||
        !get_list(kf, src, g, "origins", &h->origins, error) ||
        !get_string(kf, src, g, "xsl-stylesheet", &h->xsl_stylesheet, FALSE, error) ||
        !get_int(kf, src, g, "fail-limit", 1, 1000, &fail_limit, error) ||
        !get_int(kf, src, g, "fail-window", 1, 86400, &fail_window, error) ||
        !get_int(kf, src, g, "lockout", 1, 86400, &lockout, error) ||
        !get_int(kf, src, g, "cache-seconds", 0, 3600, &cache_seconds, error) ||
        !get_int(kf, src, g, "session-seconds", 60, 604800, &session_seconds, error))
        return FALSE;
    h->session_seconds = (guint)session_seconds;
    h->fail_limit = (guint)fail_limit;
    h->fail_window = (guint)fail_window;
    h->lockout = (guint)lockout;
    h->cache_seconds = (guint)cache_seconds;
    if (!admin_auth_given) {
        g_strfreev(h->admin_auth);
        h->admin_auth = g_strdupv(h->auth);
    }
    if (!check_auth_methods(src, "auth", (const char *const *)h->auth, error) ||
        !check_auth_methods(src, "admin-auth", (const char *const *)h->admin_auth, error))
        return FALSE;
    if (!g_path_is_absolute(h->token_file))
        return fail_at(error, src, g, "token-file", "token-file: '%s' is not an absolute path",
                       h->token_file);
    for (int i = 0; h->listen[i]; i++) {
        const char *colon = strrchr(h->listen[i], ':');
        guint64 port = 0;
        if (!colon || colon == h->listen[i] ||
            !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
            return fail_at(error, src, g, "listen", "listen: '%s' is not HOST:PORT", h->listen[i]);
        /* TLS unless the admin says otherwise in so many words, and then only
         * where no one else can listen in. */
        if (h->plain_http && !is_loopback(h->listen[i]))
            return fail_at(error, src, g, "listen",
                           "listen: '%s': plain HTTP is only allowed on loopback addresses",
                           h->listen[i]);
    }
    if (h->listen[0] && !h->plain_http && (!h->tls_cert || !h->tls_key))
        return fail_at(error, src, g, "listen",
                       "listen: TCP needs tls-cert and tls-key (or allow-plain-http=true on "
                       "loopback)");
    return TRUE;
}

static gboolean
load_pool(GKeyFile *kf, const Source *src, const char *group, const char *name, WirtConfig *config,
          GError **error)
{
    g_auto(GStrv) uris = NULL;
    gsize n = 0;

    if (!wirt_name_validate(name, NULL))
        return fail_at(error, src, group, NULL,
                       "[%s]: pool name '%s' may only contain letters, digits and '-'", group,
                       name);
    if (!check_keys(kf, src, group, pool_keys, error))
        return FALSE;
    uris = g_key_file_get_string_list(kf, group, "uris", &n, NULL);
    if (!uris || n == 0)
        return fail_at(error, src, group, NULL, "[%s]: 'uris' lists no libvirt URI", group);
    for (gsize i = 0; i < n; i++) {
        g_strstrip(uris[i]);
        if (!strstr(uris[i], "://"))
            return fail_at(error, src, group, "uris", "uris: '%s' is not a libvirt URI", uris[i]);
    }
    g_ptr_array_add(config->pools, pool_config_new(name, (const char *const *)uris));
    return TRUE;
}

static gboolean
load_network(GKeyFile *kf, const Source *src, const char *group, const char *name,
             WirtConfig *config, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *mode = NULL;
    WirtNetworkConfig *net;
    guint32 network;
    guint prefix;

    if (!wirt_name_validate(name, NULL))
        return fail_at(error, src, group, NULL,
                       "[%s]: network name '%s' may only contain letters, digits and '-'", group,
                       name);
    if (wirt_config_find_network(config, name))
        return fail_at(error, src, group, NULL, "network '%s' is defined twice", name);
    if (!check_keys(kf, src, group, network_keys, error))
        return FALSE;
    net = g_new0(WirtNetworkConfig, 1);
    net->name = g_strdup(name);
    net->dhcp = TRUE;
    g_ptr_array_add(config->networks, net); /* freed with @config on any error below */
    if (!get_string(kf, src, group, "subnet", &net->subnet, FALSE, error) ||
        !get_string(kf, src, group, "mode", &mode, FALSE, error) ||
        !get_bool(kf, src, group, "dhcp", &net->dhcp, error) ||
        !get_bool(kf, src, group, "hidden", &net->hidden, error) ||
        !get_string(kf, src, group, "pool", &net->pool, FALSE, error) ||
        !get_string(kf, src, group, "device", &net->device, FALSE, error) ||
        !get_string(kf, src, group, "macvtap-mode", &net->macvtap_mode, FALSE, error))
        return FALSE;
    if (mode && !wirt_net_mode_from_string(mode, &net->mode))
        return fail_at(error, src, group, "mode",
                       "mode: '%s' is not isolated, nat, route or direct", mode);
    if (net->mode == WIRT_NET_DIRECT) {
        /* macvtap on a host interface: the device's own network gives the addresses. */
        if (!net->device)
            return fail_at(error, src, group, NULL, "[%s]: mode=direct needs 'device'", group);
        if (!wirt_net_device_validate(net->device, &local))
            return fail_at(error, src, group, "device", "%s", local->message);
        if (!wirt_net_direct_mode_validate(net->macvtap_mode, &local))
            return fail_at(error, src, group, "macvtap-mode", "%s", local->message);
        net->dhcp = FALSE;
        return TRUE;
    }
    if (net->device || net->macvtap_mode)
        return fail_at(error, src, group, net->device ? "device" : "macvtap-mode",
                       "[%s]: 'device' and 'macvtap-mode' are for mode=direct only", group);
    if (!net->subnet)
        return fail_at(error, src, group, NULL, "[%s]: 'subnet' is missing", group);
    if (!wirt_net_parse_subnet(net->subnet, &network, &prefix, &local))
        return fail_at(error, src, group, "subnet", "subnet: %s", local->message);
    return TRUE;
}

/* A directory directly in each home: one path component, nothing clever. */
static gboolean
check_home_dir(const Source *src, const char *key, const char *value, GError **error)
{
    if (!*value || strchr(value, '/') || g_str_equal(value, ".") || g_str_equal(value, "..") ||
        strlen(value) > 64)
        return fail_at(error, src, "files", key,
                       "%s: '%s' must be one directory name inside the home (no '/')", key, value);
    return TRUE;
}

static gboolean
load_files(GKeyFile *kf, const Source *src, WirtConfig *config, GError **error)
{
    static const char *const keys[] = {"enabled",    "rescan-seconds",    "dir",
                                       "legacy-dir", "max-command-bytes", "max-pending",
                                       "mail",       "mail-interval",     "log-max-bytes",
                                       "log-keep",   "helpers",           NULL};
    const char *g = "files";
    WirtFilesConfig *f = &config->files;
    gint64 rescan = f->rescan_seconds, max_bytes = f->max_command_bytes;
    gint64 pending = f->max_pending, interval = f->mail_interval;
    gint64 log_max = (gint64)f->log_max_bytes, keep = f->log_keep, helpers = f->helpers;

    if (!g_key_file_has_group(kf, g))
        return TRUE;
    if (!check_keys(kf, src, g, keys, error) ||
        !get_bool(kf, src, g, "enabled", &f->enabled, error) ||
        !get_int(kf, src, g, "rescan-seconds", 1, 86400, &rescan, error) ||
        !get_string(kf, src, g, "dir", &f->dir, FALSE, error) ||
        !get_string(kf, src, g, "legacy-dir", &f->legacy_dir, TRUE, error) ||
        !get_int(kf, src, g, "max-command-bytes", 1, 1024 * 1024, &max_bytes, error) ||
        !get_int(kf, src, g, "max-pending", 1, 100000, &pending, error) ||
        !get_bool(kf, src, g, "mail", &f->mail, error) ||
        !get_int(kf, src, g, "mail-interval", 0, 86400, &interval, error) ||
        !get_int(kf, src, g, "log-max-bytes", 4096, G_GINT64_CONSTANT(1) << 32, &log_max, error) ||
        !get_int(kf, src, g, "log-keep", 0, 100, &keep, error) ||
        !get_int(kf, src, g, "helpers", 1, 64, &helpers, error))
        return FALSE;
    if (f->legacy_dir && !*f->legacy_dir)
        g_clear_pointer(&f->legacy_dir, g_free); /* legacy-dir= (empty) turns it off */
    if (!check_home_dir(src, "dir", f->dir, error) ||
        (f->legacy_dir && !check_home_dir(src, "legacy-dir", f->legacy_dir, error)))
        return FALSE;
    if (f->legacy_dir && g_str_equal(f->legacy_dir, f->dir))
        return fail_at(error, src, g, "legacy-dir", "legacy-dir: the same as dir ('%s')", f->dir);
    f->rescan_seconds = (guint)rescan;
    f->max_command_bytes = (guint)max_bytes;
    f->max_pending = (guint)pending;
    f->mail_interval = (guint)interval;
    f->log_max_bytes = (guint64)log_max;
    f->log_keep = (guint)keep;
    f->helpers = (guint)helpers;
    return TRUE;
}

static gboolean
load_groups(GKeyFile *kf, const Source *src, WirtConfig *config, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    gboolean have_pools = FALSE;

    for (int i = 0; groups[i]; i++) {
        const char *g = groups[i];

        if (g_str_equal(g, "daemon") || g_str_equal(g, "vm") || g_str_equal(g, "http") ||
            g_str_equal(g, "files"))
            continue;
        if (g_str_equal(g, "quota")) {
            if (!get_quota(kf, src, g, &config->quota, error))
                return FALSE;
        } else if (g_str_has_prefix(g, "pool ")) {
            if (!have_pools) {
                g_ptr_array_set_size(config->pools, 0);
                have_pools = TRUE;
            }
            if (wirt_config_find_pool(config, g + 5))
                return fail_at(error, src, g, NULL, "pool '%s' is defined twice", g + 5);
            if (!load_pool(kf, src, g, g + 5, config, error))
                return FALSE;
        } else if (g_str_has_prefix(g, "network ")) {
            if (!load_network(kf, src, g, g + 8, config, error))
                return FALSE;
        } else if (g_str_has_prefix(g, "quota group:") || g_str_has_prefix(g, "quota user:")) {
            gboolean is_group = g_str_has_prefix(g, "quota group:");
            const char *who = strchr(g, ':') + 1;
            WirtQuota *quota = g_new(WirtQuota, 1);

            *quota =
                (WirtQuota){WIRT_QUOTA_UNSET, WIRT_QUOTA_UNSET, WIRT_QUOTA_UNSET, WIRT_QUOTA_UNSET};
            if (!*who) {
                g_free(quota);
                return fail_at(error, src, g, NULL, "[%s]: names no %s", g,
                               is_group ? "group" : "user");
            }
            if (!get_quota(kf, src, g, quota, error)) {
                g_free(quota);
                return FALSE;
            }
            /* Fields a section leaves out fall back to [quota], not to "unlimited". */
            g_hash_table_insert(is_group ? config->group_quotas : config->user_quotas,
                                g_strdup(who), quota);
        } else {
            return fail_at(error, src, g, NULL,
                           "unknown group [%s] (known: daemon, vm, http, files, pool NAME, network "
                           "NAME, quota, quota group:NAME, quota user:NAME)",
                           g);
        }
    }
    return TRUE;
}

/* After every [pool NAME] is known: a network's pool= must name one of them. */
static gboolean
check_network_pools(const Source *src, WirtConfig *config, GError **error)
{
    for (guint i = 0; i < config->networks->len; i++) {
        const WirtNetworkConfig *net = g_ptr_array_index(config->networks, i);
        g_autofree char *group = g_strdup_printf("network %s", net->name);

        if (net->pool && !wirt_config_find_pool(config, net->pool))
            return fail_at(error, src, group, "pool", "pool: no [pool %s] is configured",
                           net->pool);
    }
    return TRUE;
}

/**
 * wirt_config_load_data:
 * @data: the file's bytes
 * @len: their length
 * @path_for_messages: the name used in error messages
 * Returns: (transfer full) (nullable): the configuration, or %NULL with a
 * %WIRT_ERROR_INVALID @error of the form "FILE:LINE: reason".
 */
WirtConfig *
wirt_config_load_data(const char *data, gsize len, const char *path_for_messages, GError **error)
{
    g_autoptr(WirtConfig) config = wirt_config_new_default();
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GHashTable) lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GError) local = NULL;
    Source src = {path_for_messages, lines};

    if (!scan_lines(data, len, &src, error))
        return NULL;
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: %s", path_for_messages,
                    local->message);
        return NULL;
    }
    if (!load_daemon(kf, &src, config, error) || !load_vm(kf, &src, config, error) ||
        !load_http(kf, &src, config, error) || !load_files(kf, &src, config, error) ||
        !load_groups(kf, &src, config, error) || !check_network_pools(&src, config, error))
        return NULL;
    config->path = g_strdup(path_for_messages);
    return g_steal_pointer(&config);
}

/**
 * wirt_config_load:
 * @path: the configuration file
 * Returns: (transfer full) (nullable): the configuration, or %NULL with @error
 * set (%WIRT_ERROR_NOT_FOUND when the file does not exist).
 */
WirtConfig *
wirt_config_load(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, WIRT_ERROR,
                    g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? WIRT_ERROR_NOT_FOUND
                                                                             : WIRT_ERROR_FAILED,
                    "%s", local->message);
        return NULL;
    }
    return wirt_config_load_data(data, len, path, error);
}

/**
 * wirt_config_set_uris:
 * @uris: one or more libvirt URIs
 *
 * Replaces every configured pool with one pool "default" of @uris (wirtd --connect).
 */
void
wirt_config_set_uris(WirtConfig *config, const char *const *uris)
{
    g_ptr_array_set_size(config->pools, 0);
    g_ptr_array_add(config->pools, pool_config_new("default", uris));
}

/**
 * wirt_config_find_network:
 * Returns: (transfer none) (nullable): the admins' network [network @name].
 */
const WirtNetworkConfig *
wirt_config_find_network(const WirtConfig *config, const char *name)
{
    for (guint i = 0; name && i < config->networks->len; i++) {
        const WirtNetworkConfig *net = g_ptr_array_index(config->networks, i);
        if (g_str_equal(net->name, name))
            return net;
    }
    return NULL;
}

/**
 * wirt_config_network_xml:
 * @net: an admins' [network NAME] section
 * Returns: (transfer full): its libvirt <network> XML (wirt_net_xml_build()), or %NULL with
 *   @error.
 */
char *
wirt_config_network_xml(const WirtNetworkConfig *net, GError **error)
{
    WirtNetSpec spec = {
        .name = net->name,
        .mode = net->mode,
        .subnet = net->subnet,
        .dhcp = net->dhcp,
        .device = net->device,
        .direct_mode = net->macvtap_mode,
    };

    return wirt_net_xml_build(&spec, error);
}

/**
 * wirt_config_find_pool:
 * Returns: (transfer none) (nullable): the pool named @name.
 */
const WirtPoolConfig *
wirt_config_find_pool(const WirtConfig *config, const char *name)
{
    for (guint i = 0; name && i < config->pools->len; i++) {
        const WirtPoolConfig *pool = g_ptr_array_index(config->pools, i);
        if (g_str_equal(pool->name, name))
            return pool;
    }
    return NULL;
}

static gint64
more_generous(gint64 a, gint64 b)
{
    if (a < 0 || b < 0)
        return -1;
    return MAX(a, b);
}

static gint64
field_or_default(gint64 value, gint64 fallback)
{
    return value == WIRT_QUOTA_UNSET ? fallback : value;
}

static WirtQuota
resolve(const WirtQuota *section, const WirtQuota *fallback)
{
    return (WirtQuota){field_or_default(section->vms, fallback->vms),
                       field_or_default(section->vcpus, fallback->vcpus),
                       field_or_default(section->memory_mib, fallback->memory_mib),
                       field_or_default(section->box_gib, fallback->box_gib)};
}

/**
 * wirt_config_quota_for:
 * @user: the user
 * @groups: (nullable): the user's groups
 * @out_quota: (out): the limits that apply
 *
 * A [quota user:U] section wins; else, field by field, the most generous value
 * among the user's groups that have a [quota group:G] section; else [quota].
 * Fields a section leaves out come from [quota].
 */
void
wirt_config_quota_for(const WirtConfig *config, const char *user, const char *const *groups,
                      WirtQuota *out_quota)
{
    const WirtQuota *own = user ? g_hash_table_lookup(config->user_quotas, user) : NULL;
    gboolean any_group = FALSE;
    WirtQuota best = config->quota;

    if (own) {
        *out_quota = resolve(own, &config->quota);
        return;
    }
    for (int i = 0; groups && groups[i]; i++) {
        const WirtQuota *section = g_hash_table_lookup(config->group_quotas, groups[i]);
        WirtQuota q;

        if (!section)
            continue;
        q = resolve(section, &config->quota);
        if (!any_group) {
            best = q;
            any_group = TRUE;
        } else {
            best.vms = more_generous(best.vms, q.vms);
            best.vcpus = more_generous(best.vcpus, q.vcpus);
            best.memory_mib = more_generous(best.memory_mib, q.memory_mib);
            best.box_gib = more_generous(best.box_gib, q.box_gib);
        }
    }
    *out_quota = best;
}
