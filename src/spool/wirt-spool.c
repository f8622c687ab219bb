/* wirt-spool.c: the files API in wirtd (see wirt-spool.h and docs/files.md).
 *
 * Everything here runs on the main loop. The helpers do the file work; this
 * side decides. A command's life:
 *   helper: "command" (file taken and read)  ->  parse  ->  the service (policy,
 *   quota, libvirt, history)  ->  the history hook sends "append" for
 *   logs/history.log and logs/vm/NAME.log  ->  "write" status.json and
 *   settings.json  ->  "done": the helper removes the command file.
 * The helper handles one socket's messages in order, so the file goes only
 * after its result is written. Commands of one VM run one at a time, oldest
 * file first; different VMs and users run side by side.
 */
#include "wirt-spool.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "core/wirt-api.h"
#include "core/wirt-command.h"
#include "core/wirt-error.h"
#include "core/wirt-names.h"
#include "helper/wirt-userfs-proto.h"
#include "util/wirt-util.h"

#define SENDMAIL "/usr/sbin/sendmail"
#define RESTART_DELAY_MS 1000
#define OUT_QUEUE_MAX 100000 /* messages waiting for a stuck helper before we drop info writes */

typedef struct _Helper Helper;

typedef struct {
    char *command; /* "start", "stop force", ... */
    gboolean ok;
    char *error;
    char *time;
} LastResult;

typedef struct {
    uid_t uid;
    gid_t gid;
    char *name;
    char *home;
    GArray *gids;
    Helper *helper;
    GHashTable *last; /* vm -> LastResult* */
    gint64 last_mail; /* monotonic µs */
    guint mails_held; /* errors not mailed because of mail-interval */
    gboolean seen;    /* still a member at the latest scan */
} Member;

struct _Helper {
    WirtSpool *spool;
    guint index;
    GSubprocess *proc;
    int fd;
    guint in_id;
    guint out_id;
    guint restart_id;
    GQueue out; /* GBytes* */
};

typedef struct {
    WirtSpool *spool;
    uid_t uid;
    char *layout;
    char *vm;
    char *action; /* the file name */
    char *taken;
    gint64 mtime;
    GBytes *data;
    char *error; /* the helper could not read it */
    WirtCommand cmd;
    gboolean parsed;
    gboolean autostart_step; /* config: the autostart part, after memory/cpus */
    char *key;               /* inflight key */
} Cmd;

typedef struct {
    GQueue cmds; /* Cmd*, oldest first */
    gboolean running;
} VmQueue;

struct _WirtSpool {
    WirtService *service;
    const WirtConfig *config;
    char *helper_path;
    GPtrArray *helpers;   /* Helper* */
    GHashTable *members;  /* uid -> Member* */
    GHashTable *by_name;  /* user name -> Member* (not owned) */
    GHashTable *queues;   /* "uid/vm" -> VmQueue* */
    GHashTable *inflight; /* "uid/layout/vm/taken" */
    GHashTable *running;  /* Cmd*: in the service now */
    guint rescan_id;
    guint watch_id;
    gboolean no_group_said;
    gboolean stopping;
};

static void helper_start(Helper *helper);
static void run_next(WirtSpool *spool, const char *qkey);

/* --------------------------------------------------------- the helpers */

static gboolean on_helper_out(gint fd G_GNUC_UNUSED, GIOCondition cond G_GNUC_UNUSED,
                              gpointer user_data);

static void
helper_flush(Helper *helper)
{
    GBytes *bytes;

    while (helper->fd >= 0 && (bytes = g_queue_peek_head(&helper->out))) {
        gsize len;
        const guint8 *data = g_bytes_get_data(bytes, &len);
        ssize_t n = send(helper->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!helper->out_id)
                helper->out_id = g_unix_fd_add(helper->fd, G_IO_OUT, on_helper_out, helper);
            return;
        }
        /* Sent, or the helper is gone (its restart re-attaches and rescans). */
        g_bytes_unref(g_queue_pop_head(&helper->out));
    }
    if (helper->out_id) {
        g_source_remove(helper->out_id);
        helper->out_id = 0;
    }
}

static gboolean
on_helper_out(gint fd G_GNUC_UNUSED, GIOCondition cond G_GNUC_UNUSED, gpointer user_data)
{
    Helper *helper = user_data;

    helper->out_id = 0;
    helper_flush(helper);
    return helper->out_id ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
helper_send(Helper *helper, const char *op, GVariantBuilder *args)
{
    if (helper->fd < 0)
        return; /* restarting: it rescans and re-attaches when back */
    if (g_queue_get_length(&helper->out) >= OUT_QUEUE_MAX && !g_str_equal(op, "done")) {
        g_warning("files: helper %u is not keeping up; dropped a %s", helper->index, op);
        g_variant_builder_clear(args);
        return;
    }
    g_queue_push_tail(&helper->out, wirt_userfs_encode(op, g_variant_builder_end(args)));
    if (!helper->out_id)
        helper_flush(helper);
}

static void
args_init(GVariantBuilder *b, uid_t uid)
{
    g_variant_builder_init(b, G_VARIANT_TYPE("a{sv}"));
    if (uid)
        g_variant_builder_add(b, "{sv}", "uid", g_variant_new_uint32(uid));
}

static void
member_attach(WirtSpool *spool, Member *m)
{
    GVariantBuilder b;

    args_init(&b, m->uid);
    g_variant_builder_add(&b, "{sv}", "gid", g_variant_new_uint32(m->gid));
    g_variant_builder_add(&b, "{sv}", "user", g_variant_new_string(m->name));
    g_variant_builder_add(&b, "{sv}", "home", g_variant_new_string(m->home));
    g_variant_builder_add(&b, "{sv}", "groups",
                          g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, m->gids->data,
                                                    m->gids->len, sizeof(guint32)));
    helper_send(m->helper, "attach", &b);
    (void)spool;
}

static void
helper_stop(Helper *helper)
{
    g_clear_handle_id(&helper->in_id, g_source_remove);
    g_clear_handle_id(&helper->out_id, g_source_remove);
    if (helper->fd >= 0) {
        close(helper->fd); /* the helper exits on EOF */
        helper->fd = -1;
    }
    g_queue_clear_full(&helper->out, (GDestroyNotify)g_bytes_unref);
    g_clear_object(&helper->proc);
}

static gboolean
on_restart(gpointer user_data)
{
    Helper *helper = user_data;
    GHashTableIter it;
    gpointer value;

    helper->restart_id = 0;
    helper_start(helper);
    if (helper->fd < 0)
        return G_SOURCE_REMOVE;
    g_hash_table_iter_init(&it, helper->spool->members);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (((Member *)value)->helper == helper)
            member_attach(helper->spool, value);
    return G_SOURCE_REMOVE;
}

static void
helper_died(Helper *helper)
{
    if (helper->spool->stopping)
        return;
    /* A message, not a warning: the files API carries on (taken files run again). */
    g_message("files: helper %u stopped; restarting it in %d ms", helper->index, RESTART_DELAY_MS);
    helper_stop(helper);
    if (!helper->restart_id)
        helper->restart_id = g_timeout_add(RESTART_DELAY_MS, on_restart, helper);
}

/* -------------------------------------------------------- info writing */

static Member *
member_by_uid(WirtSpool *spool, uid_t uid)
{
    return g_hash_table_lookup(spool->members, GUINT_TO_POINTER(uid));
}

static void
last_result_free(gpointer data)
{
    LastResult *r = data;

    g_free(r->command);
    g_free(r->error);
    g_free(r->time);
    g_free(r);
}

static void
json_member(GString *out, const char *name, const char *value, gboolean *first)
{
    g_string_append(out, *first ? "{" : ",");
    *first = FALSE;
    wirt_api_append_json_string(out, name);
    g_string_append_c(out, ':');
    if (value)
        wirt_api_append_json_string(out, value);
    else
        g_string_append(out, "null");
}

/* status.json: the VM's state now and how its last command through any door ended. */
static char *
status_json(const char *name, const WirtVm *vm, const LastResult *last)
{
    GString *out = g_string_new(NULL);
    g_autofree char *now = wirt_util_iso8601_now();
    gboolean first = TRUE;

    json_member(out, "name", name, &first);
    json_member(out, "state", vm ? wirt_vm_state_to_string(vm->state) : "absent", &first);
    g_string_append_printf(out, ",\"ok\":%s", !last || last->ok ? "true" : "false");
    json_member(out, "command", last ? last->command : NULL, &first);
    json_member(out, "error", last ? last->error : NULL, &first);
    json_member(out, "command_time", last ? last->time : NULL, &first);
    json_member(out, "updated", now, &first);
    g_string_append(out, "}\n");
    return g_string_free(out, FALSE);
}

/* settings.json: what the VM is set to (the names a config command takes). */
static char *
settings_json(const WirtVm *vm)
{
    GString *out = g_string_new(NULL);
    gboolean first = TRUE;

    json_member(out, "name", vm->name, &first);
    g_string_append_printf(out, ",\"memory\":%" G_GUINT64_FORMAT ",\"cpus\":%u", vm->memory_mib,
                           vm->vcpus);
    g_string_append_printf(out, ",\"autostart\":%s,\"persistent\":%s",
                           vm->autostart ? "true" : "false", vm->persistent ? "true" : "false");
    json_member(out, "pool", vm->pool, &first);
    json_member(out, "node", vm->node, &first);
    json_member(out, "created", vm->created, &first);
    json_member(out, "created_by", vm->created_by, &first);
    json_member(out, "door", vm->door, &first);
    g_string_append(out, "}\n");
    return g_string_free(out, FALSE);
}

/* The (VM, status.json, settings.json) item of an "info" message, for @name of @m:
 * from @known, or the cache, or "absent" (no settings.json). */
static GVariant *
info_item(WirtSpool *spool, Member *m, const char *name, const WirtVm *known)
{
    g_autoptr(WirtVm) found = NULL;
    const WirtVm *vm = known;
    g_autofree char *status = NULL;
    g_autofree char *settings = NULL;

    if (!vm)
        vm = found = wirt_service_owned_vm(spool->service, m->name, name);
    status = status_json(name, vm, g_hash_table_lookup(m->last, name));
    if (vm)
        settings = settings_json(vm);
    return g_variant_new("(s@ay@ay)", name,
                         g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, status, strlen(status), 1),
                         g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, settings ? settings : "",
                                                   settings ? strlen(settings) : 0, 1));
}

static void
send_info(Member *m, GVariantBuilder *items)
{
    GVariantBuilder b;

    args_init(&b, m->uid);
    g_variant_builder_add(&b, "{sv}", "items", g_variant_builder_end(items));
    helper_send(m->helper, "info", &b);
}

/* Writes info/vm/NAME/ for @name of @m from @known, the cache, or "absent". */
static void
write_info(WirtSpool *spool, Member *m, const char *name, const WirtVm *known)
{
    GVariantBuilder items;

    g_variant_builder_init(&items, G_VARIANT_TYPE("a(sayay)"));
    g_variant_builder_add_value(&items, info_item(spool, m, name, known));
    send_info(m, &items);
}

static void
send_append(Member *m, const char *log, const char *vm, const char *line)
{
    GVariantBuilder b;

    args_init(&b, m->uid);
    g_variant_builder_add(&b, "{sv}", "log", g_variant_new_string(log));
    g_variant_builder_add(&b, "{sv}", "vm", g_variant_new_string(vm ? vm : ""));
    g_variant_builder_add(&b, "{sv}", "line", g_variant_new_string(line));
    helper_send(m->helper, "append", &b);
}

/* One line of logs/vm/NAME.log: "TIME ACTION (DETAIL) by USER via DOOR: ok|error: MESSAGE". */
static char *
vm_log_line(const WirtHistoryRecord *rec)
{
    g_autofree char *message = rec->error ? g_strdelimit(g_strdup(rec->error), "\r\n", ' ') : NULL;

    return g_strdup_printf("%s %s%s%s%s by %s via %s: %s%s%s", rec->time, rec->action,
                           rec->detail ? " (" : "", rec->detail ? rec->detail : "",
                           rec->detail ? ")" : "", rec->actor, rec->door, rec->ok ? "ok" : "error",
                           message ? ": " : "", message ? message : "");
}

/* The service's history hook: a member's VM actions reach their ~/wirt/logs. */
static void
on_record(const WirtHistoryRecord *rec, gpointer user_data)
{
    WirtSpool *spool = user_data;
    const char *who = rec->owner ? rec->owner : rec->actor;
    Member *m = who ? g_hash_table_lookup(spool->by_name, who) : NULL;
    g_autofree char *line = NULL;

    if (!m)
        return;
    line = wirt_history_record_to_line(rec);
    send_append(m, "history", NULL, line);
    if (rec->vm && rec->owner && wirt_name_validate(rec->vm, NULL)) {
        g_autofree char *vm_line = vm_log_line(rec);
        send_append(m, "vm", rec->vm, vm_line);
    }
}

/* The service's events: keep every member's info/ true, whoever changed the VM. */
static void
on_vm_event(WirtVmChange change, WirtVm *vm, gpointer user_data)
{
    WirtSpool *spool = user_data;
    Member *m = vm->owner ? g_hash_table_lookup(spool->by_name, vm->owner) : NULL;

    if (!m || !wirt_name_validate(vm->name, NULL))
        return;
    write_info(spool, m, vm->name, change == WIRT_VM_CHANGE_REMOVED ? NULL : vm);
}

/* ~/wirt appeared: write info/ for every VM the member has. */
static void
fill_tree(WirtSpool *spool, Member *m)
{
    g_autoptr(GPtrArray) vms = wirt_service_owned_vms(spool->service, m->name);
    GVariantBuilder items;

    g_variant_builder_init(&items, G_VARIANT_TYPE("a(sayay)"));
    for (guint i = 0; i < vms->len; i++) {
        WirtVm *vm = g_ptr_array_index(vms, i);
        if (g_strcmp0(vm->owner, m->name) == 0 && wirt_name_validate(vm->name, NULL))
            g_variant_builder_add_value(&items, info_item(spool, m, vm->name, vm));
    }
    send_info(m, &items); /* one visit of info/ for all of them */
}

/* ------------------------------------------------------------ mail */

static void
mail_error(WirtSpool *spool, Member *m, const char *vm, const char *text)
{
    const char *argv[] = {SENDMAIL, "-oi", "-t", NULL};
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *message = NULL;
    gint64 now = g_get_monotonic_time();

    if (!spool->config->files.mail || !g_file_test(SENDMAIL, G_FILE_TEST_IS_EXECUTABLE) ||
        !wirt_name_validate_owner(m->name, NULL))
        return;
    if (m->last_mail &&
        now - m->last_mail < (gint64)spool->config->files.mail_interval * G_USEC_PER_SEC) {
        m->mails_held++;
        return;
    }
    m->last_mail = now;
    message = g_strdup_printf("To: %s, root\nSubject: wirt: %s: a command failed\n"
                              "Auto-Submitted: auto-generated\n\n%s\n\n%s%s",
                              m->name, vm, text,
                              m->mails_held ? "Errors not mailed since the last mail: " : "",
                              m->mails_held ? "see ~/wirt/logs/history.log\n" : "");
    m->mails_held = 0;
    proc = g_subprocess_newv(argv,
                             G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                 G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                             &error);
    if (!proc) {
        g_warning("files: mail: %s", error->message);
        return;
    }
    /* Small: fits the pipe; the child is reaped by GLib's child watch. */
    g_subprocess_communicate_utf8_async(proc, message, NULL, NULL, NULL);
}

/* ------------------------------------------------------------ commands */

static void
cmd_free(Cmd *cmd)
{
    g_free(cmd->layout);
    g_free(cmd->vm);
    g_free(cmd->action);
    g_free(cmd->taken);
    g_free(cmd->error);
    g_free(cmd->key);
    g_clear_pointer(&cmd->data, g_bytes_unref);
    wirt_command_clear(&cmd->cmd);
    g_free(cmd);
}

static char *
queue_key(uid_t uid, const char *vm)
{
    return g_strdup_printf("%u/%s", (guint)uid, vm);
}

/* Ends @cmd: status, logs (for errors the service never saw), mail, then "done". */
static void
cmd_finish(Cmd *cmd, const WirtVm *vm, gboolean vm_known, const GError *error, gboolean recorded)
{
    WirtSpool *spool = cmd->spool;
    Member *m = member_by_uid(spool, cmd->uid);
    g_autofree char *qkey = queue_key(cmd->uid, cmd->vm);
    VmQueue *q = g_hash_table_lookup(spool->queues, qkey);
    g_autofree char *message = NULL;
    GVariantBuilder b;

    if (m) {
        LastResult *last = g_new0(LastResult, 1);
        last->command = cmd->parsed ? wirt_command_describe(&cmd->cmd) : g_strdup(cmd->action);
        last->ok = error == NULL;
        last->error = error ? g_strdup(error->message) : NULL;
        last->time = wirt_util_iso8601_now();
        g_hash_table_replace(m->last, g_strdup(cmd->vm), last);
        if (error && !recorded) {
            /* Refused before the service: the member's logs still say so. */
            WirtHistoryRecord rec = {
                .time = last->time,
                .actor = m->name,
                .uid = m->uid,
                .door = (char *)wirt_door_to_string(WIRT_DOOR_FILES),
                .owner = m->name,
                .vm = cmd->vm,
                .action = cmd->action,
                .ok = FALSE,
                .error = error->message,
            };
            g_autofree char *line = wirt_history_record_to_line(&rec);
            g_autofree char *vm_line = vm_log_line(&rec);
            send_append(m, "history", NULL, line);
            send_append(m, "vm", cmd->vm, vm_line);
        }
        if (g_str_equal(cmd->layout, "wirt"))
            write_info(spool, m, cmd->vm, vm_known ? vm : NULL);
        if (error)
            mail_error(spool, m, cmd->vm, error->message);
        message = error ? g_strdup(error->message)
                        : g_strdup_printf("%s %s", cmd->action,
                                          vm ? wirt_vm_state_to_string(vm->state) : "done");
        args_init(&b, m->uid);
        g_variant_builder_add(&b, "{sv}", "layout", g_variant_new_string(cmd->layout));
        g_variant_builder_add(&b, "{sv}", "vm", g_variant_new_string(cmd->vm));
        g_variant_builder_add(&b, "{sv}", "taken", g_variant_new_string(cmd->taken));
        g_variant_builder_add(&b, "{sv}", "action", g_variant_new_string(cmd->action));
        g_variant_builder_add(&b, "{sv}", "ok", g_variant_new_boolean(error == NULL));
        g_variant_builder_add(&b, "{sv}", "message", g_variant_new_string(message));
        helper_send(m->helper, "done", &b);
    }
    g_hash_table_remove(spool->inflight, cmd->key);
    if (q)
        q->running = FALSE;
    cmd_free(cmd);
    run_next(spool, qkey);
}

static void cmd_run(Cmd *cmd);

static void
on_service_done(GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer user_data)
{
    Cmd *cmd = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) vm = wirt_service_finish(result, &error);

    if (!cmd->spool) { /* wirtd is stopping: the file stays taken and runs again at start */
        cmd_free(cmd);
        return;
    }
    g_hash_table_remove(cmd->spool->running, cmd);
    if (!error && cmd->cmd.action == WIRT_ACTION_CONFIGURE && cmd->cmd.set_autostart &&
        !cmd->autostart_step && (cmd->cmd.memory_mib || cmd->cmd.vcpus)) {
        cmd->autostart_step = TRUE; /* memory/cpus done; now the autostart part */
        cmd_run(cmd);
        return;
    }
    cmd_finish(cmd, vm, !error && cmd->cmd.action != WIRT_ACTION_DELETE, error, TRUE);
}

static void
cmd_run(Cmd *cmd)
{
    WirtSpool *spool = cmd->spool;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtActor) actor = NULL;
    WirtActionParams params = {0};
    WirtAction action = cmd->cmd.action;

    if (cmd->error) {
        g_autofree char *where = g_strdup_printf("%s/%s", cmd->vm, cmd->action);
        error = g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID, "%s: %s", where, cmd->error);
        cmd_finish(cmd, NULL, FALSE, error, FALSE);
        return;
    }
    if (!(actor = wirt_service_actor_for_uid(spool->service, cmd->uid, WIRT_DOOR_FILES, &error))) {
        cmd_finish(cmd, NULL, FALSE, error, FALSE);
        return;
    }
    if (!cmd->parsed) {
        gsize len;
        const char *data = g_bytes_get_data(cmd->data, &len);
        if (!wirt_command_parse(cmd->action, data ? data : "", len, &cmd->cmd, &error)) {
            cmd_finish(cmd, NULL, FALSE, error, FALSE);
            return;
        }
        cmd->parsed = TRUE;
        action = cmd->cmd.action;
    }
    if (action == WIRT_ACTION_CREATE) {
        WirtVmSpec spec = {
            .owner = actor->user,
            .name = cmd->vm,
            .memory_mib = cmd->cmd.memory_mib,
            .vcpus = cmd->cmd.vcpus,
            .pool = cmd->cmd.pool,
            .node = cmd->cmd.node,
        };
        g_hash_table_add(spool->running, cmd);
        wirt_service_create_async(spool->service, actor, &spec, on_service_done, cmd);
        return;
    }
    params.force = cmd->cmd.force;
    params.timeout = cmd->cmd.timeout;
    params.enable = cmd->cmd.enable;
    if (action == WIRT_ACTION_CONFIGURE) {
        if (cmd->autostart_step || (!cmd->cmd.memory_mib && !cmd->cmd.vcpus)) {
            action = WIRT_ACTION_AUTOSTART;
        } else {
            params.memory_mib = cmd->cmd.memory_mib;
            params.vcpus = cmd->cmd.vcpus;
        }
    }
    g_hash_table_add(spool->running, cmd);
    wirt_service_vm_action_async(spool->service, actor, NULL, cmd->vm, action, &params,
                                 on_service_done, cmd);
}

static void
vm_queue_free(gpointer data)
{
    VmQueue *q = data;

    g_queue_clear_full(&q->cmds, (GDestroyNotify)cmd_free);
    g_free(q);
}

static void
run_next(WirtSpool *spool, const char *qkey)
{
    VmQueue *q = g_hash_table_lookup(spool->queues, qkey);

    if (!q || q->running)
        return;
    if (g_queue_is_empty(&q->cmds)) {
        g_hash_table_remove(spool->queues, qkey);
        return;
    }
    q->running = TRUE;
    cmd_run(g_queue_pop_head(&q->cmds));
}

static gint
cmd_compare(gconstpointer a, gconstpointer b, gpointer user_data G_GNUC_UNUSED)
{
    const Cmd *x = a, *y = b;

    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime ? 1 : 0;
}

static void
handle_command(WirtSpool *spool, GVariant *args)
{
    guint32 uid;
    const char *layout, *vm, *action, *taken, *error;
    gint64 mtime;
    g_autoptr(GVariant) data = g_variant_lookup_value(args, "data", G_VARIANT_TYPE("ay"));
    g_autofree char *key = NULL;
    g_autofree char *qkey = NULL;
    VmQueue *q;
    Cmd *cmd;

    if (!data || !g_variant_lookup(args, "uid", "u", &uid) ||
        !g_variant_lookup(args, "layout", "&s", &layout) ||
        !g_variant_lookup(args, "vm", "&s", &vm) ||
        !g_variant_lookup(args, "action", "&s", &action) ||
        !g_variant_lookup(args, "taken", "&s", &taken) ||
        !g_variant_lookup(args, "mtime", "x", &mtime) ||
        !g_variant_lookup(args, "error", "&s", &error) || !member_by_uid(spool, uid) ||
        (!g_str_equal(layout, "wirt") && !g_str_equal(layout, "legacy")) ||
        !wirt_name_validate(vm, NULL))
        return;
    key = g_strdup_printf("%u/%s/%s/%s", uid, layout, vm, taken);
    if (g_hash_table_contains(spool->inflight, key))
        return; /* a rescan saw a command that is still running */
    cmd = g_new0(Cmd, 1);
    cmd->spool = spool;
    cmd->uid = uid;
    cmd->layout = g_strdup(layout);
    cmd->vm = g_strdup(vm);
    cmd->action = g_strdup(action);
    cmd->taken = g_strdup(taken);
    cmd->mtime = mtime;
    cmd->data = g_variant_get_data_as_bytes(data);
    cmd->error = *error ? g_strdup(error) : NULL;
    cmd->key = g_strdup(key);
    g_hash_table_add(spool->inflight, g_steal_pointer(&key));
    qkey = queue_key(uid, vm);
    if (!(q = g_hash_table_lookup(spool->queues, qkey))) {
        q = g_new0(VmQueue, 1);
        g_queue_init(&q->cmds);
        g_hash_table_insert(spool->queues, g_strdup(qkey), q);
    }
    g_queue_insert_sorted(&q->cmds, cmd, cmd_compare, NULL);
    run_next(spool, qkey);
}

static void
handle_problem(WirtSpool *spool, GVariant *args)
{
    guint32 uid;
    const char *message;
    Member *m;
    g_autofree char *now = wirt_util_iso8601_now();
    g_autofree char *line = NULL;

    if (!g_variant_lookup(args, "uid", "u", &uid) ||
        !g_variant_lookup(args, "message", "&s", &message) || !(m = member_by_uid(spool, uid)))
        return;
    /* The member reads it in logs/history.log, as a refused files-door action. */
    {
        WirtHistoryRecord rec = {
            .time = now,
            .actor = m->name,
            .uid = m->uid,
            .door = (char *)wirt_door_to_string(WIRT_DOOR_FILES),
            .owner = m->name,
            .action = (char *)"files",
            .ok = FALSE,
            .error = (char *)message,
        };
        line = wirt_history_record_to_line(&rec);
    }
    send_append(m, "history", NULL, line);
    g_message("files: %s: %s", m->name, message);
}

static gboolean
on_helper_in(gint fd G_GNUC_UNUSED, GIOCondition cond, gpointer user_data)
{
    Helper *helper = user_data;
    WirtSpool *spool = helper->spool;

    for (guint i = 0; i < 256; i++) { /* then let the rest of the loop run */
        g_autofree guint8 *data = NULL;
        g_autofree char *op = NULL;
        g_autoptr(GVariant) args = NULL;
        g_autoptr(GError) error = NULL;
        gsize len;
        int r = wirt_userfs_recv(helper->fd, &data, &len);

        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r < 0 && errno == EMSGSIZE)
            continue;
        if (r <= 0) {
            helper->in_id = 0;
            helper_died(helper);
            return G_SOURCE_REMOVE;
        }
        if (!wirt_userfs_decode(data, len, &op, &args, &error)) {
            g_warning("files: helper %u: %s", helper->index, error->message);
            continue;
        }
        if (g_str_equal(op, "command")) {
            handle_command(spool, args);
        } else if (g_str_equal(op, "problem")) {
            handle_problem(spool, args);
        } else if (g_str_equal(op, "tree")) {
            guint32 uid;
            Member *m;
            if (g_variant_lookup(args, "uid", "u", &uid) && (m = member_by_uid(spool, uid)))
                fill_tree(spool, m);
        }
    }
    if (cond & (G_IO_HUP | G_IO_ERR)) {
        helper->in_id = 0;
        helper_died(helper);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void
helper_start(Helper *helper)
{
    const WirtFilesConfig *f = &helper->spool->config->files;
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_INHERIT_FDS);
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        g_warning("files: socketpair: %s", g_strerror(errno));
        return;
    }
    g_ptr_array_add(argv, g_strdup(helper->spool->helper_path));
    g_ptr_array_add(argv, g_strdup_printf("--dir=%s", f->dir));
    if (f->legacy_dir)
        g_ptr_array_add(argv, g_strdup_printf("--legacy-dir=%s", f->legacy_dir));
    g_ptr_array_add(argv, g_strdup_printf("--max-command-bytes=%u", f->max_command_bytes));
    g_ptr_array_add(argv, g_strdup_printf("--max-pending=%u", f->max_pending));
    g_ptr_array_add(argv, g_strdup_printf("--log-max-bytes=%" G_GUINT64_FORMAT, f->log_max_bytes));
    g_ptr_array_add(argv, g_strdup_printf("--log-keep=%u", f->log_keep));
    g_ptr_array_add(argv, NULL);
    g_subprocess_launcher_take_fd(launcher, sv[1], 3);
    helper->proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &error);
    if (!helper->proc) {
        g_warning("files: cannot start %s: %s", helper->spool->helper_path, error->message);
        close(sv[0]);
        if (!helper->restart_id)
            helper->restart_id = g_timeout_add(RESTART_DELAY_MS * 10, on_restart, helper);
        return;
    }
    /* The launcher closes its copy of sv[1] when it is freed. */
    helper->fd = sv[0];
    (void)g_unix_set_fd_nonblocking(helper->fd, TRUE, NULL);
    helper->in_id = g_unix_fd_add(helper->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_helper_in, helper);
}

/* ------------------------------------------------------------ members */

static void
member_free(gpointer data)
{
    Member *m = data;

    g_free(m->name);
    g_free(m->home);
    g_array_unref(m->gids);
    g_hash_table_unref(m->last);
    g_free(m);
}

static gboolean
same_gids(GArray *a, GArray *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len * sizeof(guint32)) == 0;
}

/* One account as NSS gave it, with every group it is in. */
typedef struct {
    char *name;
    uid_t uid;
    gid_t gid;
    char *home;
    GArray *gids; /* guint32, the primary group first */
} Account;

static void
account_free(gpointer data)
{
    Account *a = data;

    g_free(a->name);
    g_free(a->home);
    g_array_unref(a->gids);
    g_free(a);
}

static Account *
account_new(const struct passwd *pw)
{
    Account *a = g_new0(Account, 1);
    guint32 gid = pw->pw_gid;

    a->name = g_strdup(pw->pw_name);
    a->uid = pw->pw_uid;
    a->gid = pw->pw_gid;
    a->home = g_strdup(pw->pw_dir);
    a->gids = g_array_new(FALSE, FALSE, sizeof(guint32));
    g_array_append_val(a->gids, gid);
    return a;
}

static void
consider(WirtSpool *spool, Account *a)
{
    Member *m;

    if (a->uid == 0 || !a->home || !g_path_is_absolute(a->home))
        return;
    m = member_by_uid(spool, a->uid);
    if (m && g_str_equal(m->name, a->name) && g_str_equal(m->home, a->home) && m->gid == a->gid &&
        same_gids(m->gids, a->gids)) {
        m->seen = TRUE;
        return;
    }
    if (m) {
        g_hash_table_remove(spool->by_name, m->name);
        g_free(m->name);
        g_free(m->home);
        g_array_unref(m->gids);
    } else {
        m = g_new0(Member, 1);
        m->uid = a->uid;
        m->last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, last_result_free);
        m->helper = g_ptr_array_index(spool->helpers, a->uid % spool->helpers->len);
        g_hash_table_insert(spool->members, GUINT_TO_POINTER(m->uid), m);
    }
    m->name = g_strdup(a->name);
    m->home = g_strdup(a->home);
    m->gid = a->gid;
    m->gids = g_array_ref(a->gids);
    m->seen = TRUE;
    g_hash_table_insert(spool->by_name, m->name, m);
    member_attach(spool, m);
}

/* Who is in user-group now (listed in the group, or with it as primary group), with
 * their groups, attached or detached to match. Two passes over NSS (getpwent,
 * getgrent) instead of a lookup per member: with files, each lookup reads the whole
 * file, which made 1,000 members cost a million lines. Names the enumeration did
 * not list (LDAP with enumeration off) are looked up one by one. */
static void
scan_members(WirtSpool *spool)
{
    const char *group = spool->config->user_group;
    g_autoptr(GHashTable) accounts =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, account_free);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);
    struct group *gr = getgrnam(group);
    struct passwd *pw;
    GHashTableIter it;
    gpointer value;
    gid_t gid;

    g_hash_table_iter_init(&it, spool->members);
    while (g_hash_table_iter_next(&it, NULL, &value))
        ((Member *)value)->seen = FALSE;
    if (!gr) {
        if (!spool->no_group_said)
            g_message("files: group %s does not exist: nobody uses the files API", group);
        spool->no_group_said = TRUE;
    } else {
        gid = gr->gr_gid;
        for (char **mem = gr->gr_mem; mem && *mem; mem++)
            g_ptr_array_add(names, g_strdup(*mem));
        setpwent();
        while ((pw = getpwent())) {
            Account *a = account_new(pw);
            if (!g_hash_table_insert(accounts, a->name, a))
                continue; /* a second source with the same name: the first wins */
            if (pw->pw_gid == gid)
                g_ptr_array_add(names, g_strdup(pw->pw_name));
        }
        endpwent();
        setgrent();
        while ((gr = getgrent())) {
            for (char **mem = gr->gr_mem; mem && *mem; mem++) {
                Account *a = g_hash_table_lookup(accounts, *mem);
                guint32 g = gr->gr_gid;
                if (a && g != a->gid)
                    g_array_append_val(a->gids, g);
            }
        }
        endgrent();
        for (guint i = 0; i < names->len; i++) {
            const char *name = g_ptr_array_index(names, i);
            Account *a = g_hash_table_lookup(accounts, name);
            if (g_hash_table_contains(done, name))
                continue;
            if (!a && (pw = getpwnam(name))) {
                a = account_new(pw);
                g_array_unref(a->gids);
                a->gids = wirt_util_group_ids(pw->pw_name, pw->pw_gid);
                g_hash_table_insert(accounts, a->name, a);
            }
            if (!a)
                continue;
            g_hash_table_add(done, a->name);
            consider(spool, a);
        }
    }
    g_hash_table_iter_init(&it, spool->members);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        Member *m = value;
        GVariantBuilder b;
        if (m->seen)
            continue;
        args_init(&b, m->uid);
        helper_send(m->helper, "detach", &b);
        g_hash_table_remove(spool->by_name, m->name);
        g_hash_table_iter_remove(&it);
    }
}

static gboolean
on_rescan(gpointer user_data)
{
    WirtSpool *spool = user_data;

    scan_members(spool);
    for (guint i = 0; i < spool->helpers->len; i++) {
        GVariantBuilder b;
        args_init(&b, 0);
        helper_send(g_ptr_array_index(spool->helpers, i), "rescan", &b);
    }
    return G_SOURCE_CONTINUE;
}

static void
helper_free(gpointer data)
{
    Helper *helper = data;

    g_clear_handle_id(&helper->restart_id, g_source_remove);
    helper_stop(helper);
    g_free(helper);
}

/**
 * wirt_spool_new:
 * @helper_path: the wirt-userfs binary
 * Returns: (transfer full): the running files front door, or %NULL with @error
 */
WirtSpool *
wirt_spool_new(WirtService *service, const char *helper_path, GError **error)
{
    WirtSpool *spool;
    const WirtConfig *config = wirt_service_get_config(service);

    if (!g_file_test(helper_path, G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                    "files: %s is missing; it is needed while [files] enabled=true", helper_path);
        return NULL;
    }
    spool = g_new0(WirtSpool, 1);
    spool->service = service;
    spool->config = config;
    spool->helper_path = g_strdup(helper_path);
    spool->helpers = g_ptr_array_new_with_free_func(helper_free);
    spool->members = g_hash_table_new_full(NULL, NULL, NULL, member_free);
    spool->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    spool->queues = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, vm_queue_free);
    spool->inflight = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    spool->running = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < config->files.helpers; i++) {
        Helper *helper = g_new0(Helper, 1);
        helper->spool = spool;
        helper->index = i;
        helper->fd = -1;
        g_queue_init(&helper->out);
        g_ptr_array_add(spool->helpers, helper);
        helper_start(helper);
    }
    wirt_service_set_record_func(service, on_record, spool);
    spool->watch_id = wirt_service_watch_all(service, on_vm_event, spool);
    scan_members(spool);
    spool->rescan_id = g_timeout_add_seconds(config->files.rescan_seconds, on_rescan, spool);
    return spool;
}

guint
wirt_spool_count_members(WirtSpool *spool)
{
    return g_hash_table_size(spool->members);
}

void
wirt_spool_free(WirtSpool *spool)
{
    if (!spool)
        return;
    spool->stopping = TRUE;
    wirt_service_set_record_func(spool->service, NULL, NULL);
    wirt_service_watch_remove(spool->service, spool->watch_id);
    g_clear_handle_id(&spool->rescan_id, g_source_remove);
    /* Commands still running finish in the service, which holds no pointer to us:
     * their files stay taken and are run again at the next start. */
    {
        GHashTableIter it;
        gpointer cmd;
        g_hash_table_iter_init(&it, spool->running);
        while (g_hash_table_iter_next(&it, &cmd, NULL))
            ((Cmd *)cmd)->spool = NULL;
        g_hash_table_unref(spool->running);
    }
    g_ptr_array_unref(spool->helpers);
    g_hash_table_unref(spool->queues);
    g_hash_table_unref(spool->inflight);
    g_hash_table_unref(spool->by_name);
    g_hash_table_unref(spool->members);
    g_free(spool->helper_path);
    g_free(spool);
}
