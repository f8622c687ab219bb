/* wirt-cli-request.c: maps a parsed command line onto one route of docs/api.md.
 *
 * Pure: no socket, no environment. The unit tests check every command's method, path
 * and body here, so the client code that sends them stays trivial. */
#include "wirt-cli-request.h"
#include "wirt-cli-net.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "core/wirt-api.h"

/**
 * wirt_cli_request_new:
 * @method: a static method string ("GET", …); it is not copied
 * @path: the path with its query, already escaped
 * @body: (nullable): the JSON body
 * Returns: (transfer full): a new request, never %NULL.
 */
WirtCliRequest *
wirt_cli_request_new(const char *method, const char *path, const char *body)
{
    WirtCliRequest *request = g_new0(WirtCliRequest, 1);

    request->method = method;
    request->path = g_strdup(path);
    request->body = g_strdup(body);
    return request;
}

/**
 * wirt_cli_request_free:
 * @request: (transfer full) (nullable): a request
 */
void
wirt_cli_request_free(WirtCliRequest *request)
{
    if (!request)
        return;
    g_free(request->path);
    g_free(request->body);
    g_free(request);
}

/* Appends "?key=value" or "&key=value", escaped; nothing when @value is NULL. */
static void
append_query(GString *path, const char *key, const char *value)
{
    g_autofree char *escaped = NULL;

    if (!value)
        return;
    escaped = g_uri_escape_string(value, NULL, FALSE);
    g_string_append_printf(path, "%c%s=%s", strchr(path->str, '?') ? '&' : '?', key, escaped);
}

static void
append_query_uint(GString *path, const char *key, guint64 value)
{
    g_autofree char *text = g_strdup_printf("%" G_GUINT64_FORMAT, value);

    append_query(path, key, text);
}

/* "/1.0/vms/NAME" + @suffix + "?owner=OWNER" when the command named an owner. */
static char *
vm_path(const WirtCliArgs *args, const char *suffix)
{
    g_autofree char *name = g_uri_escape_string(args->name, NULL, FALSE);
    g_autoptr(GString) path = g_string_new("/" WIRT_API_VERSION "/vms/");

    g_string_append(path, name);
    g_string_append(path, suffix);
    append_query(path, "owner", args->owner);
    return g_string_free(g_steal_pointer(&path), FALSE);
}

static void
add_string(JsonBuilder *builder, const char *key, const char *value)
{
    if (!value)
        return;
    json_builder_set_member_name(builder, key);
    json_builder_add_string_value(builder, value);
}

static void
add_int(JsonBuilder *builder, const char *key, gint64 value)
{
    json_builder_set_member_name(builder, key);
    json_builder_add_int_value(builder, value);
}

static void
add_bool(JsonBuilder *builder, const char *key, gboolean value)
{
    json_builder_set_member_name(builder, key);
    json_builder_add_boolean_value(builder, value);
}

/* Ends the object @builder holds and returns it as compact JSON. */
static char *
builder_to_string(JsonBuilder *builder)
{
    g_autoptr(JsonGenerator) generator = json_generator_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    json_generator_set_root(generator, root);
    return json_generator_to_data(generator, NULL);
}

static WirtCliRequest *
state_request(const WirtCliArgs *args, const char *action)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autofree char *path = vm_path(args, "/state");
    g_autofree char *body = NULL;

    json_builder_begin_object(builder);
    add_string(builder, "action", action);
    if (args->force)
        add_bool(builder, "force", TRUE);
    if (args->timeout >= 0)
        add_int(builder, "timeout", args->timeout);
    body = builder_to_string(builder);
    return wirt_cli_request_new("PUT", path, body);
}

static WirtCliRequest *
create_request(const WirtCliArgs *args)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autofree char *body = NULL;

    json_builder_begin_object(builder);
    add_string(builder, "name", args->name);
    if (args->memory_mib > 0)
        add_int(builder, "memory_mib", (gint64)args->memory_mib);
    if (args->vcpus > 0)
        add_int(builder, "vcpus", (gint64)args->vcpus);
    add_string(builder, "pool", args->pool);
    add_string(builder, "node", args->node);
    add_string(builder, "owner", args->owner);
    add_string(builder, "box", args->box);
    if (args->disk_bytes > 0)
        add_int(builder, "disk_bytes", (gint64)args->disk_bytes);
    add_string(builder, "network", args->network);
    add_string(builder, "ip", args->ip);
    add_string(builder, "mac", args->mac);
    add_string(builder, "ssh_user", args->ssh_user);
    add_string(builder, "machine", args->machine);
    add_string(builder, "disk_cache", args->disk_cache);
    if (args->nested) {
        json_builder_set_member_name(builder, "nested");
        json_builder_add_boolean_value(builder, TRUE);
    }
    if (args->ssh_keys) {
        json_builder_set_member_name(builder, "ssh_keys");
        json_builder_begin_array(builder);
        for (guint i = 0; args->ssh_keys[i]; i++)
            json_builder_add_string_value(builder, args->ssh_keys[i]);
        json_builder_end_array(builder);
    }
    body = builder_to_string(builder);
    return wirt_cli_request_new("POST", "/" WIRT_API_VERSION "/vms", body);
}

static WirtCliRequest *
adopt_request(const WirtCliArgs *args)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autofree char *body = NULL;

    json_builder_begin_object(builder);
    add_string(builder, "domain", args->domain);
    add_string(builder, "owner", args->owner);
    add_string(builder, "name", args->name);
    add_string(builder, "node", args->node);
    body = builder_to_string(builder);
    return wirt_cli_request_new("POST", "/" WIRT_API_VERSION "/adopt", body);
}

static WirtCliRequest *
autostart_request(const WirtCliArgs *args)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autofree char *path = vm_path(args, "/autostart");
    g_autofree char *body = NULL;

    json_builder_begin_object(builder);
    add_bool(builder, "enabled", !args->disable);
    body = builder_to_string(builder);
    return wirt_cli_request_new("PUT", path, body);
}

static WirtCliRequest *
query_request(const char *route, const char *key, const char *value)
{
    g_autoptr(GString) path = g_string_new("/" WIRT_API_VERSION);

    g_string_append(path, route);
    append_query(path, key, value);
    return wirt_cli_request_new("GET", path->str, NULL);
}

static WirtCliRequest *
history_request(const WirtCliArgs *args)
{
    g_autoptr(GString) path = g_string_new("/" WIRT_API_VERSION "/history");

    append_query(path, "vm", args->name);
    append_query(path, "owner", args->owner);
    if (args->limit > 0)
        append_query_uint(path, "limit", args->limit);
    return wirt_cli_request_new("GET", path->str, NULL);
}

/* POST /1.0/tokens {"name"}; GET /1.0/tokens; DELETE /1.0/tokens/NAME; ?user=U for admins. */
static WirtCliRequest *
token_request(const WirtCliArgs *args)
{
    g_autoptr(GString) path = g_string_new("/" WIRT_API_VERSION "/tokens");
    g_autoptr(JsonBuilder) builder = NULL;
    g_autofree char *body = NULL;
    g_autofree char *name = NULL;

    switch (args->command) {
    case WIRT_CLI_CMD_TOKEN_CREATE:
        builder = json_builder_new();
        json_builder_begin_object(builder);
        add_string(builder, "name", args->name);
        body = builder_to_string(builder);
        return wirt_cli_request_new("POST", path->str, body);
    case WIRT_CLI_CMD_TOKEN_LIST:
        append_query(path, "user", args->user);
        return wirt_cli_request_new("GET", path->str, NULL);
    case WIRT_CLI_CMD_TOKEN_REVOKE:
        name = g_uri_escape_string(args->name, NULL, FALSE);
        g_string_append_printf(path, "/%s", name);
        append_query(path, "user", args->user);
        return wirt_cli_request_new("DELETE", path->str, NULL);
    default:
        g_return_val_if_reached(NULL);
    }
}

/* /1.0/boxes/NAME?owner=OWNER; box add's body (the file) is streamed by wirt_cli_client_upload().
 */
static WirtCliRequest *
box_request(const WirtCliArgs *args, const char *method)
{
    g_autofree char *name = g_uri_escape_string(args->name, NULL, FALSE);
    g_autoptr(GString) path = g_string_new("/" WIRT_API_VERSION "/boxes/");

    g_string_append(path, name);
    append_query(path, "owner", args->owner);
    return wirt_cli_request_new(method, path->str, NULL);
}

/**
 * wirt_cli_request_whoami:
 * Returns: (transfer full): GET /1.0, which says who the caller is and whether an admin.
 */
WirtCliRequest *
wirt_cli_request_whoami(void)
{
    return wirt_cli_request_new("GET", "/" WIRT_API_VERSION, NULL);
}

/**
 * wirt_cli_request_build:
 * @args: (transfer none): a command line wirt_cli_args_parse() accepted
 *
 * Builds the one request that carries out the command. (A table listing also asks
 * wirt_cli_request_whoami() first, to know how to name VMs.) For events it is the
 * request that wirt_cli_events_run() upgrades to a websocket.
 * Returns: (transfer full) (nullable): the request, or %NULL for help, --version and
 * `admin passwd`, which need no server.
 */
WirtCliRequest *
wirt_cli_request_build(const WirtCliArgs *args)
{
    g_autofree char *path = NULL;

    switch (args->command) {
    case WIRT_CLI_CMD_HELP:
    case WIRT_CLI_CMD_VERSION:
    case WIRT_CLI_CMD_ADMIN_PASSWD: /* a local file: wirt-cli-passwd.c */
        return NULL;
    case WIRT_CLI_CMD_LIST:
        return query_request("/vms", "owner", args->owner);
    case WIRT_CLI_CMD_INFO:
        path = vm_path(args, "");
        return wirt_cli_request_new("GET", path, NULL);
    case WIRT_CLI_CMD_CREATE:
        return create_request(args);
    case WIRT_CLI_CMD_START:
        return state_request(args, "start");
    case WIRT_CLI_CMD_STOP:
        return state_request(args, "stop");
    case WIRT_CLI_CMD_DESTROY:
        return state_request(args, "destroy");
    case WIRT_CLI_CMD_REBOOT:
        return state_request(args, "reboot");
    case WIRT_CLI_CMD_SUSPEND:
        return state_request(args, "suspend");
    case WIRT_CLI_CMD_RESUME:
        return state_request(args, "resume");
    case WIRT_CLI_CMD_DELETE:
        path = vm_path(args, "");
        return wirt_cli_request_new("DELETE", path, NULL);
    case WIRT_CLI_CMD_AUTOSTART:
        return autostart_request(args);
    case WIRT_CLI_CMD_ADOPT:
        return adopt_request(args);
    case WIRT_CLI_CMD_POOL_LIST:
        return query_request("/pools", NULL, NULL);
    case WIRT_CLI_CMD_NODE_LIST:
        return query_request("/nodes", NULL, NULL);
    case WIRT_CLI_CMD_QUOTA:
        return query_request("/quota", "user", args->user);
    case WIRT_CLI_CMD_HISTORY:
        return history_request(args);
    case WIRT_CLI_CMD_WHOAMI:
        return wirt_cli_request_whoami();
    case WIRT_CLI_CMD_EVENTS:
        /* the websocket upgrade (wirt-cli-events.c), not a plain request */
        return query_request("/events", NULL, NULL);
    case WIRT_CLI_CMD_TOKEN_CREATE:
    case WIRT_CLI_CMD_TOKEN_LIST:
    case WIRT_CLI_CMD_TOKEN_REVOKE:
        return token_request(args);
    case WIRT_CLI_CMD_BOX_ADD:
        return box_request(args, "POST");
    case WIRT_CLI_CMD_BOX_LIST:
        return query_request("/boxes", "owner", args->owner);
    case WIRT_CLI_CMD_BOX_REMOVE:
        return box_request(args, "DELETE");
    case WIRT_CLI_CMD_NET_CREATE:
    case WIRT_CLI_CMD_NET_LIST:
    case WIRT_CLI_CMD_NET_DELETE:
        return wirt_cli_net_request(args);
    case WIRT_CLI_CMD_SSH: /* the VM, for its owner, uuid and ssh user (wirt-cli-ssh.c) */
        path = vm_path(args, "");
        return wirt_cli_request_new("GET", path, NULL);
    case WIRT_CLI_CMD_SSH_PROXY: /* the websocket upgrade (wirt-cli-ssh.c) */
        path = vm_path(args, "/ssh");
        return wirt_cli_request_new("GET", path, NULL);
    }
    g_return_val_if_reached(NULL);
}
