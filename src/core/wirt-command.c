/* wirt-command.c: the parser of command files (files API, MISSION F2).
 *
 * Two content forms, both short:
 * - flags, as the seed's `autostart` containing `--disable`: stop --force,
 *   stop --timeout=30 (or "--timeout 30");
 * - a JSON object, for create and config, and accepted by every command that
 *   takes parameters: {"memory": 512, "cpus": 1}, {"force": true}.
 * Anything else is refused with a message naming what was wrong.
 */
#include "wirt-command.h"

#include <string.h>

#include "util/wirt-util.h"
#include "wirt-api.h"
#include "wirt-error.h"

#define TIMEOUT_MAX 86400
#define MEMORY_MAX_MIB (G_GUINT64_CONSTANT(1) << 30) /* 1 PiB: the config's cap is smaller */
#define VCPUS_MAX 4096

typedef enum {
    TAKES_NOTHING,
    TAKES_STOP,      /* --force, --timeout=N, {"force":…,"timeout":…} */
    TAKES_AUTOSTART, /* --enable, --disable, {"enable":…} */
    TAKES_CREATE,    /* {"memory":…,"cpus":…,"pool":…,"node":…} */
    TAKES_CONFIG,    /* {"memory":…,"cpus":…,"autostart":…} */
} Takes;

typedef struct {
    const char *name;
    WirtAction action;
    Takes takes;
} CommandDef;

static const CommandDef commands[] = {
    {"create", WIRT_ACTION_CREATE, TAKES_CREATE},
    {"start", WIRT_ACTION_START, TAKES_NOTHING},
    {"stop", WIRT_ACTION_STOP, TAKES_STOP},
    {"shutdown", WIRT_ACTION_STOP, TAKES_STOP},
    {"destroy", WIRT_ACTION_DESTROY, TAKES_NOTHING},
    {"reboot", WIRT_ACTION_REBOOT, TAKES_NOTHING},
    {"suspend", WIRT_ACTION_SUSPEND, TAKES_NOTHING},
    {"resume", WIRT_ACTION_RESUME, TAKES_NOTHING},
    {"autostart", WIRT_ACTION_AUTOSTART, TAKES_AUTOSTART},
    {"config", WIRT_ACTION_CONFIGURE, TAKES_CONFIG},
    {"delete", WIRT_ACTION_DELETE, TAKES_NOTHING},
};

void
wirt_command_clear(WirtCommand *cmd)
{
    g_clear_pointer(&cmd->pool, g_free);
    g_clear_pointer(&cmd->node, g_free);
}

const char *const *
wirt_command_names(void)
{
    static const char *names[G_N_ELEMENTS(commands) + 1];

    if (!names[0])
        for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
            names[i] = commands[i].name;
    return names;
}

static const CommandDef *
find_command(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (g_str_equal(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static gboolean G_GNUC_PRINTF(3, 4)
    fail(GError **error, const char *command, const char *format, ...)
{
    va_list args;
    g_autofree char *message = NULL;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: %s", command, message);
    return FALSE;
}

static gboolean
check_members(JsonObject *obj, const char *command, const char *const *allowed, GError **error)
{
    g_autoptr(GList) members = json_object_get_members(obj);

    for (GList *l = members; l; l = l->next) {
        if (!g_strv_contains(allowed, l->data)) {
            g_autofree char *names = g_strjoinv(", ", (GStrv)allowed);
            g_autofree char *shown = g_strescape(l->data, NULL);
            return fail(error, command, "unknown parameter '%.64s' (allowed: %s)", shown, names);
        }
    }
    return TRUE;
}

/* An integer member in [min, max]; absent leaves *out as it was. */
static gboolean
get_int(JsonObject *obj, const char *command, const char *member, gint64 min, gint64 max,
        gint64 *out, GError **error)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (!node)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return fail(error, command, "'%s' must be an integer", member);
    if (json_node_get_int(node) < min || json_node_get_int(node) > max)
        return fail(error, command,
                    "'%s' must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT, member, min,
                    max);
    *out = json_node_get_int(node);
    return TRUE;
}

static gboolean
get_bool(JsonObject *obj, const char *command, const char *member, gboolean *out, gboolean *out_set,
         GError **error)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (!node)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return fail(error, command, "'%s' must be true or false", member);
    *out = json_node_get_boolean(node);
    if (out_set)
        *out_set = TRUE;
    return TRUE;
}

/* Pool and node names: config labels, never paths. */
static gboolean
name_chars_ok(const char *s)
{
    if (!*s || strlen(s) > 64)
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_' && *s != '.')
            return FALSE;
    return TRUE;
}

static gboolean
get_string(JsonObject *obj, const char *command, const char *member, char **out, GError **error)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (!node)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return fail(error, command, "'%s' must be a string", member);
    if (!name_chars_ok(json_node_get_string(node)))
        return fail(error, command, "'%s' may hold only letters, digits, '-', '_' and '.'", member);
    g_free(*out);
    *out = g_strdup(json_node_get_string(node));
    return TRUE;
}

/* "memory" and "memory_mib" (the HTTP API's name) mean the same; so do "cpus" and "vcpus". */
static gboolean
get_size(JsonObject *obj, const char *command, WirtCommand *cmd, GError **error)
{
    gint64 memory = 0, vcpus = 0;

    if (json_object_has_member(obj, "memory") && json_object_has_member(obj, "memory_mib"))
        return fail(error, command, "give 'memory' or 'memory_mib', not both");
    if (json_object_has_member(obj, "cpus") && json_object_has_member(obj, "vcpus"))
        return fail(error, command, "give 'cpus' or 'vcpus', not both");
    if (!get_int(obj, command, "memory", 1, MEMORY_MAX_MIB, &memory, error) ||
        !get_int(obj, command, "memory_mib", 1, MEMORY_MAX_MIB, &memory, error) ||
        !get_int(obj, command, "cpus", 1, VCPUS_MAX, &vcpus, error) ||
        !get_int(obj, command, "vcpus", 1, VCPUS_MAX, &vcpus, error))
        return FALSE;
    cmd->memory_mib = (guint64)memory;
    cmd->vcpus = (guint)vcpus;
    return TRUE;
}

static gboolean
parse_json(const CommandDef *def, const char *text, gsize len, WirtCommand *cmd, GError **error)
{
    static const char *const stop_members[] = {"force", "timeout", NULL};
    static const char *const autostart_members[] = {"enable", NULL};
    static const char *const create_members[] = {"memory", "memory_mib", "cpus", "vcpus",
                                                 "pool",   "node",       NULL};
    static const char *const config_members[] = {"memory", "memory_mib", "cpus",
                                                 "vcpus",  "autostart",  NULL};
    g_autoptr(GError) local = NULL;
    g_autoptr(JsonObject) obj = wirt_api_parse_object(text, len, &local);
    gint64 timeout = -1;

    if (!obj)
        return fail(error, def->name, "%s", local->message);
    switch (def->takes) {
    case TAKES_NOTHING:
        return fail(error, def->name, "takes no parameters; leave the file empty");
    case TAKES_STOP:
        if (!check_members(obj, def->name, stop_members, error) ||
            !get_bool(obj, def->name, "force", &cmd->force, NULL, error) ||
            !get_int(obj, def->name, "timeout", 0, TIMEOUT_MAX, &timeout, error))
            return FALSE;
        cmd->timeout = (gint)timeout;
        return TRUE;
    case TAKES_AUTOSTART:
        return check_members(obj, def->name, autostart_members, error) &&
               get_bool(obj, def->name, "enable", &cmd->enable, NULL, error);
    case TAKES_CREATE:
        return check_members(obj, def->name, create_members, error) &&
               get_size(obj, def->name, cmd, error) &&
               get_string(obj, def->name, "pool", &cmd->pool, error) &&
               get_string(obj, def->name, "node", &cmd->node, error);
    case TAKES_CONFIG:
        if (!check_members(obj, def->name, config_members, error) ||
            !get_size(obj, def->name, cmd, error) ||
            !get_bool(obj, def->name, "autostart", &cmd->enable, &cmd->set_autostart, error))
            return FALSE;
        if (!cmd->memory_mib && !cmd->vcpus && !cmd->set_autostart)
            return fail(error, def->name, "names no setting to change (memory, cpus, autostart)");
        return TRUE;
    }
    g_assert_not_reached();
}

/* Flags: "--force", "--timeout=N" or "--timeout N", "--enable", "--disable". */
static gboolean
parse_flags(const CommandDef *def, const char *text, WirtCommand *cmd, GError **error)
{
    g_auto(GStrv) words = g_strsplit_set(text, " \t\r\n", -1);

    for (guint i = 0; words[i]; i++) {
        const char *w = words[i];
        const char *value = NULL;
        guint64 n;

        if (!*w)
            continue;
        if (def->takes == TAKES_STOP && g_str_equal(w, "--force")) {
            cmd->force = TRUE;
        } else if (def->takes == TAKES_STOP &&
                   (g_str_has_prefix(w, "--timeout=") || g_str_equal(w, "--timeout"))) {
            if (g_str_equal(w, "--timeout")) {
                while (words[i + 1] && !*words[i + 1])
                    i++;
                value = words[i + 1] ? words[++i] : NULL;
            } else {
                value = w + strlen("--timeout=");
            }
            if (!value || !wirt_util_parse_uint64(value, 0, TIMEOUT_MAX, &n, NULL))
                return fail(error, def->name, "--timeout needs seconds from 0 to %d", TIMEOUT_MAX);
            cmd->timeout = (gint)n;
        } else if (def->takes == TAKES_AUTOSTART && g_str_equal(w, "--disable")) {
            cmd->enable = FALSE;
        } else if (def->takes == TAKES_AUTOSTART && g_str_equal(w, "--enable")) {
            cmd->enable = TRUE;
        } else if (def->takes == TAKES_NOTHING) {
            return fail(error, def->name, "takes no parameters; leave the file empty");
        } else {
            g_autofree char *shown = g_strescape(w, NULL);
            return fail(error, def->name, "unknown parameter '%.64s'", shown);
        }
    }
    return TRUE;
}

static gboolean parse(const char *file_name, const char *data, gsize len, WirtCommand *out_cmd,
                      GError **error);

/**
 * wirt_command_parse:
 * @file_name: the command file's name, e.g. "start"
 * @data: (array length=len): its content, untrusted
 * @out_cmd: (out caller-allocates): cleared, then filled
 *
 * Returns: %TRUE, or %FALSE with an INVALID @error the user is shown.
 */
gboolean
wirt_command_parse(const char *file_name, const char *data, gsize len, WirtCommand *out_cmd,
                   GError **error)
{
    GError *local = NULL;

    if (parse(file_name, data, len, out_cmd, &local))
        return TRUE;
    /* One line, whatever the parser quoted from the file: it goes into logs line by line. */
    for (char *c = local->message; *c; c++)
        if ((guchar)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    g_propagate_error(error, local);
    return FALSE;
}

static gboolean
parse(const char *file_name, const char *data, gsize len, WirtCommand *out_cmd, GError **error)
{
    const CommandDef *def = find_command(file_name);
    g_autofree char *text = NULL;
    const char *start;

    memset(out_cmd, 0, sizeof(*out_cmd));
    out_cmd->timeout = -1;
    out_cmd->enable = TRUE;
    if (!def) {
        g_autofree char *shown = g_strescape(file_name, NULL);
        g_autofree char *names = g_strjoinv(", ", (GStrv)wirt_command_names());
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "'%.64s' is not a command (commands: %s)", shown, names);
        return FALSE;
    }
    out_cmd->action = def->action;
    if (memchr(data, '\0', len))
        return fail(error, def->name, "the file holds a NUL byte");
    if (!g_utf8_validate_len(data, len, NULL))
        return fail(error, def->name, "the file is not UTF-8 text");
    text = g_strstrip(g_strndup(data, len));
    start = text;
    if (!*start) {
        if (def->takes == TAKES_CONFIG)
            return fail(error, def->name, "names no setting to change (memory, cpus, autostart)");
        return TRUE;
    }
    if (*start == '{')
        return parse_json(def, start, strlen(start), out_cmd, error);
    if (def->takes == TAKES_CREATE || def->takes == TAKES_CONFIG)
        return fail(error, def->name, "parameters must be a JSON object, e.g. {\"memory\": 512}");
    return parse_flags(def, start, out_cmd, error);
}

char *
wirt_command_describe(const WirtCommand *cmd)
{
    GString *out = g_string_new(wirt_action_to_string(cmd->action));

    if (cmd->action == WIRT_ACTION_STOP && cmd->force)
        g_string_append(out, " force");
    if (cmd->action == WIRT_ACTION_STOP && cmd->timeout >= 0)
        g_string_append_printf(out, " timeout=%d", cmd->timeout);
    if (cmd->action == WIRT_ACTION_AUTOSTART)
        g_string_append(out, cmd->enable ? " enable" : " disable");
    if (cmd->memory_mib)
        g_string_append_printf(out, " memory=%" G_GUINT64_FORMAT, cmd->memory_mib);
    if (cmd->vcpus)
        g_string_append_printf(out, " cpus=%u", cmd->vcpus);
    if (cmd->set_autostart)
        g_string_append_printf(out, " autostart=%s", cmd->enable ? "true" : "false");
    if (cmd->pool)
        g_string_append_printf(out, " pool=%s", cmd->pool);
    if (cmd->node)
        g_string_append_printf(out, " node=%s", cmd->node);
    return g_string_free(out, FALSE);
}
