/* wirt-http.c: the HTTP/JSON API on a unix socket.
 *
 * Identity is the peer's SO_PEERCRED uid, which the kernel recorded when the
 * client connected; nothing the client sends can change it, and no PID is
 * looked up later (libvirt CVE-2013-4311 checked polkit by PID and raced).
 * Authentication happens before routing, so someone who is not a member
 * learns nothing, not even which routes exist.
 */
#include "wirt-http.h"
#include "wirt-http-private.h"
#include "wirt-http-auth.h"
#include "wirt-http-resources.h"
#include "service/wirt-addresses.h"

#include <errno.h>
#include <pwd.h>
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/stat.h>

#include "core/wirt-api.h"
#include "core/wirt-error.h"
#include "core/wirt-seed.h"
#include "core/wirt-names.h"
#include "core/wirt-policy.h"
#include "util/wirt-util.h"

#define LISTEN_BACKLOG 128

typedef struct _WirtHttpOp WirtHttpOp;

#define EVENTS_PING_SECONDS 2
#define EVENTS_MAX_UNACKED 4096

struct _WirtHttp {
    WirtService *service;
    const WirtConfig *config;
    SoupServer *server;
    WirtTokens *tokens;
    WirtAuth *auth;
    char *socket_path;
    GList *streams; /* EventStream*: open /1.0/events websockets */
    GPtrArray *ops; /* WirtHttpOp*: operations, running and recently finished */
};

/* One /1.0/events subscriber. libsoup queues outgoing frames without bound and
 * tells nobody how many are waiting, so the stream counts what it sent since
 * the client last answered a ping: a client that stops reading stops answering,
 * and is cut off before the daemon's memory grows (close code 1008). */
typedef struct {
    WirtHttp *self;
    SoupServerMessage *msg; /* until the upgrade is written */
    SoupWebsocketConnection *ws;
    WirtActor *actor;
    guint watch_id;
    guint unacked;
} EventStream;

/* ---------------------------------------------------------------- replies */

void
wirt_http_reply_json(SoupServerMessage *msg, guint status, JsonNode *node)
{
    g_autofree char *text = wirt_api_to_string(node, TRUE);
    gsize len = strlen(text);

    soup_server_message_set_status(msg, status, NULL);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control",
                                 "no-store");
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE,
                                     g_steal_pointer(&text), len);
}

void
wirt_http_reply_error(SoupServerMessage *msg, const GError *error)
{
    g_autoptr(JsonNode) node = wirt_api_error_to_json(error);
    WirtError code = error->domain == WIRT_ERROR ? (WirtError)error->code : WIRT_ERROR_FAILED;

    wirt_http_reply_json(msg, wirt_error_http_status(code), node);
}

void
wirt_http_reply_error_status(SoupServerMessage *msg, guint status, WirtError code,
                             const char *message)
{
    g_autoptr(GError) error = g_error_new_literal(WIRT_ERROR, code, message);
    g_autoptr(JsonNode) node = wirt_api_error_to_json(error);
    JsonObject *err = json_object_get_object_member(json_node_get_object(node), "error");

    json_object_set_int_member(err, "status", status);
    wirt_http_reply_json(msg, status, node);
}

void
wirt_http_reply_vm(SoupServerMessage *msg, guint status, const WirtVm *vm)
{
    g_autoptr(JsonNode) node = wirt_api_vm_to_json(vm);

    wirt_http_reply_json(msg, status, node);
}

/* ------------------------------------------------------------ operations */

/* A change the caller chose not to wait for (Prefer: respond-async): answered
 * 202 at once, then followed at /1.0/operations/ID and on the event stream. */
struct _WirtHttpOp {
    WirtHttp *self; /* NULL once the server is gone */
    char *id;
    uid_t uid;
    char *user;
    char *request; /* "PUT /1.0/vms/web/state" */
    char *status;  /* running, success, failure */
    guint status_code;
    char *created;
    char *updated;
    char *error;
    WirtVm *vm;
    gint64 finished; /* monotonic µs, 0 while running */
};

#define OPS_KEEP_SECONDS 300
#define OPS_PER_USER 100

static void
op_free(gpointer data)
{
    WirtHttpOp *op = data;

    g_free(op->id);
    g_free(op->user);
    g_free(op->request);
    g_free(op->status);
    g_free(op->created);
    g_free(op->updated);
    g_free(op->error);
    g_clear_pointer(&op->vm, wirt_vm_unref);
    g_free(op);
}

static JsonNode *
op_to_json(const WirtHttpOp *op)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, op->id);
    json_builder_set_member_name(b, "request");
    json_builder_add_string_value(b, op->request);
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, op->user);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, op->status);
    json_builder_set_member_name(b, "status_code");
    json_builder_add_int_value(b, op->status_code);
    json_builder_set_member_name(b, "created");
    json_builder_add_string_value(b, op->created);
    json_builder_set_member_name(b, "updated");
    json_builder_add_string_value(b, op->updated);
    json_builder_set_member_name(b, "error");
    if (op->error)
        json_builder_add_string_value(b, op->error);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "vm");
    if (op->vm)
        json_builder_add_value(b, wirt_api_vm_to_json(op->vm));
    else
        json_builder_add_null_value(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void op_broadcast(WirtHttp *self, const WirtHttpOp *op);
static void event_stream_send(EventStream *stream, JsonNode *node);

/* Forgets finished operations older than OPS_KEEP_SECONDS. */
static void
ops_prune(WirtHttp *self)
{
    gint64 now = g_get_monotonic_time();

    for (guint i = self->ops->len; i > 0; i--) {
        WirtHttpOp *op = g_ptr_array_index(self->ops, i - 1);
        if (op->finished && now - op->finished > OPS_KEEP_SECONDS * G_USEC_PER_SEC)
            g_ptr_array_remove_index(self->ops, i - 1);
    }
}

typedef struct {
    SoupServerMessage *msg; /* the paused request, or NULL for an operation */
    guint status;
    WirtHttpOp *op;
} Pending;

void
wirt_http_on_vm_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    Pending *pending = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) vm = wirt_service_finish(res, &error);

    if (pending->msg) {
        if (vm)
            wirt_http_reply_vm(pending->msg, pending->status, vm);
        else
            wirt_http_reply_error(pending->msg, error);
        soup_server_message_unpause(pending->msg);
        g_object_unref(pending->msg);
    } else if (pending->op->self) {
        WirtHttpOp *op = pending->op;
        WirtError code =
            error && error->domain == WIRT_ERROR ? (WirtError)error->code : WIRT_ERROR_FAILED;
        g_free(op->status);
        op->status = g_strdup(vm ? "success" : "failure");
        op->status_code = vm ? pending->status : wirt_error_http_status(code);
        op->error = error ? g_strdup(error->message) : NULL;
        op->vm = vm ? wirt_vm_ref(vm) : NULL;
        g_free(op->updated);
        op->updated = wirt_util_iso8601_now();
        op->finished = g_get_monotonic_time();
        op_broadcast(op->self, op);
    } else {
        op_free(pending->op); /* the server went away while it ran */
    }
    g_free(pending);
}

static gboolean
wants_async(SoupServerMessage *msg)
{
    const char *prefer =
        soup_message_headers_get_list(soup_server_message_get_request_headers(msg), "Prefer");

    return prefer && soup_header_contains(prefer, "respond-async");
}

/* Pauses @msg until the service completes, or, when the caller sent
 * "Prefer: respond-async", answers 202 with a new operation at once. Returns
 * the user_data for wirt_http_on_vm_done(). */
gpointer
wirt_http_pause_for(SoupServerMessage *msg, guint success_status)
{
    Pending *pending = g_new0(Pending, 1);
    WirtHttp *self = g_object_get_data(G_OBJECT(msg), "wirt-http");
    const WirtActor *actor = g_object_get_data(G_OBJECT(msg), "wirt-actor");
    guint mine = 0;

    pending->status = success_status ? success_status : SOUP_STATUS_OK;
    if (self && actor && wants_async(msg)) {
        ops_prune(self);
        for (guint i = 0; i < self->ops->len; i++)
            mine += ((WirtHttpOp *)g_ptr_array_index(self->ops, i))->uid == actor->uid;
        if (mine < OPS_PER_USER) {
            WirtHttpOp *op = g_new0(WirtHttpOp, 1);
            g_autoptr(JsonNode) node = NULL;
            g_autofree char *location = NULL;

            op->self = self;
            op->id = g_uuid_string_random();
            op->uid = actor->uid;
            op->user = g_strdup(actor->user);
            op->request = g_strdup_printf("%s %s", soup_server_message_get_method(msg),
                                          g_uri_get_path(soup_server_message_get_uri(msg)));
            op->status = g_strdup("running");
            op->status_code = SOUP_STATUS_ACCEPTED;
            op->created = wirt_util_iso8601_now();
            op->updated = g_strdup(op->created);
            g_ptr_array_add(self->ops, op);
            pending->op = op;
            location = g_strdup_printf("/1.0/operations/%s", op->id);
            soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Location",
                                         location);
            node = op_to_json(op);
            wirt_http_reply_json(msg, SOUP_STATUS_ACCEPTED, node);
            op_broadcast(self, op);
            return pending;
        }
        /* Too many kept: fall back to answering when done. */
    }
    pending->msg = g_object_ref(msg);
    soup_server_message_pause(msg);
    return pending;
}

/* ----------------------------------------------------------------- bodies */

JsonObject *
wirt_http_read_body(WirtHttpRequest *req, const char *const *allowed, GError **error)
{
    SoupMessageBody *body = soup_server_message_get_request_body(req->msg);
    g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
    gsize len = 0;
    const char *data = g_bytes_get_data(bytes, &len);
    const char *ctype = soup_message_headers_get_content_type(
        soup_server_message_get_request_headers(req->msg), NULL);
    g_autoptr(JsonObject) obj = NULL;
    g_autoptr(GList) members = NULL;

    if (ctype && !g_str_equal(ctype, "application/json")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_MEDIA_TYPE,
                    "request body must be application/json, not %s", ctype);
        return NULL;
    }
    if (!(obj = wirt_api_parse_object(data ? data : "", len, error)))
        return NULL;
    members = json_object_get_members(obj);
    for (GList *l = members; l; l = l->next) {
        if (!g_strv_contains(allowed, l->data)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "unknown field '%s'",
                        (const char *)l->data);
            return NULL;
        }
    }
    return g_steal_pointer(&obj);
}

gboolean
wirt_http_get_string_member(JsonObject *obj, const char *key, gboolean required, const char **out,
                            GError **error)
{
    JsonNode *node = json_object_get_member(obj, key);

    if (!node || JSON_NODE_HOLDS_NULL(node)) {
        if (required) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "missing field '%s'", key);
            return FALSE;
        }
        *out = NULL;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "field '%s' must be a string", key);
        return FALSE;
    }
    *out = json_node_get_string(node);
    return TRUE;
}

gboolean
wirt_http_get_int_member(JsonObject *obj, const char *key, gint64 min, gint64 max, gint64 *inout,
                         GError **error)
{
    JsonNode *node = json_object_get_member(obj, key);

    if (!node || JSON_NODE_HOLDS_NULL(node))
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64 ||
        json_node_get_int(node) < min || json_node_get_int(node) > max) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "field '%s' must be a whole number from %" G_GINT64_FORMAT
                    " to %" G_GINT64_FORMAT,
                    key, min, max);
        return FALSE;
    }
    *inout = json_node_get_int(node);
    return TRUE;
}

gboolean
wirt_http_get_bool_member(JsonObject *obj, const char *key, gboolean required, gboolean *inout,
                          GError **error)
{
    JsonNode *node = json_object_get_member(obj, key);

    if (!node || JSON_NODE_HOLDS_NULL(node)) {
        if (required) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "missing field '%s'", key);
            return FALSE;
        }
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "field '%s' must be true or false", key);
        return FALSE;
    }
    *inout = json_node_get_boolean(node);
    return TRUE;
}

const char *
wirt_http_query(WirtHttpRequest *req, const char *key)
{
    return req->query ? g_hash_table_lookup(req->query, key) : NULL;
}

/* --------------------------------------------------------------- handlers */

static void
handle_root(WirtHttpRequest *req)
{
    g_autoptr(JsonNode) node = wirt_service_whoami(req->self->service, req->actor);

    wirt_http_reply_json(req->msg, SOUP_STATUS_OK, node);
}

static void
handle_vms_list(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) vms = wirt_service_list_vms(req->self->service, req->actor,
                                                     wirt_http_query(req, "owner"), &error);
    GString *out;
    gsize len;

    if (!vms) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    /* Written straight into one buffer, one VM per line: a json-glib tree for
     * 1,000 VMs cost ~8 ms to build, print and free (docs/benchmarks.md). */
    out = g_string_sized_new(64 + vms->len * 420);
    g_string_append_c(out, '[');
    for (guint i = 0; i < vms->len; i++) {
        g_string_append(out, i ? ",\n" : "\n");
        wirt_api_vm_append_json(out, g_ptr_array_index(vms, i));
    }
    g_string_append(out, "\n]\n");
    len = out->len;
    soup_server_message_set_status(req->msg, SOUP_STATUS_OK, NULL);
    soup_message_headers_replace(soup_server_message_get_response_headers(req->msg),
                                 "Cache-Control", "no-store");
    soup_server_message_set_response(req->msg, "application/json", SOUP_MEMORY_TAKE,
                                     g_string_free(out, FALSE), len);
}

/* "ssh_keys": an array of strings (each checked by the service), at most WIRT_SEED_MAX_KEYS. */
static gboolean
get_keys_member(JsonObject *body, char ***out_keys, GError **error)
{
    JsonNode *node = json_object_get_member(body, "ssh_keys");
    g_autoptr(GPtrArray) keys = NULL;
    JsonArray *array;

    if (!node || JSON_NODE_HOLDS_NULL(node))
        return TRUE;
    if (!JSON_NODE_HOLDS_ARRAY(node) ||
        json_array_get_length(array = json_node_get_array(node)) > WIRT_SEED_MAX_KEYS) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "ssh_keys: must be an array of at most %d strings", WIRT_SEED_MAX_KEYS);
        return FALSE;
    }
    keys = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *item = json_array_get_element(array, i);
        if (!JSON_NODE_HOLDS_VALUE(item) || json_node_get_value_type(item) != G_TYPE_STRING) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "ssh_keys[%u]: must be a string", i);
            return FALSE;
        }
        g_ptr_array_add(keys, g_strdup(json_node_get_string(item)));
    }
    g_ptr_array_add(keys, NULL);
    *out_keys = (char **)g_ptr_array_free(g_steal_pointer(&keys), FALSE);
    return TRUE;
}

static void
handle_vms_create(WirtHttpRequest *req)
{
    static const char *const allowed[] = {
        "name",     "memory_mib", "vcpus",   "pool",       "node", "owner",
        "box",      "disk_bytes", "network", "ip",         "mac",  "ssh_keys",
        "ssh_user", "machine",    "nested",  "disk_cache", NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) body = wirt_http_read_body(req, allowed, &error);
    const char *name = NULL, *pool = NULL, *node = NULL, *owner = NULL, *box = NULL;
    const char *network = NULL, *ip = NULL, *mac = NULL, *ssh_user = NULL;
    const char *machine = NULL, *disk_cache = NULL;
    gboolean nested = FALSE;
    gint64 memory = 0, vcpus = 0, disk_bytes = 0;
    g_auto(WirtVmSpec) spec = {0};

    if (!body || !wirt_http_get_string_member(body, "name", TRUE, &name, &error) ||
        !wirt_http_get_string_member(body, "pool", FALSE, &pool, &error) ||
        !wirt_http_get_string_member(body, "node", FALSE, &node, &error) ||
        !wirt_http_get_string_member(body, "owner", FALSE, &owner, &error) ||
        !wirt_http_get_string_member(body, "box", FALSE, &box, &error) ||
        !wirt_http_get_string_member(body, "network", FALSE, &network, &error) ||
        !wirt_http_get_string_member(body, "ip", FALSE, &ip, &error) ||
        !wirt_http_get_string_member(body, "mac", FALSE, &mac, &error) ||
        !wirt_http_get_string_member(body, "ssh_user", FALSE, &ssh_user, &error) ||
        !wirt_http_get_string_member(body, "machine", FALSE, &machine, &error) ||
        !wirt_http_get_string_member(body, "disk_cache", FALSE, &disk_cache, &error) ||
        !wirt_http_get_bool_member(body, "nested", FALSE, &nested, &error) ||
        !wirt_http_get_int_member(body, "memory_mib", 1, G_MAXUINT32, &memory, &error) ||
        !wirt_http_get_int_member(body, "vcpus", 1, 4096, &vcpus, &error) ||
        !wirt_http_get_int_member(body, "disk_bytes", 1, G_MAXINT64, &disk_bytes, &error) ||
        !get_keys_member(body, &spec.ssh_keys, &error)) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    spec.name = g_strdup(name);
    spec.owner = g_strdup(owner);
    spec.pool = g_strdup(pool);
    spec.node = g_strdup(node);
    spec.memory_mib = (guint64)memory;
    spec.vcpus = (guint)vcpus;
    spec.box = g_strdup(box);
    spec.disk_bytes = (guint64)disk_bytes;
    spec.network = g_strdup(network);
    spec.ip = g_strdup(ip);
    spec.mac = g_strdup(mac);
    spec.ssh_user = g_strdup(ssh_user);
    spec.machine = g_strdup(machine);
    spec.disk_cache = g_strdup(disk_cache);
    spec.nested = nested;
    wirt_service_create_async(req->self->service, req->actor, &spec, wirt_http_on_vm_done,
                              wirt_http_pause_for(req->msg, SOUP_STATUS_CREATED));
}

static void
handle_vm_get(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) vm = wirt_service_get_vm(req->self->service, req->actor,
                                               wirt_http_query(req, "owner"), req->name, &error);

    if (vm)
        wirt_http_vm_reply_with_addresses(req, vm); /* wirt-http-ssh.c: running VMs' addresses */
    else
        wirt_http_reply_error(req->msg, error);
}

static void
run_action(WirtHttpRequest *req, WirtAction action, const WirtActionParams *params)
{
    wirt_service_vm_action_async(req->self->service, req->actor, wirt_http_query(req, "owner"),
                                 req->name, action, params, wirt_http_on_vm_done,
                                 wirt_http_pause_for(req->msg, SOUP_STATUS_OK));
}

static void
handle_vm_delete(WirtHttpRequest *req)
{
    run_action(req, WIRT_ACTION_DELETE, NULL);
}

static void
handle_state_get(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) vm = wirt_service_get_vm(req->self->service, req->actor,
                                               wirt_http_query(req, "owner"), req->name, &error);
    g_autoptr(JsonObject) obj = NULL;
    g_autoptr(JsonNode) node = NULL;

    if (!vm) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    obj = json_object_new();
    json_object_set_string_member(obj, "state", wirt_vm_state_to_string(vm->state));
    node = json_node_init_object(json_node_alloc(), obj);
    wirt_http_reply_json(req->msg, SOUP_STATUS_OK, node);
}

static const WirtAction state_actions[] = {
    WIRT_ACTION_START,  WIRT_ACTION_STOP,    WIRT_ACTION_DESTROY,
    WIRT_ACTION_REBOOT, WIRT_ACTION_SUSPEND, WIRT_ACTION_RESUME,
};

static void
handle_state_put(WirtHttpRequest *req)
{
    static const char *const allowed[] = {"action", "force", "timeout", NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) body = wirt_http_read_body(req, allowed, &error);
    const char *action_name = NULL;
    WirtActionParams params = {FALSE, -1, FALSE};
    gint64 timeout = -1;
    WirtAction action = WIRT_ACTION_LAST;

    if (!body || !wirt_http_get_string_member(body, "action", TRUE, &action_name, &error) ||
        !wirt_http_get_bool_member(body, "force", FALSE, &params.force, &error) ||
        !wirt_http_get_int_member(body, "timeout", 0, 3600, &timeout, &error)) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(state_actions); i++)
        if (g_str_equal(action_name, wirt_action_to_string(state_actions[i])))
            action = state_actions[i];
    if (action == WIRT_ACTION_LAST) {
        wirt_http_reply_error_status(
            req->msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
            "action must be one of start, stop, destroy, reboot, suspend, resume");
        return;
    }
    params.timeout = (gint)timeout;
    run_action(req, action, &params);
}

static void
handle_autostart_put(WirtHttpRequest *req)
{
    static const char *const allowed[] = {"enabled", NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) body = wirt_http_read_body(req, allowed, &error);
    WirtActionParams params = {FALSE, -1, TRUE};

    if (!body || !wirt_http_get_bool_member(body, "enabled", TRUE, &params.enable, &error)) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    run_action(req, WIRT_ACTION_AUTOSTART, &params);
}

static void
handle_adopt(WirtHttpRequest *req)
{
    static const char *const allowed[] = {"domain", "owner", "name", "node", NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) body = wirt_http_read_body(req, allowed, &error);
    const char *domain = NULL, *owner = NULL, *name = NULL, *node = NULL;

    if (!body || !wirt_http_get_string_member(body, "domain", TRUE, &domain, &error) ||
        !wirt_http_get_string_member(body, "owner", TRUE, &owner, &error) ||
        !wirt_http_get_string_member(body, "name", TRUE, &name, &error) ||
        !wirt_http_get_string_member(body, "node", FALSE, &node, &error)) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    wirt_service_adopt_async(req->self->service, req->actor, node, domain, owner, name,
                             wirt_http_on_vm_done,
                             wirt_http_pause_for(req->msg, SOUP_STATUS_CREATED));
}

void
wirt_http_reply_node_or_error(SoupServerMessage *msg, JsonNode *node, const GError *error)
{
    if (node)
        wirt_http_reply_json(msg, SOUP_STATUS_OK, node);
    else
        wirt_http_reply_error(msg, error);
}

static void
handle_pools(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = wirt_service_pools(req->self->service, req->actor, &error);

    wirt_http_reply_node_or_error(req->msg, node, error);
}

static void
handle_nodes(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = wirt_service_nodes(req->self->service, req->actor, &error);

    wirt_http_reply_node_or_error(req->msg, node, error);
}

static void
handle_quota(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node =
        wirt_service_quota(req->self->service, req->actor, wirt_http_query(req, "user"), &error);

    wirt_http_reply_node_or_error(req->msg, node, error);
}

static void
handle_history(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = NULL;
    const char *limit_text = wirt_http_query(req, "limit");
    guint64 limit = 0;

    if (limit_text && !g_ascii_string_to_unsigned(limit_text, 10, 1, 10000, &limit, NULL)) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
                                     "limit must be a whole number from 1 to 10000");
        return;
    }
    node = wirt_service_history(req->self->service, req->actor, wirt_http_query(req, "owner"),
                                wirt_http_query(req, "vm"), (guint)limit, &error);
    wirt_http_reply_node_or_error(req->msg, node, error);
}

/* ---------------------------------------------------- /1.0/openapi.json */

/* data/openapi.json, compiled into wirtd (tests/integration/test-openapi.sh
 * checks it against the route table). */
static void
handle_openapi(WirtHttpRequest *req)
{
    g_autoptr(GBytes) doc =
        g_resource_lookup_data(wirt_http_get_resource(), "/dev/wirt/http/openapi.json",
                               G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
    gsize len = 0;
    const char *data = doc ? g_bytes_get_data(doc, &len) : NULL;

    if (!data) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, WIRT_ERROR_FAILED,
                                     "the API description is missing");
        return;
    }
    soup_server_message_set_status(req->msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response(req->msg, "application/json", SOUP_MEMORY_COPY, data, len);
}

/* -------------------------------------------------------- /1.0/operations */

/* An operation is seen by the user who started it and by admins only. */
static gboolean
op_visible(const WirtHttpOp *op, const WirtActor *actor)
{
    return wirt_policy_decide_personal(actor, op->user) == WIRT_POLICY_ALLOW;
}

static void
op_broadcast(WirtHttp *self, const WirtHttpOp *op)
{
    for (GList *l = self->streams; l;) {
        EventStream *stream = l->data;
        g_autoptr(JsonBuilder) b = NULL;
        g_autoptr(JsonNode) node = NULL;
        g_autofree char *now = NULL;

        l = l->next; /* sending may close and free the stream */
        if (!op_visible(op, stream->actor))
            continue;
        b = json_builder_new();
        now = wirt_util_iso8601_now();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, "operation");
        json_builder_set_member_name(b, "time");
        json_builder_add_string_value(b, now);
        json_builder_set_member_name(b, "operation");
        json_builder_add_value(b, op_to_json(op));
        json_builder_end_object(b);
        node = json_builder_get_root(b);
        event_stream_send(stream, node);
    }
}

static void
handle_ops_list(WirtHttpRequest *req)
{
    g_autoptr(JsonArray) array = json_array_new();
    g_autoptr(JsonNode) node = NULL;

    ops_prune(req->self);
    for (guint i = 0; i < req->self->ops->len; i++) {
        WirtHttpOp *op = g_ptr_array_index(req->self->ops, i);
        if (op_visible(op, req->actor))
            json_array_add_element(array, op_to_json(op));
    }
    node = json_node_init_array(json_node_alloc(), array);
    wirt_http_reply_json(req->msg, SOUP_STATUS_OK, node);
}

static void
handle_op_get(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *label = g_strdup_printf("operation %s", req->name);
    const WirtHttpOp *found = NULL;

    for (guint i = 0; i < req->self->ops->len && !found; i++) {
        WirtHttpOp *op = g_ptr_array_index(req->self->ops, i);
        if (g_str_equal(op->id, req->name))
            found = op;
    }
    /* Someone else's operation reads exactly like one that does not exist. */
    if (!wirt_policy_check_personal(req->actor, found ? found->user : NULL, label, &error)) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    {
        g_autoptr(JsonNode) node = op_to_json(found);
        wirt_http_reply_json(req->msg, SOUP_STATUS_OK, node);
    }
}

/* ------------------------------------------------------- /1.0/login, logout */

#define SESSION_COOKIE "wirt_session"

/* The value of our session cookie in a Cookie header, or NULL. */
static char *
session_cookie(SoupServerMessage *msg)
{
    const char *header =
        soup_message_headers_get_list(soup_server_message_get_request_headers(msg), "Cookie");
    g_auto(GStrv) parts = header ? g_strsplit(header, ";", -1) : NULL;

    for (int i = 0; parts && parts[i]; i++) {
        const char *part = g_strstrip(parts[i]);
        if (g_str_has_prefix(part, SESSION_COOKIE "="))
            return g_strdup(part + strlen(SESSION_COOKIE "="));
    }
    return NULL;
}

static void
handle_login(WirtHttpRequest *req)
{
    g_autofree char *csrf = NULL;
    g_autofree char *id = NULL;
    g_autofree char *cookie = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) node = NULL;
    guint seconds = req->self->config->http.session_seconds;

    if (req->actor->door != WIRT_DOOR_HTTP) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
                                     "sessions are for browsers on the TCP API; the unix socket "
                                     "needs no login");
        return;
    }
    id = wirt_auth_session_new(req->self->auth, req->actor->user, req->actor->is_admin, &csrf);
    cookie = g_strdup_printf(SESSION_COOKIE "=%s; Path=/; Max-Age=%u; HttpOnly; Secure; "
                                            "SameSite=Strict",
                             id, seconds);
    soup_message_headers_append(soup_server_message_get_response_headers(req->msg), "Set-Cookie",
                                cookie);
    explicit_bzero(cookie, strlen(cookie));
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, req->actor->user);
    json_builder_set_member_name(b, "admin");
    json_builder_add_boolean_value(b, req->actor->is_admin);
    json_builder_set_member_name(b, "csrf_token");
    json_builder_add_string_value(b, csrf);
    json_builder_set_member_name(b, "expires_in");
    json_builder_add_int_value(b, seconds);
    json_builder_end_object(b);
    node = json_builder_get_root(b);
    wirt_http_reply_json(req->msg, SOUP_STATUS_OK, node);
    explicit_bzero(csrf, strlen(csrf));
    explicit_bzero(id, strlen(id));
}

static void
handle_logout(WirtHttpRequest *req)
{
    g_autofree char *cookie = session_cookie(req->msg);
    g_autoptr(JsonObject) obj = json_object_new();
    g_autoptr(JsonNode) node = NULL;

    if (req->actor->door != WIRT_DOOR_HTTP || !cookie) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
                                     "no browser session to end");
        return;
    }
    wirt_auth_session_end(req->self->auth, cookie);
    soup_message_headers_append(soup_server_message_get_response_headers(req->msg), "Set-Cookie",
                                SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; Secure; "
                                               "SameSite=Strict");
    json_object_set_boolean_member(obj, "logged_out", TRUE);
    node = json_node_init_object(json_node_alloc(), obj);
    wirt_http_reply_json(req->msg, SOUP_STATUS_OK, node);
}

/* ------------------------------------------------------------ /1.0/tokens */

/* Users manage their own API tokens; admins may name another user (?user=). */
static const char *
token_user(WirtHttpRequest *req, GError **error)
{
    const char *user = wirt_http_query(req, "user");
    g_autofree char *label = NULL;

    if (!user)
        return req->actor->user;
    label = g_strdup_printf("tokens of %s", user);
    return wirt_policy_check_personal(req->actor, user, label, error) ? user : NULL;
}

static void
handle_tokens_list(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    const char *user = token_user(req, &error);
    g_autoptr(JsonNode) node = user ? wirt_tokens_list(req->self->tokens, user) : NULL;

    wirt_http_reply_node_or_error(req->msg, node, error);
}

static void
handle_tokens_create(WirtHttpRequest *req)
{
    static const char *const allowed[] = {"name", NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) body = wirt_http_read_body(req, allowed, &error);
    const char *name = NULL;
    g_autoptr(JsonNode) node = NULL;

    if (!body || !wirt_http_get_string_member(body, "name", TRUE, &name, &error) ||
        !(node = wirt_tokens_create(req->self->tokens, req->actor->user, name, &error))) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    wirt_http_reply_json(req->msg, SOUP_STATUS_CREATED, node);
}

static void
handle_tokens_delete(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    const char *user = token_user(req, &error);
    g_autoptr(JsonObject) obj = NULL;
    g_autoptr(JsonNode) node = NULL;

    if (!user || !wirt_tokens_revoke(req->self->tokens, user, req->name, &error)) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    obj = json_object_new();
    json_object_set_string_member(obj, "revoked", req->name);
    node = json_node_init_object(json_node_alloc(), obj);
    wirt_http_reply_json(req->msg, SOUP_STATUS_OK, node);
}

/* ------------------------------------------------------------ /1.0/events */

static void
event_stream_free(EventStream *stream)
{
    WirtHttp *self = stream->self;

    self->streams = g_list_remove(self->streams, stream);
    if (stream->watch_id)
        wirt_service_watch_remove(self->service, stream->watch_id);
    if (stream->ws) {
        g_signal_handlers_disconnect_by_data(stream->ws, stream);
        if (soup_websocket_connection_get_state(stream->ws) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(stream->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
        g_object_unref(stream->ws);
    }
    if (stream->msg) {
        g_signal_handlers_disconnect_by_data(stream->msg, stream);
        g_object_unref(stream->msg);
    }
    wirt_actor_free(stream->actor);
    g_free(stream);
}

static void
event_stream_send(EventStream *stream, JsonNode *node)
{
    g_autofree char *text = wirt_api_to_string(node, FALSE);

    if (!stream->ws || soup_websocket_connection_get_state(stream->ws) != SOUP_WEBSOCKET_STATE_OPEN)
        return;
    if (++stream->unacked > EVENTS_MAX_UNACKED) {
        soup_websocket_connection_close(stream->ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                        "client too slow: reconnect and resync");
        return;
    }
    soup_websocket_connection_send_text(stream->ws, text);
}

static void
on_stream_event(WirtVmChange change, WirtVm *vm, gpointer user_data)
{
    EventStream *stream = user_data;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *now = wirt_util_iso8601_now();
    g_autoptr(JsonNode) node = NULL;

    if (change == WIRT_VM_CHANGE_ADDRESSES) {
        /* {"type":"addresses","time":…,"vm":{…},"addresses":[…]} (docs/api.md) */
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, "addresses");
        json_builder_set_member_name(b, "time");
        json_builder_add_string_value(b, now);
        json_builder_set_member_name(b, "vm");
        json_builder_add_value(b, wirt_api_vm_to_json(vm));
        json_builder_set_member_name(b, "addresses");
        json_builder_add_value(b, wirt_service_vm_addresses_json(stream->self->service, vm));
        json_builder_end_object(b);
        node = json_builder_get_root(b);
        event_stream_send(stream, node);
        return;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "vm");
    json_builder_set_member_name(b, "change");
    json_builder_add_string_value(b, change == WIRT_VM_CHANGE_REMOVED ? "removed" : "updated");
    json_builder_set_member_name(b, "time");
    json_builder_add_string_value(b, now);
    json_builder_set_member_name(b, "vm");
    json_builder_add_value(b, wirt_api_vm_to_json(vm));
    json_builder_end_object(b);
    node = json_builder_get_root(b);
    event_stream_send(stream, node);
}

static void
on_stream_pong(SoupWebsocketConnection *ws G_GNUC_UNUSED, GBytes *message G_GNUC_UNUSED,
               gpointer user_data)
{
    EventStream *stream = user_data;

    stream->unacked = 0;
}

static void
on_stream_closed(SoupWebsocketConnection *ws G_GNUC_UNUSED, gpointer user_data)
{
    event_stream_free(user_data);
}

/* The 101 answer is on the wire: take the connection from libsoup's HTTP side
 * and speak websocket on it (what soup_server_add_websocket_handler() does,
 * but with our own authentication before the upgrade). */
static void
on_upgrade_written(SoupServerMessage *msg, gpointer user_data)
{
    EventStream *stream = user_data;
    g_autoptr(GIOStream) io = soup_server_message_steal_connection(msg);
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) hello = NULL;

    g_signal_handlers_disconnect_by_data(msg, stream);
    g_clear_object(&stream->msg);
    stream->ws = soup_websocket_connection_new(io, soup_server_message_get_uri(msg),
                                               SOUP_WEBSOCKET_CONNECTION_SERVER, NULL, NULL, NULL);
    /* The client has nothing to say on this stream: keep its frames small. */
    soup_websocket_connection_set_max_incoming_payload_size(stream->ws, 4096);
    soup_websocket_connection_set_keepalive_interval(stream->ws, EVENTS_PING_SECONDS);
    g_signal_connect(stream->ws, "pong", G_CALLBACK(on_stream_pong), stream);
    g_signal_connect(stream->ws, "closed", G_CALLBACK(on_stream_closed), stream);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "hello");
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, stream->actor->user);
    json_builder_set_member_name(b, "admin");
    json_builder_add_boolean_value(b, stream->actor->is_admin);
    json_builder_end_object(b);
    hello = json_builder_get_root(b);
    event_stream_send(stream, hello);
}

static void
on_upgrade_finished(SoupServerMessage *msg G_GNUC_UNUSED, gpointer user_data)
{
    /* The connection died before the upgrade was written. */
    event_stream_free(user_data);
}

/* Cross-site websocket hijacking (Nova CVE-2015-0259): a browser sends the
 * page's Origin, which must be this server itself or one the admin listed.
 * Clients that are not browsers send none, and authenticate on their own. */
static gboolean
origin_allowed(WirtHttpRequest *req)
{
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(req->msg);
    const char *origin = soup_message_headers_get_one(headers, "Origin");
    const char *host = soup_message_headers_get_one(headers, "Host");
    const char *scheme = req->self->config->http.plain_http ? "http://" : "https://";
    g_autofree char *own = host ? g_strconcat(scheme, host, NULL) : NULL;

    if (!origin || req->actor->door != WIRT_DOOR_HTTP)
        return TRUE;
    if (own && g_ascii_strcasecmp(origin, own) == 0)
        return TRUE;
    return g_strv_contains((const char *const *)req->self->config->http.origins, origin);
}

/* For websocket routes of other modules (wirt-http-ssh.c). */
gboolean
wirt_http_origin_allowed(WirtHttpRequest *req)
{
    return origin_allowed(req);
}

static void
handle_events(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    EventStream *stream;

    if (!origin_allowed(req)) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_FORBIDDEN, WIRT_ERROR_DENIED,
                                     "websocket Origin not allowed");
        return;
    }
    if (!soup_websocket_server_check_handshake(req->msg, NULL, NULL, NULL, &error)) {
        g_autofree char *message =
            g_strdup_printf("/1.0/events needs a websocket upgrade: %s", error->message);
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
                                     message);
        return;
    }
    stream = g_new0(EventStream, 1);
    stream->self = req->self;
    stream->actor =
        wirt_actor_new(req->actor->uid, req->actor->user, (const char *const *)req->actor->groups,
                       NULL, NULL, req->actor->door);
    stream->actor->is_admin = req->actor->is_admin;
    stream->actor->is_member = req->actor->is_member;
    stream->watch_id =
        wirt_service_watch_add(req->self->service, req->actor, on_stream_event, stream, &error);
    if (!stream->watch_id) {
        event_stream_free(stream);
        wirt_http_reply_error(req->msg, error);
        return;
    }
    req->self->streams = g_list_prepend(req->self->streams, stream);
    stream->msg = g_object_ref(req->msg);
    soup_websocket_server_process_handshake(req->msg, NULL, NULL, NULL, NULL);
    g_signal_connect(req->msg, "wrote-informational", G_CALLBACK(on_upgrade_written), stream);
    g_signal_connect(req->msg, "finished", G_CALLBACK(on_upgrade_finished), stream);
}

/* The route table: every route the server has. `wirtd --print-routes` prints
 * it and tests/integration walks it as an outsider and as another user. */
static const WirtHttpRoute routes[] = {
    {{"GET", "/1.0", WIRT_ACTION_LAST, NULL}, handle_root},
    {{"GET", "/1.0/vms", WIRT_ACTION_LIST, NULL}, handle_vms_list},
    {{"POST", "/1.0/vms", WIRT_ACTION_CREATE, "{\"name\":\"walk\"}"}, handle_vms_create},
    {{"GET", "/1.0/vms/{name}", WIRT_ACTION_VIEW, NULL}, handle_vm_get},
    {{"DELETE", "/1.0/vms/{name}", WIRT_ACTION_DELETE, NULL}, handle_vm_delete},
    {{"GET", "/1.0/vms/{name}/state", WIRT_ACTION_VIEW, NULL}, handle_state_get},
    {{"PUT", "/1.0/vms/{name}/state", WIRT_ACTION_START, "{\"action\":\"start\"}"},
     handle_state_put},
    {{"PUT", "/1.0/vms/{name}/autostart", WIRT_ACTION_AUTOSTART, "{\"enabled\":true}"},
     handle_autostart_put},
    {{"GET", "/1.0/vms/{name}/ssh", WIRT_ACTION_SSH, NULL}, wirt_http_ssh_handle},
    {{"POST", "/1.0/adopt", WIRT_ACTION_ADOPT,
      "{\"domain\":\"walk\",\"owner\":\"root\",\"name\":\"walk\"}"},
     handle_adopt},
    {{"GET", "/1.0/pools", WIRT_ACTION_VIEW_HOSTS, NULL}, handle_pools},
    {{"GET", "/1.0/nodes", WIRT_ACTION_VIEW_HOSTS, NULL}, handle_nodes},
    {{"GET", "/1.0/quota", WIRT_ACTION_LAST, NULL}, handle_quota},
    {{"GET", "/1.0/history", WIRT_ACTION_VIEW, NULL}, handle_history},
    {{"GET", "/1.0/events", WIRT_ACTION_LIST, NULL}, handle_events},
    {{"GET", "/1.0/tokens", WIRT_ACTION_LAST, NULL}, handle_tokens_list},
    {{"POST", "/1.0/tokens", WIRT_ACTION_LAST, "{\"name\":\"walk\"}"}, handle_tokens_create},
    {{"DELETE", "/1.0/tokens/{name}", WIRT_ACTION_LAST, NULL}, handle_tokens_delete},
    {{"GET", "/1.0/openapi.json", WIRT_ACTION_LAST, NULL}, handle_openapi},
    {{"GET", "/1.0/operations", WIRT_ACTION_LAST, NULL}, handle_ops_list},
    {{"GET", "/1.0/operations/{name}", WIRT_ACTION_LAST, NULL}, handle_op_get},
    {{"POST", "/1.0/login", WIRT_ACTION_LAST, NULL}, handle_login},
    {{"POST", "/1.0/logout", WIRT_ACTION_LAST, NULL}, handle_logout},
};

static const char *const known_query_keys[] = {"owner", "user", "vm", "limit", NULL};

static GPtrArray *route_segments; /* GStrv per route of all_routes(): its pattern split at '/' */

/* Every route of every module, in order: /1.0 first (boxes last), then seed 001's /virt.
 * Their patterns are split once here, not on every request. */
static GPtrArray *
all_routes(void)
{
    static GPtrArray *all;

    if (!all) {
        const WirtHttpRoute *virt, *boxes;
        gsize n = 0;

        all = g_ptr_array_new();
        for (gsize i = 0; i < G_N_ELEMENTS(routes); i++)
            g_ptr_array_add(all, (gpointer)&routes[i]);
        boxes = wirt_http_boxes_routes(&n);
        for (gsize i = 0; i < n; i++)
            g_ptr_array_add(all, (gpointer)&boxes[i]);
        boxes = wirt_http_net_routes(&n); /* networks after boxes */
        for (gsize i = 0; i < n; i++)
            g_ptr_array_add(all, (gpointer)&boxes[i]);
        virt = wirt_http_virt_routes(&n);
        for (gsize i = 0; i < n; i++)
            g_ptr_array_add(all, (gpointer)&virt[i]);
        route_segments = g_ptr_array_new();
        for (guint i = 0; i < all->len; i++)
            g_ptr_array_add(
                route_segments,
                g_strsplit(((const WirtHttpRoute *)g_ptr_array_index(all, i))->info.pattern, "/",
                           -1));
    }
    return all;
}

/**
 * wirt_http_route_table:
 * @out_n: (out): the number of routes
 * Returns: (transfer none) (array length=out_n): every route, for --print-routes and tests.
 */
const WirtHttpRouteInfo *
wirt_http_route_table(gsize *out_n)
{
    static WirtHttpRouteInfo *infos;
    GPtrArray *all = all_routes();

    if (!infos) {
        infos = g_new0(WirtHttpRouteInfo, all->len);
        for (guint i = 0; i < all->len; i++)
            infos[i] = ((const WirtHttpRoute *)g_ptr_array_index(all, i))->info;
    }
    *out_n = all->len;
    return infos;
}

/* A pattern's segments ("", "1.0", "vms", "{name}", "state") against a path's:
 * fills the captures ({owner}, {name}, {command}) of @req; a capture never
 * matches an empty segment. */
static gboolean
match_pattern(char **want, char **parts, WirtHttpRequest *req)
{
    const char *owner = NULL, *name = NULL, *command = NULL;
    guint i;

    for (i = 0; want[i] && parts[i]; i++) {
        const char **capture = g_str_equal(want[i], "{owner}")     ? &owner
                               : g_str_equal(want[i], "{name}")    ? &name
                               : g_str_equal(want[i], "{command}") ? &command
                                                                   : NULL;
        if (capture) {
            if (!*parts[i])
                return FALSE;
            *capture = parts[i];
        } else if (!g_str_equal(want[i], parts[i])) {
            return FALSE;
        }
    }
    if (want[i] || parts[i])
        return FALSE;
    req->owner = owner;
    req->name = name;
    req->command = command;
    return TRUE;
}

static gboolean
peer_uid(SoupServerMessage *msg, uid_t *out_uid, GError **error)
{
    GSocket *socket = soup_server_message_get_socket(msg);
    g_autoptr(GCredentials) creds = NULL;
    g_autoptr(GError) local = NULL;
    uid_t uid;

    if (!socket || !(creds = g_socket_get_credentials(socket, &local)) ||
        (uid = g_credentials_get_unix_user(creds, &local)) == (uid_t)-1) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_UNAUTHORIZED,
                    "cannot read the caller's credentials: %s",
                    local ? local->message : "no socket");
        return FALSE;
    }
    *out_uid = uid;
    return TRUE;
}

static void
actor_free_cb(gpointer data)
{
    wirt_actor_free(data);
}

/* Routes a request whose caller is known. */
static void
dispatch(WirtHttp *self, SoupServerMessage *msg, const char *path, GHashTable *query,
         const WirtActor *actor)
{
    g_autoptr(GString) allow = g_string_new(NULL);
    g_auto(GStrv) parts = NULL;
    const char *method = soup_server_message_get_method(msg);

    if (query) {
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, query);
        while (g_hash_table_iter_next(&iter, &key, NULL)) {
            if (!g_strv_contains(known_query_keys, key)) {
                g_autofree char *message =
                    g_strdup_printf("unknown query parameter '%s'", (const char *)key);
                wirt_http_reply_error_status(msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
                                             message);
                return;
            }
        }
    }
    parts = g_strsplit(path, "/", -1);
    for (guint i = 0; i < all_routes()->len; i++) {
        const WirtHttpRoute *route = g_ptr_array_index(all_routes(), i);
        WirtHttpRequest req = {self, self->service, msg, actor, NULL, NULL, NULL, query};

        if (!match_pattern(g_ptr_array_index(route_segments, i), parts, &req))
            continue;
        if (!g_str_equal(route->info.method, method)) {
            g_string_append_printf(allow, "%s%s", allow->len ? ", " : "", route->info.method);
            continue;
        }
        /* Kept with the message for wirt_http_pause_for(): operations belong to their caller. */
        g_object_set_data(G_OBJECT(msg), "wirt-http", self);
        g_object_set_data_full(G_OBJECT(msg), "wirt-actor",
                               wirt_actor_new(actor->uid, actor->user,
                                              (const char *const *)actor->groups, NULL, NULL,
                                              actor->door),
                               actor_free_cb);
        {
            WirtActor *kept = g_object_get_data(G_OBJECT(msg), "wirt-actor");
            kept->is_admin = actor->is_admin;
            kept->is_member = actor->is_member;
        }
        route->handler(&req);
        return;
    }
    if (allow->len) {
        g_autofree char *message = g_strdup_printf("%s is not allowed on %s", method, path);
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                     allow->str);
        wirt_http_reply_error_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, WIRT_ERROR_INVALID,
                                     message);
        return;
    }
    wirt_http_reply_error_status(msg, SOUP_STATUS_NOT_FOUND, WIRT_ERROR_NOT_FOUND, "no such route");
}

typedef struct {
    WirtHttp *self;
    SoupServerMessage *msg;
    char *path;
    GHashTable *query;
} PendingLogin;

static void
pending_login_free(PendingLogin *p)
{
    g_object_unref(p->msg);
    g_free(p->path);
    g_clear_pointer(&p->query, g_hash_table_unref);
    g_free(p);
}

/* The TCP caller's actor: an admin only when the login method is in the admin
 * realm (admin-auth); otherwise admin rights are withheld, and the user must be
 * a member in their own right. */
static WirtActor *
tcp_actor(WirtHttp *self, const char *user, gboolean admin_realm, GError **error)
{
    g_autoptr(WirtActor) actor =
        wirt_service_actor_for_name(self->service, user, WIRT_DOOR_HTTP, error);

    if (!actor)
        return NULL;
    if (actor->is_admin && !admin_realm) {
        actor->is_admin = FALSE;
        actor->is_member =
            actor->groups && self->config->user_group &&
            g_strv_contains((const char *const *)actor->groups, self->config->user_group);
        if (!actor->is_member) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                        "user %s: admins must log in with an admin-auth method", user);
            return NULL;
        }
    }
    return g_steal_pointer(&actor);
}

static void
on_login_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    PendingLogin *p = user_data;
    WirtHttp *self = p->self;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtActor) actor = NULL;
    gboolean admin_realm = FALSE;
    guint retry_after = 0;
    g_autofree char *user =
        wirt_auth_verify_finish(self->auth, res, &admin_realm, &retry_after, &error);
    SoupMessageHeaders *headers = soup_server_message_get_response_headers(p->msg);

    /* Unpause first: a handler that goes async pauses again, and its pause wins. */
    soup_server_message_unpause(p->msg);
    if (!user && retry_after) {
        g_autofree char *seconds = g_strdup_printf("%u", retry_after);
        soup_message_headers_replace(headers, "Retry-After", seconds);
        wirt_http_reply_error_status(p->msg, 429, WIRT_ERROR_DENIED, error->message);
    } else if (!user) {
        soup_message_headers_replace(headers, "WWW-Authenticate",
                                     "Basic realm=\"wirt\", charset=\"UTF-8\"");
        wirt_http_reply_error(p->msg, error);
    } else if (!(actor = tcp_actor(self, user, admin_realm, &error))) {
        wirt_http_reply_error(p->msg, error);
    } else {
        dispatch(self, p->msg, p->path, p->query, actor);
    }
    pending_login_free(p);
}

static gboolean
is_safe_method(const char *method)
{
    return g_str_equal(method, "GET") || g_str_equal(method, "HEAD");
}

/* A browser with a session cookie: the cookie says who, and every request that
 * changes something must also carry the session's CSRF token in a header,
 * which a page on another site cannot read or send. */
static void
handle_session(WirtHttp *self, SoupServerMessage *msg, const char *path, GHashTable *query,
               const char *cookie)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtActor) actor = NULL;
    gboolean admin_realm = FALSE;
    const char *csrf = NULL;
    const char *user = wirt_auth_session_get(self->auth, cookie, &admin_realm, &csrf);
    const char *sent =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "X-CSRF-Token");

    if (!user) {
        wirt_http_reply_error_status(msg, SOUP_STATUS_UNAUTHORIZED, WIRT_ERROR_UNAUTHORIZED,
                                     "session expired or unknown: log in again");
        return;
    }
    if (!is_safe_method(soup_server_message_get_method(msg)) &&
        !wirt_util_secret_equal(sent, csrf)) {
        wirt_http_reply_error_status(msg, SOUP_STATUS_FORBIDDEN, WIRT_ERROR_DENIED,
                                     "missing or wrong X-CSRF-Token for this session");
        return;
    }
    if (!(actor = tcp_actor(self, user, admin_realm, &error))) {
        wirt_http_reply_error(msg, error);
        return;
    }
    dispatch(self, msg, path, query, actor);
}

static gboolean
is_unix_caller(SoupServerMessage *msg)
{
    GSocket *socket = soup_server_message_get_socket(msg);

    return socket && g_socket_get_family(socket) == G_SOCKET_FAMILY_UNIX;
}

/* Finds out who the caller is (peer credentials, a session, or a login) and
 * dispatches; a login is checked asynchronously, with @msg paused meanwhile. */
static void
authenticate_and_dispatch(WirtHttp *self, SoupServerMessage *msg, const char *path,
                          GHashTable *query)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtActor) actor = NULL;
    uid_t uid = (uid_t)-1;

    if (is_unix_caller(msg)) {
        if (!peer_uid(msg, &uid, &error) ||
            !(actor = wirt_service_actor_for_uid(self->service, uid, WIRT_DOOR_CLI, &error))) {
            wirt_http_reply_error(msg, error);
            return;
        }
        dispatch(self, msg, path, query, actor);
        return;
    }
    {
        PendingLogin *p;
        const char *authz = soup_message_headers_get_one(
            soup_server_message_get_request_headers(msg), "Authorization");
        g_autofree char *cookie = authz ? NULL : session_cookie(msg);

        if (cookie) {
            handle_session(self, msg, path, query, cookie);
            return;
        }
        p = g_new0(PendingLogin, 1);
        p->self = self;
        p->msg = g_object_ref(msg);
        p->path = g_strdup(path);
        p->query = query ? g_hash_table_ref(query) : NULL;
        soup_server_message_pause(msg);
        wirt_auth_verify_async(self->auth, authz, soup_server_message_get_remote_host(msg),
                               on_login_done, p);
    }
}

static void
handle_any(SoupServer *server G_GNUC_UNUSED, SoupServerMessage *msg, const char *path,
           GHashTable *query, gpointer user_data)
{
    if (soup_server_message_get_status(msg) != 0)
        return; /* the early handler answered already (413, 411) */
    if (wirt_http_boxes_body_done(msg))
        return; /* a box upload, dispatched at got-headers: its body has ended */
    authenticate_and_dispatch(user_data, msg, path, query);
}

/* Before any body is read: refuse what is too big to be an API request, so a
 * client cannot make wirtd buffer megabytes (libsoup reads whole bodies).
 * Box uploads are streamed instead (wirt-http-boxes.c). */
static void
handle_early(SoupServer *server G_GNUC_UNUSED, SoupServerMessage *msg, const char *path,
             GHashTable *query, gpointer user_data)
{
    WirtHttp *self = user_data;
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    goffset length = soup_message_headers_get_content_length(headers);

    /* A box upload is the one body that may be big: it is streamed to the
     * service as it arrives, so its caller is authenticated and dispatched now. */
    if (wirt_http_boxes_is_upload(msg, path)) {
        if (wirt_http_boxes_prepare(msg, self->config->max_box_gib))
            authenticate_and_dispatch(self, msg, path, query);
        return;
    }
    if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CHUNKED) {
        wirt_http_reply_error_status(msg, SOUP_STATUS_LENGTH_REQUIRED, WIRT_ERROR_INVALID,
                                     "request bodies need a Content-Length");
    } else if (length > WIRT_API_BODY_MAX) {
        g_autofree char *message =
            g_strdup_printf("request body of %" G_GOFFSET_FORMAT " bytes is over the %d byte limit",
                            length, WIRT_API_BODY_MAX);
        wirt_http_reply_error_status(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, WIRT_ERROR_INVALID,
                                     message);
    }
}

/**
 * wirt_http_new:
 * @service: (transfer none): must outlive the server
 * Returns: (transfer full) (nullable): a server with every route, not yet
 * listening, or %NULL when the token file cannot be read.
 */
WirtHttp *
wirt_http_new(WirtService *service, GError **error)
{
    g_autoptr(WirtHttp) self = g_new0(WirtHttp, 1);

    self->service = service;
    self->config = wirt_service_get_config(service);
    self->ops = g_ptr_array_new_with_free_func(op_free);
    if (!(self->tokens = wirt_tokens_open(self->config->http.token_file, error)))
        return NULL;
    self->auth = wirt_auth_new(&self->config->http, self->tokens);
    self->server = soup_server_new("server-header", "wirtd/" WIRT_API_VERSION, NULL);
    soup_server_add_early_handler(self->server, NULL, handle_early, self, NULL);
    soup_server_add_handler(self->server, NULL, handle_any, self, NULL);
    return g_steal_pointer(&self);
}

/* A socket file left by a wirtd that died is removed; a live one is an error. */
static gboolean
clear_stale_socket(const char *path, GError **error)
{
    struct stat st;
    g_autoptr(GSocket) probe = NULL;
    g_autoptr(GSocketAddress) addr = NULL;

    if (lstat(path, &st) < 0)
        return TRUE;
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "%s exists and is not a socket", path);
        return FALSE;
    }
    probe = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
    addr = g_unix_socket_address_new(path);
    if (probe && g_socket_connect(probe, addr, NULL, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                    "another wirtd is already listening on %s", path);
        return FALSE;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot remove stale %s: %s", path,
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_http_listen_unix:
 * @path: the socket; its directory is created 0755 when missing
 * Returns: %TRUE when listening, else %FALSE with @error set.
 *
 * The socket is world-connectable (0666) on purpose: who may do what is
 * decided per request from the peer's credentials, and outsiders are refused
 * with a clear message rather than a bare "permission denied".
 */
gboolean
wirt_http_listen_unix(WirtHttp *self, const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GSocket) socket = NULL;
    g_autoptr(GSocketAddress) addr = NULL;
    g_autoptr(GError) local = NULL;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot create %s: %s", dir,
                    g_strerror(saved));
        return FALSE;
    }
    if (!clear_stale_socket(path, error))
        return FALSE;
    socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &local);
    addr = g_unix_socket_address_new(path);
    if (!socket || !g_socket_bind(socket, addr, FALSE, &local) || chmod(path, 0666) < 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot bind %s: %s", path,
                    local ? local->message : g_strerror(errno));
        return FALSE;
    }
    /* GSocketListener's default backlog is 10: too few for a burst of clients. */
    g_socket_set_listen_backlog(socket, LISTEN_BACKLOG);
    if (!g_socket_listen(socket, &local) ||
        !soup_server_listen_socket(self->server, socket, 0, &local)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot listen on %s: %s", path,
                    local->message);
        unlink(path);
        return FALSE;
    }
    g_free(self->socket_path);
    self->socket_path = g_strdup(path);
    return TRUE;
}

static GSocketAddress *
parse_listen_address(const char *text, GError **error)
{
    const char *colon = strrchr(text, ':');
    g_autofree char *host = g_strndup(text, (gsize)(colon - text));
    g_autoptr(GInetAddress) address = NULL;
    guint64 port = 0;

    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (g_str_equal(host, "localhost"))
        address = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    else
        address = g_inet_address_new_from_string(host);
    if (!address || !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "listen: '%s' is not an IP address and port", text);
        return NULL;
    }
    return g_inet_socket_address_new(address, (guint16)port);
}

/**
 * wirt_http_listen_tcp:
 * Returns: %TRUE when every configured address listens (or none is
 * configured), else %FALSE with @error naming the address.
 */
gboolean
wirt_http_listen_tcp(WirtHttp *self, GError **error)
{
    const WirtHttpConfig *http = &self->config->http;
    g_autoptr(GError) local = NULL;

    if (!http->listen[0])
        return TRUE;
    if (!http->plain_http) {
        g_autoptr(GTlsCertificate) cert =
            g_tls_certificate_new_from_files(http->tls_cert, http->tls_key, &local);
        if (!cert) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "TLS certificate %s / key %s: %s",
                        http->tls_cert, http->tls_key, local->message);
            return FALSE;
        }
        soup_server_set_tls_certificate(self->server, cert);
    }
    for (int i = 0; http->listen[i]; i++) {
        g_autoptr(GSocketAddress) addr = parse_listen_address(http->listen[i], error);
        g_autoptr(GSocket) socket = NULL;

        if (!addr)
            return FALSE;
        socket = g_socket_new(g_socket_address_get_family(addr), G_SOCKET_TYPE_STREAM, 0, &local);
        if (!socket || !g_socket_bind(socket, addr, TRUE, &local)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot listen on %s: %s",
                        http->listen[i], local->message);
            return FALSE;
        }
        g_socket_set_listen_backlog(socket, LISTEN_BACKLOG);
        if (!g_socket_listen(socket, &local) ||
            !soup_server_listen_socket(self->server, socket,
                                       http->plain_http ? 0 : SOUP_SERVER_LISTEN_HTTPS, &local)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot listen on %s: %s",
                        http->listen[i], local->message);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * wirt_http_free:
 * @http: (nullable): the server; its socket file is removed
 */
void
wirt_http_free(WirtHttp *self)
{
    if (!self)
        return;
    while (self->streams)
        event_stream_free(self->streams->data);
    wirt_http_ssh_close_all();
    /* Running operations finish after us: detach them, they free themselves. */
    for (guint i = self->ops ? self->ops->len : 0; i > 0; i--) {
        WirtHttpOp *op = g_ptr_array_index(self->ops, i - 1);
        if (!op->finished) {
            op->self = NULL;
            g_ptr_array_steal_index(self->ops, i - 1);
        }
    }
    g_clear_pointer(&self->ops, g_ptr_array_unref);
    if (self->server)
        soup_server_disconnect(self->server);
    g_clear_object(&self->server);
    g_clear_pointer(&self->auth, wirt_auth_free);
    g_clear_pointer(&self->tokens, wirt_tokens_free);
    if (self->socket_path)
        unlink(self->socket_path);
    g_free(self->socket_path);
    g_free(self);
}
