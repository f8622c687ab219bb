/* wirt-history.c: the audit record, one JSON object per line (JSON Lines). */
#include "wirt-history.h"

#include "wirt-error.h"

/**
 * wirt_history_record_clear:
 * @rec: a record whose strings are freed (the struct itself is not)
 */
void
wirt_history_record_clear(WirtHistoryRecord *rec)
{
    g_clear_pointer(&rec->time, g_free);
    g_clear_pointer(&rec->actor, g_free);
    g_clear_pointer(&rec->door, g_free);
    g_clear_pointer(&rec->owner, g_free);
    g_clear_pointer(&rec->vm, g_free);
    g_clear_pointer(&rec->node, g_free);
    g_clear_pointer(&rec->action, g_free);
    g_clear_pointer(&rec->error, g_free);
    g_clear_pointer(&rec->detail, g_free);
}

static void
add_string(JsonBuilder *b, const char *key, const char *value)
{
    if (!value)
        return;
    json_builder_set_member_name(b, key);
    json_builder_add_string_value(b, value);
}

/**
 * wirt_history_record_to_json:
 * Returns: (transfer full): the record as a JSON object; absent strings are left out.
 */
JsonNode *
wirt_history_record_to_json(const WirtHistoryRecord *rec)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    add_string(b, "time", rec->time);
    add_string(b, "actor", rec->actor);
    json_builder_set_member_name(b, "uid");
    json_builder_add_int_value(b, rec->uid);
    add_string(b, "door", rec->door);
    add_string(b, "owner", rec->owner);
    add_string(b, "vm", rec->vm);
    add_string(b, "node", rec->node);
    add_string(b, "action", rec->action);
    json_builder_set_member_name(b, "ok");
    json_builder_add_boolean_value(b, rec->ok);
    add_string(b, "error", rec->error);
    add_string(b, "detail", rec->detail);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/**
 * wirt_history_record_to_line:
 * Returns: (transfer full): one line of compact JSON without a newline. JSON
 * escapes control characters, so a message can never split the line.
 */
char *
wirt_history_record_to_line(const WirtHistoryRecord *rec)
{
    g_autoptr(JsonNode) node = wirt_history_record_to_json(rec);

    return json_to_string(node, FALSE);
}

static char *
dup_member(JsonObject *obj, const char *key)
{
    JsonNode *node = json_object_get_member(obj, key);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return g_strdup(json_node_get_string(node));
}

/**
 * wirt_history_record_from_line:
 * @line: one line of the history file
 * @out_rec: (out): filled only on success; clear it with wirt_history_record_clear()
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID for a line that is not a record.
 */
gboolean
wirt_history_record_from_line(const char *line, WirtHistoryRecord *out_rec, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    JsonObject *obj;
    g_auto(WirtHistoryRecord) rec = {0};

    if (!json_parser_load_from_data(parser, line, -1, NULL) || !json_parser_get_root(parser) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "not a history record");
        return FALSE;
    }
    obj = json_node_get_object(json_parser_get_root(parser));
    rec.time = dup_member(obj, "time");
    rec.action = dup_member(obj, "action");
    if (!rec.time || !rec.action) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "history record lacks time or action");
        return FALSE;
    }
    rec.actor = dup_member(obj, "actor");
    rec.uid = (guint)json_object_get_int_member_with_default(obj, "uid", 0);
    rec.door = dup_member(obj, "door");
    rec.owner = dup_member(obj, "owner");
    rec.vm = dup_member(obj, "vm");
    rec.node = dup_member(obj, "node");
    rec.ok = json_object_get_boolean_member_with_default(obj, "ok", FALSE);
    rec.error = dup_member(obj, "error");
    rec.detail = dup_member(obj, "detail");
    *out_rec = rec;
    rec = (WirtHistoryRecord){0};
    return TRUE;
}
