/* wirt-cli-net.c: `wirt net create|list|delete` (see wirt-cli-net.h).
 *
 *   net create NAME --subnet CIDR [--mode M] [--dhcp|--no-dhcp]  POST /1.0/networks
 *   net list                                                      GET /1.0/networks
 *   net delete NAME [--owner USER]                                DELETE /1.0/networks/NAME
 */
#include "wirt-cli-net.h"

#include "core/wirt-api.h"
#include "core/wirt-error.h"
#include "wirt-cli-format.h"

static WirtCliRequest *
create_request(const WirtCliArgs *args)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *body = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, args->name);
    if (args->subnet) {
        json_builder_set_member_name(b, "subnet");
        json_builder_add_string_value(b, args->subnet);
    }
    if (args->net_mode) {
        json_builder_set_member_name(b, "mode");
        json_builder_add_string_value(b, args->net_mode);
    }
    if (args->owner) {
        json_builder_set_member_name(b, "owner");
        json_builder_add_string_value(b, args->owner);
    }
    if (args->dhcp >= 0) {
        json_builder_set_member_name(b, "dhcp");
        json_builder_add_boolean_value(b, args->dhcp != 0);
    }
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    body = wirt_api_to_string(root, FALSE);
    return wirt_cli_request_new("POST", "/" WIRT_API_VERSION "/networks", body);
}

/**
 * wirt_cli_net_request:
 * Returns: (transfer full): the request of a WIRT_CLI_CMD_NET_* command.
 */
WirtCliRequest *
wirt_cli_net_request(const WirtCliArgs *args)
{
    g_autofree char *name = NULL;
    g_autoptr(GString) path = NULL;

    switch (args->command) {
    case WIRT_CLI_CMD_NET_CREATE:
        return create_request(args);
    case WIRT_CLI_CMD_NET_LIST:
        return wirt_cli_request_new("GET", "/" WIRT_API_VERSION "/networks", NULL);
    case WIRT_CLI_CMD_NET_DELETE:
        name = g_uri_escape_string(args->name, NULL, FALSE);
        path = g_string_new("/" WIRT_API_VERSION "/networks/");
        g_string_append(path, name);
        if (args->owner) {
            g_autofree char *owner = g_uri_escape_string(args->owner, NULL, FALSE);
            g_string_append_printf(path, "?owner=%s", owner);
        }
        return wirt_cli_request_new("DELETE", path->str, NULL);
    default:
        g_return_val_if_reached(NULL);
    }
}

static const char *
string_member(JsonObject *obj, const char *key, const char *fallback)
{
    JsonNode *node = json_object_get_member(obj, key);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return fallback;
    return json_node_get_string(node);
}

static const char *
bool_member(JsonObject *obj, const char *key)
{
    JsonNode *node = json_object_get_member(obj, key);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return "-";
    return json_node_get_boolean(node) ? "yes" : "no";
}

/**
 * wirt_cli_net_format_list:
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_FAILED @error when @networks has another shape.
 */
gboolean
wirt_cli_net_format_list(JsonNode *networks, GString *out, GError **error)
{
    static const char *const headers[] = {"NAME", "OWNER",  "MODE", "SUBNET",
                                          "DHCP", "ACTIVE", NULL};
    g_autoptr(WirtCliTable) table = NULL;
    JsonArray *array;

    if (!networks || !JSON_NODE_HOLDS_ARRAY(networks)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd answered with no network list");
        return FALSE;
    }
    array = json_node_get_array(networks);
    table = wirt_cli_table_new(headers);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *node = json_array_get_element(array, i);
        JsonObject *net = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
        const char *hidden;
        g_autofree char *name = NULL;

        if (!net)
            continue;
        hidden = bool_member(net, "hidden");
        name = g_strdup_printf("%s%s", string_member(net, "name", "?"),
                               g_str_equal(hidden, "yes") ? " (hidden)" : "");
        {
            const char *const row[] = {name,
                                       string_member(net, "owner", "admins"),
                                       string_member(net, "mode", "-"),
                                       string_member(net, "subnet", "-"),
                                       bool_member(net, "dhcp"),
                                       bool_member(net, "active"),
                                       NULL};
            wirt_cli_table_add_row(table, row);
        }
    }
    wirt_cli_table_render(table, out);
    return TRUE;
}

/**
 * wirt_cli_net_action_line:
 * Returns: (transfer full): "network lab: created (wirt-alice.lab, bridge wbr…)" and the like.
 */
char *
wirt_cli_net_action_line(const WirtCliArgs *args, JsonNode *answer)
{
    JsonObject *obj =
        answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;

    if (args->command == WIRT_CLI_CMD_NET_CREATE && obj)
        return g_strdup_printf(
            "network %s: created (%s %s, libvirt network %s, bridge %s)", args->name,
            string_member(obj, "mode", "?"), string_member(obj, "subnet", "?"),
            string_member(obj, "libvirt_name", "?"), string_member(obj, "bridge", "-"));
    return g_strdup_printf("network %s: %s", args->name,
                           args->command == WIRT_CLI_CMD_NET_CREATE ? "created" : "deleted");
}
