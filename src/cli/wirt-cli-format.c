/* wirt-cli-format.c: tables and key: value lines from wirtd's JSON answers.
 *
 * Every string that came from the server is sanitized before it reaches the terminal:
 * VM, owner and libvirt domain names and libvirt's error messages are not ours, and a
 * control character in one must neither break a table row nor drive the terminal. */
#include "wirt-cli-format.h"

#include <string.h>

#include "core/wirt-error.h"

struct _WirtCliTable {
    guint columns;
    GPtrArray *rows; /* of GStrv, the header first */
};

static void
strv_free(gpointer strv)
{
    g_strfreev(strv);
}

/**
 * wirt_cli_table_new:
 * @headers: (array zero-terminated=1): the column titles; their number is the column count
 * Returns: (transfer full): an empty table, never %NULL.
 */
WirtCliTable *
wirt_cli_table_new(const char *const *headers)
{
    WirtCliTable *table = g_new0(WirtCliTable, 1);

    table->columns = g_strv_length((GStrv)headers);
    table->rows = g_ptr_array_new_with_free_func(strv_free);
    g_ptr_array_add(table->rows, g_strdupv((GStrv)headers));
    return table;
}

/**
 * wirt_cli_table_free:
 * @table: (transfer full) (nullable): a table
 */
void
wirt_cli_table_free(WirtCliTable *table)
{
    if (!table)
        return;
    g_ptr_array_unref(table->rows);
    g_free(table);
}

/**
 * wirt_cli_table_add_row:
 * @table: a table
 * @cells: (array zero-terminated=1): one string per column; they are sanitized and copied,
 * missing trailing cells print as "-"
 */
void
wirt_cli_table_add_row(WirtCliTable *table, const char *const *cells)
{
    GStrv row = g_new0(char *, table->columns + 1);
    gboolean ended = FALSE;

    for (guint i = 0; i < table->columns; i++) {
        ended = ended || cells[i] == NULL;
        row[i] = wirt_cli_format_sanitize(ended ? "-" : cells[i]);
    }
    g_ptr_array_add(table->rows, row);
}

/**
 * wirt_cli_table_render:
 * @table: a table
 * @out: where to append the lines: the header, then one per row; columns are left-aligned
 * and separated by at least two spaces, with no trailing spaces
 */
void
wirt_cli_table_render(const WirtCliTable *table, GString *out)
{
    g_autofree glong *widths = g_new0(glong, table->columns);

    for (guint r = 0; r < table->rows->len; r++) {
        GStrv row = g_ptr_array_index(table->rows, r);
        for (guint c = 0; c < table->columns; c++)
            widths[c] = MAX(widths[c], g_utf8_strlen(row[c], -1));
    }
    for (guint r = 0; r < table->rows->len; r++) {
        GStrv row = g_ptr_array_index(table->rows, r);
        for (guint c = 0; c < table->columns; c++) {
            g_string_append(out, row[c]);
            if (c + 1 == table->columns)
                break;
            for (glong pad = g_utf8_strlen(row[c], -1); pad < widths[c] + 2; pad++)
                g_string_append_c(out, ' ');
        }
        g_string_append_c(out, '\n');
    }
}

/**
 * wirt_cli_format_sanitize:
 * @text: (nullable): text from the server
 * Returns: (transfer full): @text as valid UTF-8 on one line: newlines and tabs become spaces,
 * every other C0/C1 control character and DEL becomes '?'; "-" for %NULL.
 */
char *
wirt_cli_format_sanitize(const char *text)
{
    g_autofree char *valid = g_utf8_make_valid(text ? text : "-", -1);
    g_autoptr(GString) out = g_string_sized_new(strlen(valid));

    for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (c == '\n' || c == '\r' || c == '\t')
            g_string_append_c(out, ' ');
        else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
            g_string_append_c(out, '?');
        else
            g_string_append_unichar(out, c);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * wirt_cli_format_memory:
 * @mib: a size in MiB
 * Returns: (transfer full): the size the way --memory takes it: "512M", "2G", "1T".
 */
char *
wirt_cli_format_memory(guint64 mib)
{
    if (mib >= 1048576 && mib % 1048576 == 0)
        return g_strdup_printf("%" G_GUINT64_FORMAT "T", mib / 1048576);
    if (mib >= 1024 && mib % 1024 == 0)
        return g_strdup_printf("%" G_GUINT64_FORMAT "G", mib / 1024);
    return g_strdup_printf("%" G_GUINT64_FORMAT "M", mib);
}

/**
 * wirt_cli_format_vm_ref:
 * @owner: (nullable): the owner; %NULL for a libvirt domain nobody owns
 * @name: (nullable): the VM's short name (the domain name when @owner is %NULL)
 * @qualify: whether to write OWNER/NAME rather than NAME
 * Returns: (transfer full): "web", "alice/web" or "-/legacy-db"; not sanitized.
 */
char *
wirt_cli_format_vm_ref(const char *owner, const char *name, gboolean qualify)
{
    if (!name)
        return g_strdup("-");
    if (!qualify)
        return g_strdup(name);
    return g_strdup_printf("%s/%s", owner ? owner : "-", name);
}

static gboolean
unexpected(GError **error, const char *what)
{
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd sent an unexpected answer (%s)", what);
    return FALSE;
}

/**
 * wirt_cli_format_member_string:
 * @object: (nullable): a JSON object from wirtd
 * Returns: (transfer none) (nullable): the string member @key, or %NULL when it is missing,
 *   null or not a string.
 */
const char *
wirt_cli_format_member_string(JsonObject *object, const char *key)
{
    JsonNode *node = object ? json_object_get_member(object, key) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

static gboolean
member_int(JsonObject *object, const char *key, gint64 *out_value)
{
    JsonNode *node = object ? json_object_get_member(object, key) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return FALSE;
    *out_value = json_node_get_int(node);
    return TRUE;
}

static JsonObject *
member_object(JsonObject *object, const char *key)
{
    JsonNode *node = object ? json_object_get_member(object, key) : NULL;

    return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

/* Any JSON value as one cell: strings as they are, null as "-", arrays joined by ",". */
static char *
node_text(JsonNode *node)
{
    if (!node || JSON_NODE_HOLDS_NULL(node))
        return g_strdup("-");
    if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *array = json_node_get_array(node);
        g_autoptr(GString) out = g_string_new(NULL);

        for (guint i = 0; i < json_array_get_length(array); i++) {
            g_autofree char *item = node_text(json_array_get_element(array, i));
            g_string_append_printf(out, "%s%s", i ? "," : "", item);
        }
        if (out->len == 0)
            g_string_append_c(out, '-');
        return g_string_free(g_steal_pointer(&out), FALSE);
    }
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        g_autoptr(JsonGenerator) generator = json_generator_new();

        json_generator_set_root(generator, node);
        return json_generator_to_data(generator, NULL);
    }
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return g_strdup(json_node_get_string(node));
    case G_TYPE_INT64:
        return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(node));
    case G_TYPE_BOOLEAN:
        return g_strdup(json_node_get_boolean(node) ? "yes" : "no");
    case G_TYPE_DOUBLE: {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup(g_ascii_dtostr(buf, sizeof(buf), json_node_get_double(node)));
    }
    default:
        return g_strdup("-");
    }
}

static char *
member_text(JsonObject *object, const char *key)
{
    return node_text(object ? json_object_get_member(object, key) : NULL);
}

/* A MiB count as "512M"; "-" when missing; "unlimited" for a quota's -1. */
static char *
member_memory(JsonObject *object, const char *key)
{
    gint64 mib = 0;

    if (!member_int(object, key, &mib))
        return member_text(object, key);
    if (mib < 0)
        return g_strdup("unlimited");
    return wirt_cli_format_memory((guint64)mib);
}

static char *
member_limit(JsonObject *object, const char *key)
{
    gint64 value = 0;

    if (member_int(object, key, &value) && value < 0)
        return g_strdup("unlimited");
    return member_text(object, key);
}

/* Checks that @node is an array of objects. */
static JsonArray *
object_array(JsonNode *node, GError **error)
{
    JsonArray *array = NULL;

    if (!node || !JSON_NODE_HOLDS_ARRAY(node)) {
        unexpected(error, "not an array");
        return NULL;
    }
    array = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        if (!JSON_NODE_HOLDS_OBJECT(json_array_get_element(array, i))) {
            unexpected(error, "an array element is not an object");
            return NULL;
        }
    }
    return array;
}

/* Whether names need their owner: for admins always, and for users as soon as they
 * see a VM that is not theirs (the open and read-only security modes). */
static gboolean
need_owner(JsonArray *array, const char *key, const char *user, gboolean admin)
{
    if (admin)
        return TRUE;
    for (guint i = 0; i < json_array_get_length(array); i++) {
        const char *owner =
            wirt_cli_format_member_string(json_array_get_object_element(array, i), key);
        if (!owner || !user || !g_str_equal(owner, user))
            return TRUE;
    }
    return FALSE;
}

/**
 * wirt_cli_format_vms:
 * @vms: (transfer none): the answer of GET /1.0/vms: an array of VM objects
 * @user: (nullable): the caller, from GET /1.0
 * @admin: whether the caller is an admin
 * @out: where to append the table: NAME STATE MEMORY VCPUS POOL NODE; an empty array gives
 * the header alone
 *
 * NAME is OWNER/NAME (and -/DOMAIN for unowned domains) for admins, or when some VM is
 * not the caller's.
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @vms has another shape.
 */
gboolean
wirt_cli_format_vms(JsonNode *vms, const char *user, gboolean admin, GString *out, GError **error)
{
    static const char *const headers[] = {"NAME", "STATE", "MEMORY", "VCPUS", "POOL", "NODE", NULL};
    g_autoptr(WirtCliTable) table = wirt_cli_table_new(headers);
    JsonArray *array = object_array(vms, error);
    gboolean qualify = FALSE;

    if (!array)
        return FALSE;
    qualify = need_owner(array, "owner", user, admin);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonObject *vm = json_array_get_object_element(array, i);
        g_autofree char *name =
            wirt_cli_format_vm_ref(wirt_cli_format_member_string(vm, "owner"),
                                   wirt_cli_format_member_string(vm, "name"), qualify);
        g_autofree char *state = member_text(vm, "state");
        g_autofree char *memory = member_memory(vm, "memory_mib");
        g_autofree char *vcpus = member_text(vm, "vcpus");
        g_autofree char *pool = member_text(vm, "pool");
        g_autofree char *node = member_text(vm, "node");
        const char *const row[] = {name, state, memory, vcpus, pool, node, NULL};

        wirt_cli_table_add_row(table, row);
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}

/* Collects "prefix.key" / value pairs, depth first, in the server's member order. */
static void
flatten(JsonObject *object, const char *prefix, GPtrArray *keys, GPtrArray *values)
{
    g_autoptr(GList) members = json_object_get_members(object);

    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *node = json_object_get_member(object, key);
        g_autofree char *full = prefix ? g_strdup_printf("%s.%s", prefix, key) : g_strdup(key);

        if (JSON_NODE_HOLDS_OBJECT(node)) {
            flatten(json_node_get_object(node), full, keys, values);
        } else if (!prefix && g_str_equal(key, "addresses") && JSON_NODE_HOLDS_ARRAY(node)) {
            continue; /* one line each, after the rest: append_addresses() */
        } else {
            g_ptr_array_add(keys, g_steal_pointer(&full));
            g_ptr_array_add(values, node_text(node));
        }
    }
}

/* A running VM's addresses, one line each:
 * "address: 10.77.0.101/24 (ipv4, 52:54:00:77:00:10; from lease, arp)". */
static void
append_addresses(JsonObject *object, glong width, GString *out)
{
    JsonNode *node = json_object_get_member(object, "addresses");
    JsonArray *array = node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;

    for (guint i = 0; array && i < json_array_get_length(array); i++) {
        JsonNode *item = json_array_get_element(array, i);
        JsonObject *addr = JSON_NODE_HOLDS_OBJECT(item) ? json_node_get_object(item) : NULL;
        g_autofree char *ip = member_text(addr, "ip");
        g_autofree char *prefix = member_text(addr, "prefix");
        g_autofree char *family = member_text(addr, "family");
        g_autofree char *mac = member_text(addr, "mac");
        g_autofree char *sources = member_text(addr, "sources");
        g_autofree char *line = NULL;
        g_autofree char *clean = NULL;

        if (!addr)
            continue;
        line = g_strdup_printf("%s%s%s (%s, %s; from %s)", ip, g_str_equal(prefix, "-") ? "" : "/",
                               g_str_equal(prefix, "-") ? "" : prefix, family, mac, sources);
        clean = wirt_cli_format_sanitize(line);
        g_string_append(out, "address:");
        for (glong pad = 7; pad < width + 1; pad++)
            g_string_append_c(out, ' ');
        g_string_append_printf(out, "%s\n", clean);
    }
}

/**
 * wirt_cli_format_object:
 * @object: (transfer none): any JSON object (a VM, GET /1.0)
 * @out: where to append one "key: value" line per member, values aligned; nested objects
 * are flattened to "usage.vms: 2"; null prints as "-", booleans as yes/no
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @object is not an object.
 */
gboolean
wirt_cli_format_object(JsonNode *object, GString *out, GError **error)
{
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
    glong width = 0;

    if (!object || !JSON_NODE_HOLDS_OBJECT(object))
        return unexpected(error, "not an object");
    flatten(json_node_get_object(object), NULL, keys, values);
    for (guint i = 0; i < keys->len; i++)
        width = MAX(width, g_utf8_strlen(g_ptr_array_index(keys, i), -1));
    for (guint i = 0; i < keys->len; i++) {
        g_autofree char *key = wirt_cli_format_sanitize(g_ptr_array_index(keys, i));
        g_autofree char *value = wirt_cli_format_sanitize(g_ptr_array_index(values, i));

        g_string_append_printf(out, "%s:", key);
        for (glong pad = g_utf8_strlen(key, -1); pad < width + 1; pad++)
            g_string_append_c(out, ' ');
        g_string_append_printf(out, "%s\n", value);
    }
    append_addresses(json_node_get_object(object), MAX(width, 7), out);
    return TRUE;
}

/**
 * wirt_cli_format_pools:
 * @pools: (transfer none): the answer of GET /1.0/pools
 * @out: where to append the table NAME NODES UP DOWN VMS VCPUS MEMORY, plus URIS when the
 * server sent URIs (admins); VMS, VCPUS and MEMORY are the caller's usage
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @pools has another shape.
 */
gboolean
wirt_cli_format_pools(JsonNode *pools, GString *out, GError **error)
{
    static const char *const headers[] = {"NAME",  "NODES",  "UP",   "DOWN", "VMS",
                                          "VCPUS", "MEMORY", "URIS", NULL};
    JsonArray *array = object_array(pools, error);
    gboolean admin = FALSE;
    g_auto(GStrv) shown = NULL;
    g_autoptr(WirtCliTable) table = NULL;

    if (!array)
        return FALSE;
    for (guint i = 0; i < json_array_get_length(array); i++)
        admin = admin || json_object_has_member(json_array_get_object_element(array, i), "uris");
    shown = g_strdupv((GStrv)headers);
    if (!admin)
        g_clear_pointer(&shown[7], g_free);
    table = wirt_cli_table_new((const char *const *)shown);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonObject *pool = json_array_get_object_element(array, i);
        JsonObject *usage = member_object(pool, "usage");
        g_autofree char *name = member_text(pool, "name");
        g_autofree char *nodes = member_text(pool, "nodes");
        g_autofree char *up = member_text(pool, "up");
        g_autofree char *down = member_text(pool, "down");
        g_autofree char *vms = member_text(usage, "vms");
        g_autofree char *vcpus = member_text(usage, "vcpus");
        g_autofree char *memory = member_memory(usage, "memory_mib");
        g_autofree char *uris = member_text(pool, "uris");
        const char *const row[] = {name, nodes, up, down, vms, vcpus, memory, uris, NULL};

        wirt_cli_table_add_row(table, row);
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}

static const char *
node_state(JsonObject *node)
{
    JsonNode *up = json_object_get_member(node, "up");

    if (!up || !JSON_NODE_HOLDS_VALUE(up) || json_node_get_value_type(up) != G_TYPE_BOOLEAN)
        return "-";
    return json_node_get_boolean(up) ? "up" : "down";
}

/**
 * wirt_cli_format_nodes:
 * @nodes: (transfer none): the answer of GET /1.0/nodes
 * @out: where to append the table NAME POOL STATE VMS VCPUS MEMORY (the caller's usage),
 * plus ALL-VMS HOST-MEMORY URI ERROR when the server sent URIs (admins)
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @nodes has another shape.
 */
gboolean
wirt_cli_format_nodes(JsonNode *nodes, GString *out, GError **error)
{
    static const char *const headers[] = {"NAME",  "POOL",   "STATE",   "VMS",
                                          "VCPUS", "MEMORY", "ALL-VMS", "HOST-MEMORY",
                                          "URI",   "ERROR",  NULL};
    JsonArray *array = object_array(nodes, error);
    gboolean admin = FALSE;
    g_auto(GStrv) shown = NULL;
    g_autoptr(WirtCliTable) table = NULL;

    if (!array)
        return FALSE;
    for (guint i = 0; i < json_array_get_length(array); i++)
        admin = admin || json_object_has_member(json_array_get_object_element(array, i), "uri");
    shown = g_strdupv((GStrv)headers);
    for (guint c = 6; !admin && shown[c]; c++)
        g_clear_pointer(&shown[c], g_free);
    table = wirt_cli_table_new((const char *const *)shown);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonObject *node = json_array_get_object_element(array, i);
        JsonObject *usage = member_object(node, "usage");
        g_autofree char *name = member_text(node, "name");
        g_autofree char *pool = member_text(node, "pool");
        g_autofree char *vms = member_text(usage, "vms");
        g_autofree char *vcpus = member_text(usage, "vcpus");
        g_autofree char *memory = member_memory(usage, "memory_mib");
        g_autofree char *all_vms = member_text(node, "vms");
        g_autofree char *host_memory = member_memory(node, "memory_mib");
        g_autofree char *uri = member_text(node, "uri");
        g_autofree char *host_error = member_text(node, "error");
        const char *state = node_state(node);
        const char *const row[] = {name,    pool,        state, vms,        vcpus, memory,
                                   all_vms, host_memory, uri,   host_error, NULL};

        wirt_cli_table_add_row(table, row);
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}

/**
 * wirt_cli_format_quota:
 * @quota: (transfer none): the answer of GET /1.0/quota
 * @out: where to append the table RESOURCE USED LIMIT with rows vms, vcpus, memory;
 * a limit of -1 prints as "unlimited"
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @quota is not an object.
 */
gboolean
wirt_cli_format_quota(JsonNode *quota, GString *out, GError **error)
{
    static const char *const headers[] = {"RESOURCE", "USED", "LIMIT", NULL};
    g_autoptr(WirtCliTable) table = wirt_cli_table_new(headers);
    JsonObject *limits = NULL;
    JsonObject *usage = NULL;

    if (!quota || !JSON_NODE_HOLDS_OBJECT(quota))
        return unexpected(error, "not an object");
    limits = member_object(json_node_get_object(quota), "quota");
    usage = member_object(json_node_get_object(quota), "usage");
    for (guint i = 0; i < 2; i++) {
        const char *key = i == 0 ? "vms" : "vcpus";
        g_autofree char *used = member_text(usage, key);
        g_autofree char *limit = member_limit(limits, key);
        const char *const row[] = {key, used, limit, NULL};

        wirt_cli_table_add_row(table, row);
    }
    {
        g_autofree char *used = member_memory(usage, "memory_mib");
        g_autofree char *limit = member_memory(limits, "memory_mib");
        const char *const row[] = {"memory", used, limit, NULL};

        wirt_cli_table_add_row(table, row);
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}

/* A time member: "2026-11-23T23:10:01.123Z" -> "2026-11-23T23:10:01Z"; anything
 * unparsable as it is. */
static char *
member_utc(JsonObject *object, const char *key)
{
    const char *text = wirt_cli_format_member_string(object, key);
    g_autoptr(GDateTime) time = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;
    g_autoptr(GDateTime) utc = time ? g_date_time_to_utc(time) : NULL;

    if (!utc)
        return member_text(object, key);
    return g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ");
}

static char *
member_utc_time(JsonObject *object)
{
    return member_utc(object, "time");
}

/**
 * wirt_cli_format_history:
 * @records: (transfer none): the answer of GET /1.0/history
 * @user: (nullable): the caller, from GET /1.0
 * @admin: whether the caller is an admin
 * @out: where to append the table TIME ACTOR DOOR VM ACTION RESULT; TIME is UTC to the
 * second, VM is qualified as in wirt_cli_format_vms(), RESULT is "ok" or "failed: ERROR"
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @records has another shape.
 */
gboolean
wirt_cli_format_history(JsonNode *records, const char *user, gboolean admin, GString *out,
                        GError **error)
{
    static const char *const headers[] = {"TIME", "ACTOR", "DOOR", "VM", "ACTION", "RESULT", NULL};
    g_autoptr(WirtCliTable) table = wirt_cli_table_new(headers);
    JsonArray *array = object_array(records, error);
    gboolean qualify = FALSE;

    if (!array)
        return FALSE;
    qualify = need_owner(array, "owner", user, admin);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonObject *record = json_array_get_object_element(array, i);
        JsonNode *ok = json_object_get_member(record, "ok");
        const char *failure = wirt_cli_format_member_string(record, "error");
        g_autofree char *time = member_utc_time(record);
        g_autofree char *actor = member_text(record, "actor");
        g_autofree char *door = member_text(record, "door");
        g_autofree char *vm =
            wirt_cli_format_vm_ref(wirt_cli_format_member_string(record, "owner"),
                                   wirt_cli_format_member_string(record, "vm"), qualify);
        g_autofree char *action = member_text(record, "action");
        g_autofree char *result = NULL;

        if (ok && JSON_NODE_HOLDS_VALUE(ok) && json_node_get_value_type(ok) == G_TYPE_BOOLEAN &&
            json_node_get_boolean(ok))
            result = g_strdup("ok");
        else if (failure)
            result = g_strdup_printf("failed: %s", failure);
        else
            result = g_strdup("failed");
        {
            const char *const row[] = {time, actor, door, vm, action, result, NULL};
            wirt_cli_table_add_row(table, row);
        }
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}

/**
 * wirt_cli_format_token_created:
 * @token: (transfer none): the answer of POST /1.0/tokens: {"id","name","user","created","token"}
 * @out: where to append the token alone on one line, so that `TOKEN=$(wirt token create ci)`
 * holds exactly the token
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when the answer has no token.
 */
gboolean
wirt_cli_format_token_created(JsonNode *token, GString *out, GError **error)
{
    JsonObject *object =
        token && JSON_NODE_HOLDS_OBJECT(token) ? json_node_get_object(token) : NULL;
    const char *secret = wirt_cli_format_member_string(object, "token");
    g_autofree char *clean = NULL;

    if (!secret || secret[0] == '\0')
        return unexpected(error, "a new token without its secret");
    /* A token is ASCII (wirt_ + hex + base64url); sanitizing changes nothing then, and keeps a
     * broken server from writing control characters to the terminal. */
    clean = wirt_cli_format_sanitize(secret);
    g_string_append_printf(out, "%s\n", clean);
    return TRUE;
}

/**
 * wirt_cli_format_tokens:
 * @tokens: (transfer none): the answer of GET /1.0/tokens: {"id","name","user","created",
 * "last_used"} objects
 * @show_user: whether to add the USER column (admins, and `token list --user`)
 * @out: where to append the table NAME ID CREATED LAST-USED [USER]; times are UTC to the
 * second, a token never used shows "never"; an empty array gives the header alone
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @tokens has another shape.
 */
gboolean
wirt_cli_format_tokens(JsonNode *tokens, gboolean show_user, GString *out, GError **error)
{
    static const char *const headers[] = {"NAME", "ID", "CREATED", "LAST-USED", "USER", NULL};
    JsonArray *array = object_array(tokens, error);
    g_auto(GStrv) shown = NULL;
    g_autoptr(WirtCliTable) table = NULL;

    if (!array)
        return FALSE;
    shown = g_strdupv((GStrv)headers);
    if (!show_user)
        g_clear_pointer(&shown[4], g_free);
    table = wirt_cli_table_new((const char *const *)shown);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonObject *token = json_array_get_object_element(array, i);
        g_autofree char *name = member_text(token, "name");
        g_autofree char *id = member_text(token, "id");
        g_autofree char *created = member_utc(token, "created");
        g_autofree char *last_used = NULL;
        g_autofree char *user = member_text(token, "user");

        if (wirt_cli_format_member_string(token, "last_used"))
            last_used = member_utc(token, "last_used");
        else
            last_used = g_strdup("never");
        {
            const char *const row[] = {name, id, created, last_used, user, NULL};
            wirt_cli_table_add_row(table, row);
        }
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}

/**
 * wirt_cli_format_event:
 * @event: (transfer none): a {"type":"vm",…} message of GET /1.0/events
 * @user: (nullable): the caller, from the stream's hello or GET /1.0
 * @admin: whether the caller is an admin
 * @out: where to append one line "TIME  VM  STATE": TIME is UTC to the second; VM is
 * OWNER/NAME for admins and for VMs that are not the caller's (as in wirt_cli_format_vms()),
 * else NAME; STATE is the VM's state, or "removed". Fields are sanitized and separated by
 * two spaces, not aligned (each line is printed as soon as its event arrives).
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @event has no "vm" object.
 */
gboolean
wirt_cli_format_event(JsonNode *event, const char *user, gboolean admin, GString *out,
                      GError **error)
{
    JsonObject *object =
        event && JSON_NODE_HOLDS_OBJECT(event) ? json_node_get_object(event) : NULL;
    JsonObject *vm = member_object(object, "vm");
    const char *owner = wirt_cli_format_member_string(vm, "owner");
    gboolean qualify = admin || !owner || !user || !g_str_equal(owner, user);
    g_autofree char *time = NULL;
    g_autofree char *ref = NULL;
    g_autofree char *state = NULL;
    g_autofree char *line = NULL;

    if (!vm)
        return unexpected(error, "an event without a VM");
    time = member_utc_time(object);
    ref = wirt_cli_format_vm_ref(owner, wirt_cli_format_member_string(vm, "name"), qualify);
    if (g_strcmp0(wirt_cli_format_member_string(object, "change"), "removed") == 0)
        state = g_strdup("removed");
    else
        state = member_text(vm, "state");
    line = g_strdup_printf("%s  %s  %s", time, ref, state);
    {
        g_autofree char *clean = wirt_cli_format_sanitize(line);
        g_string_append_printf(out, "%s\n", clean);
    }
    return TRUE;
}

/**
 * wirt_cli_format_bytes:
 * @bytes: a size in bytes
 * Returns: (transfer full): "512B", "1.5K", "200.3M", "20.0G" (binary units).
 */
char *
wirt_cli_format_bytes(guint64 bytes)
{
    static const char units[] = "KMGTP";
    double value = (double)bytes;
    gsize unit = 0;

    if (bytes < 1024)
        return g_strdup_printf("%" G_GUINT64_FORMAT "B", bytes);
    value /= 1024;
    while (value >= 1024 && unit + 1 < sizeof(units) - 1) {
        value /= 1024;
        unit++;
    }
    return g_strdup_printf("%.1f%c", value, units[unit]);
}

static char *
member_bytes(JsonObject *object, const char *key)
{
    gint64 bytes = 0;

    if (!member_int(object, key, &bytes) || bytes < 0)
        return member_text(object, key);
    return wirt_cli_format_bytes((guint64)bytes);
}

/**
 * wirt_cli_format_boxes:
 * @boxes: (transfer none): the answer of GET /1.0/boxes
 * @out: where to append the table NAME OWNER SIZE VIRTUAL-SIZE POOL (OWNER "shared" for the
 * admins' boxes; NAME followed by " (uploading)" while it is)
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @boxes has another shape.
 */
gboolean
wirt_cli_format_boxes(JsonNode *boxes, GString *out, GError **error)
{
    static const char *const headers[] = {"NAME", "OWNER", "SIZE", "VIRTUAL-SIZE", "POOL", NULL};
    JsonArray *array = object_array(boxes, error);
    g_autoptr(WirtCliTable) table = NULL;

    if (!array)
        return FALSE;
    table = wirt_cli_table_new(headers);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonObject *box = json_array_get_object_element(array, i);
        const char *owner = wirt_cli_format_member_string(box, "owner");
        const char *state = wirt_cli_format_member_string(box, "state");
        g_autofree char *name = member_text(box, "name");
        g_autofree char *shown =
            g_strdup_printf("%s%s", name, g_strcmp0(state, "uploading") == 0 ? " (uploading)" : "");
        g_autofree char *size = member_bytes(box, "allocation");
        g_autofree char *virtual_size = member_bytes(box, "virtual_size");
        g_autofree char *pool = member_text(box, "pool");
        const char *const row[] = {shown, owner ? owner : "shared", size, virtual_size, pool, NULL};

        wirt_cli_table_add_row(table, row);
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}
