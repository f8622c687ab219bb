/* wirt-api.c: JSON codecs of the HTTP API, shared by wirtd and the wirt CLI. */
#include "wirt-api.h"

#include <string.h>

static void
add_string_or_null(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void
add_int(JsonBuilder *b, const char *key, gint64 value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_int_value(b, value);
}

/**
 * wirt_api_vm_to_json:
 * Returns: (transfer full): the VM object of docs/api.md.
 */
JsonNode *
wirt_api_vm_to_json(const WirtVm *vm)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    add_string_or_null(b, "name", vm->name);
    add_string_or_null(b, "owner", vm->owner);
    add_string_or_null(b, "domain", vm->domain);
    add_string_or_null(b, "uuid", vm->uuid);
    add_string_or_null(b, "state", wirt_vm_state_to_string(vm->state));
    add_int(b, "memory_mib", (gint64)vm->memory_mib);
    add_int(b, "vcpus", vm->vcpus);
    json_builder_set_member_name(b, "autostart");
    json_builder_add_boolean_value(b, vm->autostart);
    json_builder_set_member_name(b, "persistent");
    json_builder_add_boolean_value(b, vm->persistent);
    add_string_or_null(b, "pool", vm->pool);
    add_string_or_null(b, "node", vm->node);
    add_string_or_null(b, "created", vm->created);
    add_string_or_null(b, "created_by", vm->created_by);
    add_string_or_null(b, "door", vm->door);
    add_string_or_null(b, "box", vm->box);
    add_string_or_null(b, "ssh_user", vm->ssh_user);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/**
 * wirt_api_append_json_string:
 * @out: where to append
 * @value: (nullable): the string; %NULL appends null
 *
 * Appends @value as a JSON string: quotes, backslashes and control characters
 * escaped, invalid UTF-8 replaced by U+FFFD, so the output is always valid JSON.
 */
void
wirt_api_append_json_string(GString *out, const char *value)
{
    const char *p = value;

    if (!value) {
        g_string_append(out, "null");
        return;
    }
    g_string_append_c(out, '"');
    while (*p) {
        const char *end = NULL;
        gunichar c;
        const char *run = p;

        /* Plain printable ASCII goes through in one piece. */
        while ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            g_string_append_len(out, run, p - run);
        if (!*p)
            break;
        c = g_utf8_get_char_validated(p, -1);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append(out, "\ufffd");
            p++;
            continue;
        }
        end = g_utf8_next_char(p);
        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                g_string_append_printf(out, "\\u%04x", c);
            else
                g_string_append_len(out, p, end - p);
            break;
        }
        p = end;
    }
    g_string_append_c(out, '"');
}

static void
append_member(GString *out, const char *key, const char *value, gboolean first)
{
    g_string_append(out, first ? "{\"" : ",\"");
    g_string_append(out, key);
    g_string_append(out, "\":");
    wirt_api_append_json_string(out, value);
}

/**
 * wirt_api_vm_append_json:
 * @out: where to append
 * @vm: the VM
 *
 * Appends the VM object of docs/api.md as compact JSON; the same members and
 * values as wirt_api_vm_to_json() (tests/unit/test-history.c checks it).
 */
void
wirt_api_vm_append_json(GString *out, const WirtVm *vm)
{
    append_member(out, "name", vm->name, TRUE);
    append_member(out, "owner", vm->owner, FALSE);
    append_member(out, "domain", vm->domain, FALSE);
    append_member(out, "uuid", vm->uuid, FALSE);
    append_member(out, "state", wirt_vm_state_to_string(vm->state), FALSE);
    g_string_append_printf(out, ",\"memory_mib\":%" G_GUINT64_FORMAT ",\"vcpus\":%u",
                           vm->memory_mib, vm->vcpus);
    g_string_append_printf(out, ",\"autostart\":%s,\"persistent\":%s",
                           vm->autostart ? "true" : "false", vm->persistent ? "true" : "false");
    append_member(out, "pool", vm->pool, FALSE);
    append_member(out, "node", vm->node, FALSE);
    append_member(out, "created", vm->created, FALSE);
    append_member(out, "created_by", vm->created_by, FALSE);
    append_member(out, "door", vm->door, FALSE);
    append_member(out, "box", vm->box, FALSE);
    append_member(out, "ssh_user", vm->ssh_user, FALSE);
    g_string_append_c(out, '}');
}

/**
 * wirt_api_usage_to_json:
 * Returns: (transfer full): {"vms":…,"vcpus":…,"memory_mib":…}
 */
JsonNode *
wirt_api_usage_to_json(const WirtUsage *usage)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    add_int(b, "vms", usage->vms);
    add_int(b, "vcpus", usage->vcpus);
    add_int(b, "memory_mib", usage->memory_mib);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/**
 * wirt_api_quota_to_json:
 * Returns: (transfer full): the limits, -1 for unlimited.
 */
JsonNode *
wirt_api_quota_to_json(const WirtQuota *quota)
{
    WirtUsage as_usage = {quota->vms, quota->vcpus, quota->memory_mib};

    return wirt_api_usage_to_json(&as_usage);
}

/**
 * wirt_api_error_to_json:
 * Returns: (transfer full): the one error shape of docs/api.md.
 */
JsonNode *
wirt_api_error_to_json(const GError *error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    WirtError code =
        error && error->domain == WIRT_ERROR ? (WirtError)error->code : WIRT_ERROR_FAILED;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "error");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "code");
    json_builder_add_string_value(b, wirt_error_code_name(code));
    add_int(b, "status", wirt_error_http_status(code));
    json_builder_set_member_name(b, "message");
    json_builder_add_string_value(b, error ? error->message : "unknown error");
    json_builder_end_object(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/**
 * wirt_api_error_from_json:
 * @node: (nullable): a parsed response body
 * Returns: %TRUE and sets @error when @node is an error body, else %FALSE.
 */
gboolean
wirt_api_error_from_json(JsonNode *node, GError **error)
{
    JsonObject *obj, *err;
    const char *code_name, *message;
    WirtError code = WIRT_ERROR_FAILED;

    if (!node || !JSON_NODE_HOLDS_OBJECT(node))
        return FALSE;
    obj = json_node_get_object(node);
    if (!json_object_has_member(obj, "error") ||
        !JSON_NODE_HOLDS_OBJECT(json_object_get_member(obj, "error")))
        return FALSE;
    err = json_object_get_object_member(obj, "error");
    code_name = json_object_get_string_member_with_default(err, "code", "failed");
    message = json_object_get_string_member_with_default(err, "message", "unknown error");
    if (!wirt_error_code_from_name(code_name, &code))
        code = WIRT_ERROR_FAILED;
    g_set_error_literal(error, WIRT_ERROR, code, message);
    return TRUE;
}

/**
 * wirt_api_parse_object:
 * @data: the request body (need not be NUL-terminated)
 * @len: its length
 * Returns: (transfer full) (nullable): the object, or %NULL with %WIRT_ERROR_INVALID.
 */
JsonObject *
wirt_api_parse_object(const char *data, gsize len, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    JsonNode *root;

    if (len > WIRT_API_BODY_MAX) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "request body of %zu bytes is over the %d byte limit", len, WIRT_API_BODY_MAX);
        return NULL;
    }
    if (len == 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "request body is empty");
        return NULL;
    }
    if (memchr(data, '\0', len) || !g_utf8_validate(data, (gssize)len, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "request body is not UTF-8 JSON");
        return NULL;
    }
    if (!json_parser_load_from_data(parser, data, (gssize)len, &local)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "malformed JSON: %s", local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "request body must be a JSON object");
        return NULL;
    }
    return json_object_ref(json_node_get_object(root));
}

/**
 * wirt_api_to_string:
 * Returns: (transfer full): @node serialized, with a trailing newline when @pretty.
 */
char *
wirt_api_to_string(JsonNode *node, gboolean pretty)
{
    g_autofree char *text = json_to_string(node, pretty);

    return pretty ? g_strconcat(text, "\n", NULL) : g_steal_pointer(&text);
}
