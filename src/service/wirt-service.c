/* wirt-service.c: the one action path every front door calls.
 *
 * Each change is an Op: built and checked on the main loop (resolve, policy,
 * quota, placement candidates), its libvirt RPCs run in a GTask worker, and
 * its result comes back to the main loop, which updates the cache, writes the
 * history line and completes the caller's task. Reads are answered from the
 * cache without a libvirt round trip.
 */
#include "wirt-service.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "core/wirt-api.h"
#include "core/wirt-error.h"
#include "core/wirt-history.h"
#include "core/wirt-meta.h"
#include "core/wirt-names.h"
#include "core/wirt-net.h"
#include "core/wirt-policy.h"
#include "core/wirt-quota.h"
#include "core/wirt-seed.h"
#include "util/wirt-util.h"
#include "virt/wirt-virt-box.h"
#include "wirt-addresses.h"
#include "wirt-audit.h"
#include "wirt-networks.h"
#include "wirt-service-private.h"
#include "wirt-build-config.h"

#define HISTORY_READ_MAX (8 * 1024 * 1024)
#define HISTORY_LIMIT_MAX 10000

struct _WirtService {
    const WirtConfig *config;
    WirtHosts *hosts;
    WirtAudit *audit;
    GHashTable *reserved;       /* owner -> WirtUsage*: creates in flight */
    GHashTable *reserved_names; /* "owner/name" of creates in flight */
    GList *stop_waits;          /* Op*: graceful stops waiting for shutoff */
    GPtrArray *watches;         /* Watch*: live event subscribers */
    GHashTable *identities;     /* uid -> Identity*: NSS answers, kept 2 s */
    GHashTable *names;          /* user name -> uid, until that uid stops carrying the name */
    guint next_watch_id;
    guint listener_id;
    WirtServiceRecordFunc record_func;
    gpointer record_data;
    GHashTable *box_uploads; /* volume name -> uploader's uid: uploads in flight (boxes block) */
    /* Running VMs' addresses, watched after a start (wirt-addresses.c). */
    WirtAddresses *addresses;
};

typedef struct {
    guint id;
    WirtActor *actor;
    WirtServiceEventFunc func;
    gpointer user_data;
} Watch;

typedef struct {
    WirtService *service;
    WirtActor *actor;
    WirtAction action;
    WirtActionParams params;
    char *label; /* how the caller named the VM: "web" or "bob/web" */
    char *owner;
    char *name;
    char *node;
    char *detail;
    WirtVm *vm;            /* the target, for actions on an existing VM */
    WirtConn *conn;        /* its host's connection */
    GPtrArray *candidates; /* create: WirtConn* of the pool's up hosts */
    WirtVmSpec spec;       /* create */
    WirtMeta meta;         /* create, adopt */
    WirtUsage reservation; /* create: held in service->reserved until done */
    gboolean reserved;
    guint timeout_id; /* stop: power off when this fires */
    GTask *task;      /* the caller's task, while a stop waits */
} Op;

static void
op_free(gpointer data)
{
    Op *op = data;

    if (op->reserved) {
        WirtUsage *r = g_hash_table_lookup(op->service->reserved, op->owner);
        g_autofree char *key = g_strconcat(op->owner, "/", op->name, NULL);
        if (r) {
            r->vms -= op->reservation.vms;
            r->vcpus -= op->reservation.vcpus;
            r->memory_mib -= op->reservation.memory_mib;
        }
        g_hash_table_remove(op->service->reserved_names, key);
    }
    g_clear_handle_id(&op->timeout_id, g_source_remove);
    wirt_actor_free(op->actor);
    g_free(op->label);
    g_free(op->owner);
    g_free(op->name);
    g_free(op->node);
    g_free(op->detail);
    g_clear_pointer(&op->vm, wirt_vm_unref);
    g_clear_pointer(&op->conn, wirt_conn_unref);
    g_clear_pointer(&op->candidates, g_ptr_array_unref);
    wirt_vm_spec_clear(&op->spec);
    wirt_meta_clear(&op->meta);
    g_free(op);
}

static void
conn_unref_cb(gpointer data)
{
    wirt_conn_unref(data);
}

static void
vm_unref_cb(gpointer data)
{
    wirt_vm_unref(data);
}

static void
record(WirtService *service, Op *op, const GError *error)
{
    g_auto(WirtHistoryRecord) rec = {0};
    g_autoptr(GError) local = NULL;

    rec.time = wirt_util_iso8601_now();
    rec.actor = g_strdup(op->actor->user);
    rec.uid = op->actor->uid;
    rec.door = g_strdup(wirt_door_to_string(op->actor->door));
    rec.owner = g_strdup(op->owner);
    rec.vm = g_strdup(op->name);
    rec.node = g_strdup(op->node);
    rec.action = g_strdup(wirt_action_to_string(op->action));
    rec.ok = error == NULL;
    rec.error = error ? g_strdup(error->message) : NULL;
    rec.detail = g_strdup(op->detail);
    if (!wirt_audit_append(service->audit, &rec, &local))
        g_warning("history: %s", local->message); /* the daemon logs it; the action stands */
    if (service->record_func)
        service->record_func(&rec, service->record_data);
}

/* Completes @task with @error, after writing the history line. Host-down
 * messages carry libvirt URIs, which only admins may see (E4): users get the
 * node's name alone, while the history keeps the whole message. */
static void
op_fail(GTask *task, GError *error)
{
    Op *op = g_task_get_task_data(task);

    record(op->service, op, error);
    if (!op->actor->is_admin && g_error_matches(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN)) {
        GError *plain = g_error_new(
            WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "%s: host %s is down, try again later",
            op->label ? op->label : wirt_action_to_string(op->action), op->node ? op->node : "?");
        g_error_free(error);
        error = plain;
    }
    g_task_return_error(task, error);
}

static void
op_succeed(GTask *task, WirtVm *vm)
{
    Op *op = g_task_get_task_data(task);

    record(op->service, op, NULL);
    g_task_return_pointer(task, vm, vm_unref_cb);
}

static GTask *
op_task_new(WirtService *service, const WirtActor *actor, WirtAction action,
            GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    Op *op = g_new0(Op, 1);

    op->service = service;
    op->actor = wirt_actor_copy(actor);
    op->action = action;
    op->params.timeout = -1;
    g_task_set_task_data(task, op, op_free);
    g_task_set_source_tag(task, wirt_service_finish);
    return task;
}

/* ---------------------------------------------------------------- identity */

static GStrv
groups_of(const char *user, gid_t primary)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) gids = wirt_util_group_ids(user, primary);

    for (guint i = 0; i < gids->len; i++) {
        struct group *gr = getgrgid(g_array_index(gids, guint32, i));
        if (gr && gr->gr_name)
            g_ptr_array_add(names, g_strdup(gr->gr_name));
    }
    g_ptr_array_add(names, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static WirtActor *
actor_for_user(WirtService *service, struct passwd *pw, WirtDoor door)
{
    g_auto(GStrv) groups = groups_of(pw->pw_name, pw->pw_gid);

    return wirt_actor_new(pw->pw_uid, pw->pw_name, (const char *const *)groups,
                          service->config->user_group, service->config->admin_group, door);
}

/* Who a uid is, remembered briefly: NSS lookups (passwd, group, and on Debian
 * systemd's userdb) cost ~50 file opens per request, most of the CPU of a
 * small API call. A change of membership takes effect within this time. */
#define IDENTITY_TTL_USEC (2 * G_USEC_PER_SEC)
#define IDENTITY_CACHE_MAX 10000

typedef struct {
    WirtActor *actor; /* NULL: the uid has no user name */
    gint64 expires;
} Identity;

static void
identity_free(gpointer data)
{
    Identity *id = data;

    wirt_actor_free(id->actor);
    g_free(id);
}

static const WirtActor *
identity_lookup(WirtService *service, uid_t uid, gboolean *out_known)
{
    Identity *id = g_hash_table_lookup(service->identities, GUINT_TO_POINTER(uid));
    gint64 now = g_get_monotonic_time();
    struct passwd *pw;

    if (!id || id->expires <= now) {
        if (g_hash_table_size(service->identities) >= IDENTITY_CACHE_MAX)
            g_hash_table_remove_all(service->identities);
        id = g_new0(Identity, 1);
        if ((pw = getpwuid(uid)))
            id->actor = actor_for_user(service, pw, WIRT_DOOR_CLI);
        id->expires = now + IDENTITY_TTL_USEC;
        g_hash_table_replace(service->identities, GUINT_TO_POINTER(uid), id);
    }
    *out_known = id->actor != NULL;
    return id->actor;
}

/**
 * wirt_service_actor_for_uid:
 * @uid: a uid the front door verified (SO_PEERCRED, PAM, ...)
 * Returns: (transfer full) (nullable): the actor, or %NULL with
 * %WIRT_ERROR_UNAUTHORIZED (unknown uid) or %WIRT_ERROR_DENIED (not a member).
 * Names and groups come from NSS, remembered for 2 seconds: joining or leaving
 * the group takes effect within that time.
 */
WirtActor *
wirt_service_actor_for_uid(WirtService *service, uid_t uid, WirtDoor door, GError **error)
{
    gboolean known = FALSE;
    const WirtActor *cached = identity_lookup(service, uid, &known);
    WirtActor *actor;

    if (!known) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_UNAUTHORIZED, "uid %u has no user name",
                    (guint)uid);
        return NULL;
    }
    if (!cached->is_member) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "user %s is not a member of group %s: ask an admin to add you", cached->user,
                    service->config->user_group);
        return NULL;
    }
    actor = wirt_actor_copy(cached);
    actor->door = door;
    return actor;
}

/**
 * wirt_service_actor_for_name:
 * @user: a user name a front door verified (PAM, a password file, a token)
 * Returns: (transfer full) (nullable): as wirt_service_actor_for_uid(), with
 * UNAUTHORIZED when the name has no account here.
 */
WirtActor *
wirt_service_actor_for_name(WirtService *service, const char *user, WirtDoor door, GError **error)
{
    gpointer uid_ptr = NULL;
    struct passwd *pw;

    /* name -> uid rides on the same 2-second cache as the identity itself. */
    if (!g_hash_table_lookup_extended(service->names, user, NULL, &uid_ptr)) {
        if (!(pw = getpwnam(user))) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_UNAUTHORIZED, "user %s has no account here",
                        user);
            return NULL;
        }
        if (g_hash_table_size(service->names) >= IDENTITY_CACHE_MAX)
            g_hash_table_remove_all(service->names);
        uid_ptr = GUINT_TO_POINTER(pw->pw_uid);
        g_hash_table_insert(service->names, g_strdup(user), uid_ptr);
    }
    {
        WirtActor *actor =
            wirt_service_actor_for_uid(service, GPOINTER_TO_UINT(uid_ptr), door, error);
        /* A uid renamed or reused since: forget the name and look again next time. */
        if (actor && g_strcmp0(actor->user, user) != 0) {
            g_hash_table_remove(service->names, user);
            wirt_actor_free(actor);
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_UNAUTHORIZED, "user %s has no account here",
                        user);
            return NULL;
        }
        return actor;
    }
}

/* ------------------------------------------------------------ construction */

static void on_vm_changed(WirtVmChange change, WirtVm *vm, gpointer user_data);
static void watch_free(gpointer data);

/**
 * wirt_service_new:
 * @config: (transfer none): must outlive the service
 * @hosts: (transfer none): must outlive the service
 * Returns: (transfer full) (nullable): the service, or %NULL when the history
 * file cannot be opened.
 */
WirtService *
wirt_service_new(const WirtConfig *config, WirtHosts *hosts, GError **error)
{
    g_autoptr(WirtAudit) audit = wirt_audit_open(config->history_path, error);
    WirtService *service;

    if (!audit)
        return NULL;
    service = g_new0(WirtService, 1);
    service->config = config;
    service->hosts = hosts;
    service->audit = g_steal_pointer(&audit);
    service->reserved = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    service->reserved_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    service->watches = g_ptr_array_new_with_free_func(watch_free);
    service->identities = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, identity_free);
    service->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    service->listener_id = wirt_hosts_add_listener(hosts, on_vm_changed, service);
    service->box_uploads = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    service->addresses = wirt_addresses_new(service, hosts);
    return service;
}

/**
 * wirt_service_free:
 * @service: (nullable): the service; pending stops are failed first
 */
void
wirt_service_free(WirtService *service)
{
    if (!service)
        return;
    while (service->stop_waits) {
        Op *op = service->stop_waits->data;
        GTask *task = op->task;
        service->stop_waits = g_list_delete_link(service->stop_waits, service->stop_waits);
        op->task = NULL;
        g_clear_handle_id(&op->timeout_id, g_source_remove);
        op_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd is shutting down"));
        g_object_unref(task);
    }
    wirt_hosts_remove_listener(service->hosts, service->listener_id);
    g_clear_pointer(&service->addresses, wirt_addresses_free);
    g_ptr_array_unref(service->watches);
    g_hash_table_unref(service->identities);
    g_hash_table_unref(service->names);
    wirt_audit_free(service->audit);
    g_hash_table_unref(service->reserved);
    g_hash_table_unref(service->reserved_names);
    g_hash_table_unref(service->box_uploads);
    g_free(service);
}

/**
 * wirt_service_get_config:
 * Returns: (transfer none): the configuration.
 */
const WirtConfig *
wirt_service_get_config(WirtService *service)
{
    return service->config;
}

/* ---------------------------------------------------------------- resolve */

static char *
make_label(const WirtActor *actor, const char *owner, const char *name)
{
    if (owner && actor->user && !g_str_equal(owner, actor->user))
        return g_strdup_printf("%s/%s", owner, name);
    return g_strdup(name);
}

/* Finds the VM and checks @action on it; not-found and not-yours read alike. */
static WirtVm *
resolve(WirtService *service, const WirtActor *actor, const char *owner, const char *name,
        WirtAction action, GError **error)
{
    g_autofree char *label = NULL;
    g_autoptr(WirtVm) vm = NULL;

    if (!wirt_name_validate(name, error))
        return NULL;
    if (owner && !wirt_name_validate_owner(owner, error))
        return NULL;
    if (!owner)
        owner = actor->user;
    label = make_label(actor, owner, name);
    vm = wirt_hosts_find_vm(service->hosts, owner, name);
    if (!vm) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "vm %s: not found", label);
        return NULL;
    }
    if (!wirt_policy_check(service->config, actor, action, vm->owner, label, error))
        return NULL;
    return g_steal_pointer(&vm);
}

/* Stable output: owned VMs by owner and name, then unowned domains by name. */
static gint
compare_vms(gconstpointer a, gconstpointer b)
{
    const WirtVm *x = *(WirtVm *const *)a;
    const WirtVm *y = *(WirtVm *const *)b;
    int c;

    if (!x->owner != !y->owner)
        return x->owner ? -1 : 1;
    if ((c = g_strcmp0(x->owner, y->owner)) != 0)
        return c;
    if ((c = g_strcmp0(x->name, y->name)) != 0)
        return c;
    return g_strcmp0(x->node, y->node);
}

/**
 * wirt_service_list_vms:
 * @owner: (nullable): only this owner's VMs
 * Returns: (transfer container) (element-type WirtVm): the VMs @actor may see.
 */
GPtrArray *
wirt_service_list_vms(WirtService *service, const WirtActor *actor, const char *owner,
                      GError **error)
{
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GPtrArray) visible = g_ptr_array_new_with_free_func(vm_unref_cb);

    if (owner && !wirt_name_validate_owner(owner, error))
        return NULL;
    if (!wirt_policy_check(service->config, actor, WIRT_ACTION_LIST, NULL, NULL, error))
        return NULL;
    /* Where users see only their own VMs, theirs are all that can pass: take them
     * from the owner index instead of deciding on everyone's. */
    if (!owner && !actor->is_admin &&
        (service->config->security_mode == WIRT_SECURITY_OWNER_VIEW ||
         service->config->security_mode == WIRT_SECURITY_OWNER_MANAGE))
        owner = actor->user;
    all =
        owner ? wirt_hosts_list_vms_of(service->hosts, owner) : wirt_hosts_list_vms(service->hosts);
    for (guint i = 0; i < all->len; i++) {
        WirtVm *vm = g_ptr_array_index(all, i);
        if (owner && g_strcmp0(vm->owner, owner) != 0)
            continue;
        if (wirt_policy_decide(service->config, actor, WIRT_ACTION_VIEW, vm->owner, NULL) ==
            WIRT_POLICY_ALLOW)
            g_ptr_array_add(visible, wirt_vm_ref(vm));
    }
    g_ptr_array_sort(visible, compare_vms);
    return g_steal_pointer(&visible);
}

/**
 * wirt_service_owned_vms:
 * Returns: (transfer container) (element-type WirtVm): @owner's VMs, refs held,
 * with no policy decision: for the daemon's own front doors (the files API),
 * which already know @owner is the member asking about their own VMs.
 */
GPtrArray *
wirt_service_owned_vms(WirtService *service, const char *owner)
{
    g_autoptr(GPtrArray) owned = wirt_hosts_list_vms_of(service->hosts, owner);
    GPtrArray *out = g_ptr_array_new_full(owned->len, vm_unref_cb);

    for (guint i = 0; i < owned->len; i++)
        g_ptr_array_add(out, wirt_vm_ref(g_ptr_array_index(owned, i)));
    return out;
}

/**
 * wirt_service_owned_vm:
 * Returns: (transfer full) (nullable): @owner's VM @name, no policy decision (as above).
 */
WirtVm *
wirt_service_owned_vm(WirtService *service, const char *owner, const char *name)
{
    return wirt_hosts_find_vm(service->hosts, owner, name);
}

/**
 * wirt_service_get_vm:
 * @owner: (nullable): the owner; %NULL means the actor
 * Returns: (transfer full) (nullable): the VM, or %NULL with %WIRT_ERROR_NOT_FOUND
 * (also when it is someone else's and the mode hides it).
 */
WirtVm *
wirt_service_get_vm(WirtService *service, const WirtActor *actor, const char *owner,
                    const char *name, GError **error)
{
    return resolve(service, actor, owner, name, WIRT_ACTION_VIEW, error);
}

/**
 * wirt_service_finish:
 * Returns: (transfer full) (nullable): the VM after the action, or %NULL with @error.
 */
WirtVm *
wirt_service_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---------------------------------------------------------------- workers */

typedef WirtVm *(*OpWorkerFunc)(Op *op, GError **error);

static void
worker_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
              GCancellable *cancellable G_GNUC_UNUSED)
{
    Op *op = task_data;
    OpWorkerFunc func = g_object_get_data(G_OBJECT(task), "wirt-worker");
    GError *error = NULL;
    WirtVm *vm = func(op, &error);

    if (vm)
        g_task_return_pointer(task, vm, vm_unref_cb);
    else
        g_task_return_error(task, error);
}

static void op_worker_done(GObject *source, GAsyncResult *res, gpointer user_data);

/* Runs @func(op) in a worker; its result completes @task on the main loop. */
static void
op_run(GTask *task, OpWorkerFunc func)
{
    GTask *inner = g_task_new(NULL, NULL, op_worker_done, task); /* @task ref moves in */

    g_task_set_task_data(inner, g_task_get_task_data(task), NULL);
    g_object_set_data(G_OBJECT(inner), "wirt-worker", func);
    g_task_run_in_thread(inner, worker_thread);
    g_object_unref(inner);
}

static WirtVm *
work_action(Op *op, GError **error)
{
    WirtAction action = op->action;

    if (action == WIRT_ACTION_STOP && op->params.force)
        action = WIRT_ACTION_DESTROY;
    if (!wirt_virt_vm_action(op->conn, op->vm->uuid, action, op->params.enable, error))
        return NULL;
    return wirt_virt_vm_fetch(op->conn, op->vm->uuid, error);
}

static WirtVm *
work_power_off(Op *op, GError **error)
{
    g_autoptr(GError) local = NULL;

    /* CONFLICT: the guest shut down just as the timeout fired; it is off either way. */
    if (!wirt_virt_vm_action(op->conn, op->vm->uuid, WIRT_ACTION_DESTROY, FALSE, &local) &&
        !g_error_matches(local, WIRT_ERROR, WIRT_ERROR_CONFLICT)) {
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    return wirt_virt_vm_fetch(op->conn, op->vm->uuid, error);
}

static WirtVm *
work_configure(Op *op, GError **error)
{
    if (!wirt_virt_vm_configure(op->conn, op->vm->uuid, op->params.memory_mib, op->params.vcpus,
                                error))
        return NULL;
    return wirt_virt_vm_fetch(op->conn, op->vm->uuid, error);
}

static WirtVm *
work_delete(Op *op, GError **error)
{
    if (!wirt_virt_vm_delete(op->conn, op->vm->uuid, error))
        return NULL;
    return wirt_vm_ref(op->vm);
}

static WirtVm *
work_create(Op *op, GError **error)
{
    WirtConn *best = NULL;
    guint64 best_free = 0;
    g_autoptr(GError) last = NULL;

    /* Placement: the up host of the pool with the most free memory. */
    for (guint i = 0; i < op->candidates->len; i++) {
        WirtConn *conn = g_ptr_array_index(op->candidates, i);
        guint64 free_mib = 0;
        g_clear_error(&last);
        if (!wirt_virt_free_memory(conn, &free_mib, &last))
            continue;
        if (!best || free_mib > best_free) {
            best = conn;
            best_free = free_mib;
        }
    }
    if (!best) {
        if (last)
            g_propagate_error(error, g_steal_pointer(&last));
        else
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "no host of pool %s is up",
                        op->spec.pool);
        return NULL;
    }
    return wirt_virt_define_vm(best, &op->spec, &op->meta, error);
}

static WirtVm *
work_adopt(Op *op, GError **error)
{
    if (!wirt_virt_vm_set_meta(op->conn, op->vm->uuid, &op->meta, error))
        return NULL;
    return wirt_virt_vm_fetch(op->conn, op->vm->uuid, error);
}

static void stop_wait(GTask *task, WirtVm *vm);

static void
op_worker_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GTask) task = user_data;
    Op *op = g_task_get_task_data(task);
    WirtService *service = op->service;
    GError *error = NULL;
    g_autoptr(WirtVm) vm = g_task_propagate_pointer(G_TASK(res), &error);

    if (!vm) {
        op_fail(task, error);
        return;
    }
    g_free(op->node);
    op->node = g_strdup(vm->node);
    if (op->action == WIRT_ACTION_DELETE) {
        wirt_hosts_remove_vm(service->hosts, vm->node, vm->uuid);
    } else {
        wirt_hosts_update_vm(service->hosts, vm);
    }
    if (op->action == WIRT_ACTION_STOP && !op->params.force && op->timeout_id == 0 &&
        vm->state != WIRT_VM_STATE_SHUTOFF && vm->state != WIRT_VM_STATE_CRASHED) {
        stop_wait(g_steal_pointer(&task), vm);
        return;
    }
    op_succeed(task, g_steal_pointer(&vm));
}

/* ------------------------------------------------------- graceful stop */

static void
stop_done(WirtService *service, Op *op, WirtVm *vm, GError *error)
{
    GTask *task = op->task;

    service->stop_waits = g_list_remove(service->stop_waits, op);
    op->task = NULL;
    g_clear_handle_id(&op->timeout_id, g_source_remove);
    if (error)
        op_fail(task, error);
    else
        op_succeed(task, wirt_vm_ref(vm));
    g_object_unref(task);
}

static gboolean
on_stop_timeout(gpointer user_data)
{
    Op *op = user_data;
    GTask *task = op->task;

    /* The guest did not shut down in time: power it off. */
    op->timeout_id = 0;
    op->service->stop_waits = g_list_remove(op->service->stop_waits, op);
    op->task = NULL;
    g_free(op->detail);
    op->detail = g_strdup_printf("no shutdown after %d s: powered off", op->params.timeout);
    op->params.force = TRUE;
    op_run(task, work_power_off); /* the task's ref moves into the worker */
    return G_SOURCE_REMOVE;
}

static void
stop_wait(GTask *task, WirtVm *vm)
{
    Op *op = g_task_get_task_data(task);
    WirtService *service = op->service;
    gint timeout =
        op->params.timeout >= 0 ? op->params.timeout : (gint)service->config->stop_timeout;

    op->params.timeout = timeout;
    g_clear_pointer(&op->vm, wirt_vm_unref);
    op->vm = wirt_vm_ref(vm);
    op->task = task;
    service->stop_waits = g_list_prepend(service->stop_waits, op);
    op->timeout_id = g_timeout_add((guint)timeout * 1000, on_stop_timeout, op);
}

static void
watch_free(gpointer data)
{
    Watch *watch = data;

    wirt_actor_free(watch->actor);
    g_free(watch);
}

/**
 * wirt_service_watch_add:
 * @actor: who watches; copied
 * @func: called for each change @actor may see
 * Returns: a non-zero id for wirt_service_watch_remove(), or 0 with @error set
 * (DENIED for outsiders, CONFLICT past the per-user limit).
 */
guint
wirt_service_watch_add(WirtService *service, const WirtActor *actor, WirtServiceEventFunc func,
                       gpointer user_data, GError **error)
{
    Watch *watch;
    guint mine = 0;

    if (!wirt_policy_check(service->config, actor, WIRT_ACTION_LIST, NULL, NULL, error))
        return 0;
    for (guint i = 0; i < service->watches->len; i++) {
        const Watch *w = g_ptr_array_index(service->watches, i);
        if (w->actor && w->actor->uid == actor->uid)
            mine++;
    }
    if (mine >= WIRT_SERVICE_WATCHES_PER_USER) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                    "events: %s already has %u event streams open (the limit)", actor->user, mine);
        return 0;
    }
    watch = g_new0(Watch, 1);
    watch->id = ++service->next_watch_id;
    watch->actor = wirt_actor_copy(actor);
    watch->func = func;
    watch->user_data = user_data;
    g_ptr_array_add(service->watches, watch);
    return watch->id;
}

/**
 * wirt_service_watch_all:
 * @func: called for every change of every VM, owned or not
 *
 * For the daemon's own front doors (the files API), which decide per user
 * themselves. Returns: an id for wirt_service_watch_remove().
 */
guint
wirt_service_watch_all(WirtService *service, WirtServiceEventFunc func, gpointer user_data)
{
    Watch *watch = g_new0(Watch, 1);

    watch->id = ++service->next_watch_id;
    watch->func = func;
    watch->user_data = user_data;
    g_ptr_array_add(service->watches, watch);
    return watch->id;
}

/**
 * wirt_service_set_record_func:
 * @func: (nullable): called on the main loop after each history record is written
 */
void
wirt_service_set_record_func(WirtService *service, WirtServiceRecordFunc func, gpointer user_data)
{
    service->record_func = func;
    service->record_data = user_data;
}

/**
 * wirt_service_watch_remove:
 * @id: an id from wirt_service_watch_add(); unknown ids are ignored
 */
void
wirt_service_watch_remove(WirtService *service, guint id)
{
    for (guint i = 0; i < service->watches->len; i++) {
        if (((Watch *)g_ptr_array_index(service->watches, i))->id == id) {
            g_ptr_array_remove_index(service->watches, i);
            return;
        }
    }
}

static void
notify_watches(WirtService *service, WirtVmChange change, WirtVm *vm)
{
    /* A callback may remove watches (a client that went away): walk a snapshot
     * of the ids and look each one up again. */
    g_autoptr(GArray) ids = g_array_sized_new(FALSE, FALSE, sizeof(guint), service->watches->len);

    for (guint i = 0; i < service->watches->len; i++)
        g_array_append_val(ids, ((Watch *)g_ptr_array_index(service->watches, i))->id);
    for (guint i = 0; i < ids->len; i++) {
        guint id = g_array_index(ids, guint, i);
        for (guint j = 0; j < service->watches->len; j++) {
            Watch *watch = g_ptr_array_index(service->watches, j);
            if (watch->id != id)
                continue;
            if (change == WIRT_VM_CHANGE_ADDRESSES && !watch->actor)
                break; /* the daemon's own doors want VM snapshots only */
            if (!watch->actor || wirt_policy_decide(service->config, watch->actor, WIRT_ACTION_VIEW,
                                                    vm->owner, NULL) == WIRT_POLICY_ALLOW)
                watch->func(change, vm, watch->user_data);
            break;
        }
    }
}

static void
on_vm_changed(WirtVmChange change, WirtVm *vm, gpointer user_data)
{
    WirtService *service = user_data;

    notify_watches(service, change, vm);

    for (GList *l = service->stop_waits; l;) {
        Op *op = l->data;
        l = l->next;
        if (!g_str_equal(op->vm->uuid, vm->uuid) || g_strcmp0(op->vm->node, vm->node) != 0)
            continue;
        if (change == WIRT_VM_CHANGE_REMOVED)
            stop_done(service, op, vm,
                      g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                                  "vm %s: went away while stopping", op->label));
        else if (vm->state == WIRT_VM_STATE_SHUTOFF || vm->state == WIRT_VM_STATE_CRASHED)
            stop_done(service, op, vm, NULL);
    }
}

/* ---------------------------------------------------------------- actions */

static void usage_with_reservations(WirtService *service, const char *owner, WirtUsage *out_usage);
static void quota_of(WirtService *service, const char *user, WirtQuota *out_quota);

/* CONFIGURE: the per-VM caps of create, and the quota for what grows. */
static gboolean
prepare_configure(WirtService *service, Op *op, GError **error)
{
    const WirtConfig *config = service->config;
    guint64 memory = op->params.memory_mib ? op->params.memory_mib : op->vm->memory_mib;
    guint vcpus = op->params.vcpus ? op->params.vcpus : op->vm->vcpus;
    WirtUsage usage, growth = {0};
    WirtQuota quota;

    if (!op->params.memory_mib && !op->params.vcpus) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "configure %s: nothing to change",
                    op->label);
        return FALSE;
    }
    if (memory < 16 || memory > config->max_memory_mib) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "memory: %" G_GUINT64_FORMAT " MiB is outside 16 to %" G_GUINT64_FORMAT
                    " MiB (max-memory-mib)",
                    memory, config->max_memory_mib);
        return FALSE;
    }
    if (vcpus < 1 || vcpus > config->max_vcpus) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "vcpus: %u is outside 1 to %u (max-vcpus)", vcpus, config->max_vcpus);
        return FALSE;
    }
    op->detail = g_strdup_printf("memory_mib=%" G_GUINT64_FORMAT " vcpus=%u", memory, vcpus);
    if (memory > op->vm->memory_mib)
        growth.memory_mib = (gint64)(memory - op->vm->memory_mib);
    if (vcpus > op->vm->vcpus)
        growth.vcpus = (gint64)(vcpus - op->vm->vcpus);
    if (!growth.memory_mib && !growth.vcpus)
        return TRUE;
    quota_of(service, op->owner, &quota);
    usage_with_reservations(service, op->owner, &usage);
    return wirt_quota_check(&quota, &usage, &growth, error);
}

/**
 * wirt_service_vm_action_async:
 * @owner: (nullable): the VM's owner; %NULL means the actor
 * @action: START, STOP, DESTROY, REBOOT, SUSPEND, RESUME, AUTOSTART or DELETE
 * @params: (nullable): force/timeout for STOP, enable for AUTOSTART
 *
 * Resolves and checks on the main loop, acts in a worker, and completes with
 * the VM's new snapshot (DELETE: its last one). Finish with wirt_service_finish().
 */
void
wirt_service_vm_action_async(WirtService *service, const WirtActor *actor, const char *owner,
                             const char *name, WirtAction action, const WirtActionParams *params,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = op_task_new(service, actor, action, callback, user_data);
    Op *op = g_task_get_task_data(task);
    GError *error = NULL;
    WirtHost *host;

    if (params)
        op->params = *params;
    op->owner = g_strdup(owner ? owner : actor->user);
    op->name = g_strdup(name);
    op->label = make_label(actor, op->owner, name);
    if (action == WIRT_ACTION_AUTOSTART)
        op->detail = g_strdup(op->params.enable ? "enable" : "disable");
    else if (action == WIRT_ACTION_STOP && op->params.force)
        op->detail = g_strdup("force");

    switch (action) {
    case WIRT_ACTION_START:
    case WIRT_ACTION_STOP:
    case WIRT_ACTION_DESTROY:
    case WIRT_ACTION_REBOOT:
    case WIRT_ACTION_SUSPEND:
    case WIRT_ACTION_RESUME:
    case WIRT_ACTION_AUTOSTART:
    case WIRT_ACTION_CONFIGURE:
    case WIRT_ACTION_DELETE:
        break;
    default:
        op_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID, "%s is not a VM action",
                                  wirt_action_to_string(action)));
        return;
    }
    if (!(op->vm = resolve(service, actor, owner, name, action, &error))) {
        op_fail(task, error);
        return;
    }
    op->node = g_strdup(op->vm->node);
    if (action == WIRT_ACTION_CONFIGURE && !prepare_configure(service, op, &error)) {
        op_fail(task, error);
        return;
    }
    host = wirt_hosts_find_host(service->hosts, op->vm->node);
    if (!host || !(op->conn = wirt_host_get_conn(host, &error))) {
        op_fail(task, error ? error
                            : g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                                          "vm %s: host %s is gone", op->label, op->vm->node));
        return;
    }
    op_run(g_steal_pointer(&task), action == WIRT_ACTION_DELETE      ? work_delete
                                   : action == WIRT_ACTION_CONFIGURE ? work_configure
                                                                     : work_action);
}

static gboolean
check_owner_exists(const char *owner, struct passwd **out_pw, GError **error)
{
    struct passwd *pw = getpwnam(owner);

    if (!pw) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "no such user: %s", owner);
        return FALSE;
    }
    *out_pw = pw;
    return TRUE;
}

static void
usage_with_reservations(WirtService *service, const char *owner, WirtUsage *out_usage)
{
    g_autoptr(GPtrArray) all = wirt_hosts_list_vms(service->hosts);
    const WirtUsage *r = g_hash_table_lookup(service->reserved, owner);

    wirt_usage_for_owner(all, owner, out_usage);
    if (r) {
        out_usage->vms += r->vms;
        out_usage->vcpus += r->vcpus;
        out_usage->memory_mib += r->memory_mib;
    }
}

static void
quota_of(WirtService *service, const char *user, WirtQuota *out_quota)
{
    struct passwd *pw = getpwnam(user);
    g_auto(GStrv) groups = pw ? groups_of(pw->pw_name, pw->pw_gid) : NULL;

    wirt_config_quota_for(service->config, user, (const char *const *)groups, out_quota);
}

/* A guest user name for `wirt ssh`: what useradd takes, nothing a shell or ssh reads twice. */
static gboolean
check_ssh_user(const char *user, GError **error)
{
    gsize len = strlen(user);

    if (len == 0 || len > 32 || !(g_ascii_islower(user[0]) || user[0] == '_') ||
        strspn(user, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "ssh_user: '%.40s' is not a user name (a-z, 0-9, '_', '-'; up to 32)", user);
        return FALSE;
    }
    return TRUE;
}

/* create --box: the box, disk size, keys, guest user and network, all checked before a
 * worker touches a host. The worker tries the owner's box and network before the shared
 * box and the admins' network of the same name. */
static gboolean
prepare_box(WirtService *service, Op *op, const WirtVmSpec *spec, const WirtPoolConfig *pool,
            GError **error)
{
    const WirtConfig *config = service->config;
    const WirtActor *actor = op->actor;
    guint n_keys = spec->ssh_keys ? g_strv_length(spec->ssh_keys) : 0;
    GString *detail;

    if (!wirt_name_validate(spec->box, error)) {
        g_prefix_error(error, "box: ");
        return FALSE;
    }
    if (!wirt_policy_check_box(config, actor, WIRT_ACTION_BOX_VIEW, op->owner, spec->box, error) ||
        !(op->spec.box_volume = wirt_virt_box_volume_name(op->owner, spec->box, error)) ||
        !(op->spec.box_shared_volume = wirt_virt_box_volume_name(NULL, spec->box, error)))
        return FALSE;
    op->spec.box = g_strdup(spec->box);
    if (spec->disk_bytes > (guint64)config->max_disk_gib << 30) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "disk_bytes: %" G_GUINT64_FORMAT " bytes is over %u GiB (max-disk-gib)",
                    spec->disk_bytes, config->max_disk_gib);
        return FALSE;
    }
    op->spec.disk_bytes = spec->disk_bytes;
    if (n_keys > WIRT_SEED_MAX_KEYS) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "ssh_keys: %u keys, at most %u", n_keys,
                    WIRT_SEED_MAX_KEYS);
        return FALSE;
    }
    for (guint i = 0; i < n_keys; i++) {
        if (!wirt_seed_check_key(spec->ssh_keys[i], error)) {
            g_prefix_error(error, "ssh_keys[%u]: ", i);
            return FALSE;
        }
    }
    op->spec.ssh_keys = g_strdupv(spec->ssh_keys);
    if (spec->ssh_user && !check_ssh_user(spec->ssh_user, error))
        return FALSE;
    op->meta.ssh_user = g_strdup(spec->ssh_user ? spec->ssh_user : "vagrant");
    if (spec->mac && !wirt_net_mac_validate(spec->mac, error))
        return FALSE;
    op->spec.mac = g_strdup(spec->mac);
    if ((spec->ip || spec->mac) && !spec->network) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: needs a network",
                    spec->ip ? "ip" : "mac");
        return FALSE;
    }
    op->spec.ip = g_strdup(spec->ip);
    if (spec->network) {
        const WirtNetworkConfig *cn = wirt_config_find_network(config, spec->network);

        if (!wirt_name_validate(spec->network, error)) {
            g_prefix_error(error, "network: ");
            return FALSE;
        }
        op->spec.network = wirt_net_libvirt_name(op->owner, spec->network);
        /* An admins' network: not a hidden one for users, and only in its pool. */
        if (cn && (!cn->hidden || actor->is_admin) &&
            (!cn->pool || g_str_equal(cn->pool, pool->name))) {
            op->spec.network_admin = wirt_net_libvirt_name(NULL, cn->name);
            if (!(op->spec.network_admin_xml = wirt_config_network_xml(cn, error)))
                return FALSE;
        }
    }
    op->spec.storage_pool = g_strdup(config->storage_pool);
    detail = g_string_new(op->detail);
    g_string_append_printf(detail, " box=%s", spec->box);
    if (spec->network)
        g_string_append_printf(detail, " network=%s", spec->network);
    if (spec->ip)
        g_string_append_printf(detail, " ip=%s", spec->ip);
    g_free(op->detail);
    op->detail = g_string_free(detail, FALSE);
    return TRUE;
}

static gboolean
prepare_create(WirtService *service, Op *op, const WirtVmSpec *spec, GError **error)
{
    const WirtConfig *config = service->config;
    const WirtActor *actor = op->actor;
    const WirtPoolConfig *pool;
    struct passwd *pw = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(WirtVm) existing = NULL;
    g_autofree char *key = NULL;
    WirtQuota quota;
    WirtUsage usage, *reserved;
    gboolean node_known = FALSE;

    if (!wirt_policy_check(config, actor, WIRT_ACTION_CREATE, NULL, NULL, error))
        return FALSE;
    if (spec->owner && !actor->is_admin && g_strcmp0(spec->owner, actor->user) != 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "create: only admins may create VMs for another user");
        return FALSE;
    }
    if (!wirt_name_validate(op->name, error) || !wirt_name_validate_owner(op->owner, error) ||
        !check_owner_exists(op->owner, &pw, error))
        return FALSE;
    op->spec.memory_mib = spec->memory_mib ? spec->memory_mib : config->default_memory_mib;
    op->spec.vcpus = spec->vcpus ? spec->vcpus : config->default_vcpus;
    if (op->spec.memory_mib < 16 || op->spec.memory_mib > config->max_memory_mib) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "memory: %" G_GUINT64_FORMAT " MiB is outside 16 to %" G_GUINT64_FORMAT
                    " MiB (max-memory-mib)",
                    op->spec.memory_mib, config->max_memory_mib);
        return FALSE;
    }
    if (op->spec.vcpus < 1 || op->spec.vcpus > config->max_vcpus) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "vcpus: %u is outside 1 to %u (max-vcpus)", op->spec.vcpus, config->max_vcpus);
        return FALSE;
    }
    pool = spec->pool ? wirt_config_find_pool(config, spec->pool)
                      : g_ptr_array_index(config->pools, 0);
    if (!pool) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "pool %s: not found", spec->pool);
        return FALSE;
    }
    op->spec.pool = g_strdup(pool->name);
    op->spec.node = g_strdup(spec->node);
    op->detail = g_strdup_printf("memory_mib=%" G_GUINT64_FORMAT " vcpus=%u pool=%s",
                                 op->spec.memory_mib, op->spec.vcpus, pool->name);
    op->spec.domain_type = g_strdup(config->domain_type);
    if (!wirt_vm_options_check(spec, error))
        return FALSE;
    op->spec.machine = g_strdup(spec->machine);
    op->spec.disk_cache = g_strdup(spec->disk_cache);
    op->spec.nested = spec->nested;
    if (spec->box) {
        if (!prepare_box(service, op, spec, pool, error))
            return FALSE;
    } else if (spec->network || spec->ip || spec->mac || spec->ssh_keys || spec->ssh_user ||
               spec->disk_bytes || spec->disk_cache) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "create: network, ip, mac, ssh keys, ssh user, disk size and disk cache need "
                    "a box");
        return FALSE;
    }

    key = g_strconcat(op->owner, "/", op->name, NULL);
    existing = wirt_hosts_find_vm(service->hosts, op->owner, op->name);
    if (existing || g_hash_table_contains(service->reserved_names, key)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "vm %s already exists", op->label);
        return FALSE;
    }

    /* Quota: what the owner holds on every host, plus creates still in flight. */
    quota_of(service, op->owner, &quota);
    usage_with_reservations(service, op->owner, &usage);
    op->reservation = (WirtUsage){1, op->spec.vcpus, (gint64)op->spec.memory_mib};
    if (!wirt_quota_check(&quota, &usage, &op->reservation, error))
        return FALSE;

    /* Placement candidates: the pool's up hosts (or the one asked for). */
    op->candidates = g_ptr_array_new_with_free_func(conn_unref_cb);
    hosts = wirt_hosts_list(service->hosts);
    for (guint i = 0; i < hosts->len; i++) {
        WirtHost *host = g_ptr_array_index(hosts, i);
        WirtConn *conn;
        if (!g_str_equal(wirt_host_get_pool(host), pool->name))
            continue;
        if (spec->node && !g_str_equal(wirt_host_get_node(host), spec->node))
            continue;
        node_known = TRUE;
        if ((conn = wirt_host_get_conn(host, NULL)))
            g_ptr_array_add(op->candidates, conn);
    }
    if (op->candidates->len == 0) {
        if (spec->node && !node_known)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "node %s: not found in pool %s",
                        spec->node, pool->name);
        else if (spec->node)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "node %s of pool %s is down",
                        spec->node, pool->name);
        else
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "no host of pool %s is up",
                        pool->name);
        return FALSE;
    }

    op->spec.owner = g_strdup(op->owner);
    op->spec.name = g_strdup(op->name);
    op->meta.owner = g_strdup(op->owner);
    op->meta.name = g_strdup(op->name);
    op->meta.created = wirt_util_iso8601_now();
    op->meta.created_by = g_strdup(actor->user);
    op->meta.door = g_strdup(wirt_door_to_string(actor->door));

    reserved = g_hash_table_lookup(service->reserved, op->owner);
    if (!reserved) {
        reserved = g_new0(WirtUsage, 1);
        g_hash_table_insert(service->reserved, g_strdup(op->owner), reserved);
    }
    reserved->vms += op->reservation.vms;
    reserved->vcpus += op->reservation.vcpus;
    reserved->memory_mib += op->reservation.memory_mib;
    g_hash_table_add(service->reserved_names, g_steal_pointer(&key));
    op->reserved = TRUE;
    return TRUE;
}

/**
 * wirt_service_create_async:
 * @spec: name (required), memory, vcpus, pool, node; owner for admins
 *
 * Checks policy, the name, limits and the quota on the main loop, then picks
 * the host and defines the VM in a worker. Finish with wirt_service_finish().
 */
void
wirt_service_create_async(WirtService *service, const WirtActor *actor, const WirtVmSpec *spec,
                          GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = op_task_new(service, actor, WIRT_ACTION_CREATE, callback, user_data);
    Op *op = g_task_get_task_data(task);
    GError *error = NULL;

    op->owner = g_strdup(spec->owner ? spec->owner : actor->user);
    op->name = g_strdup(spec->name);
    op->label = make_label(actor, op->owner, op->name ? op->name : "");
    if (!prepare_create(service, op, spec, &error)) {
        op_fail(task, error);
        return;
    }
    op_run(g_steal_pointer(&task), work_create);
}

/**
 * wirt_service_adopt_async:
 * @node: (nullable): the host, when several have a domain of that name
 * @domain: the libvirt domain name
 * @owner: the user who will own it
 * @name: the VM name the owner will use
 *
 * Admins only. Writes wirt's metadata into an existing domain.
 */
void
wirt_service_adopt_async(WirtService *service, const WirtActor *actor, const char *node,
                         const char *domain, const char *owner, const char *name,
                         GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task = op_task_new(service, actor, WIRT_ACTION_ADOPT, callback, user_data);
    Op *op = g_task_get_task_data(task);
    g_autoptr(WirtVm) existing = NULL;
    struct passwd *pw = NULL;
    GError *error = NULL;
    WirtHost *host;

    op->owner = g_strdup(owner);
    op->name = g_strdup(name);
    op->node = g_strdup(node);
    op->detail = g_strdup_printf("domain=%s", domain ? domain : "");
    op->label = g_strdup_printf("%s/%s", owner ? owner : "", name ? name : "");
    if (!wirt_policy_check(service->config, actor, WIRT_ACTION_ADOPT, NULL, NULL, &error) ||
        !domain || !*domain || !wirt_name_validate_owner(owner, &error) ||
        !wirt_name_validate(name, &error) || !check_owner_exists(owner, &pw, &error)) {
        if (!error)
            error = g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID, "adopt: no domain given");
        op_fail(task, error);
        return;
    }
    op->vm = wirt_hosts_find_domain(service->hosts, node, domain);
    if (!op->vm) {
        op_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "domain %s: not found%s%s",
                                  domain, node ? " on " : "", node ? node : ""));
        return;
    }
    existing = wirt_hosts_find_vm(service->hosts, owner, name);
    if (existing && !g_str_equal(existing->uuid, op->vm->uuid)) {
        op_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT, "vm %s/%s already exists", owner,
                                  name));
        return;
    }
    g_free(op->node);
    op->node = g_strdup(op->vm->node);
    host = wirt_hosts_find_host(service->hosts, op->vm->node);
    if (!host || !(op->conn = wirt_host_get_conn(host, &error))) {
        op_fail(task,
                error ? error
                      : g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "host %s is gone", op->node));
        return;
    }
    op->meta.owner = g_strdup(owner);
    op->meta.name = g_strdup(name);
    op->meta.created = op->vm->created ? g_strdup(op->vm->created) : wirt_util_iso8601_now();
    op->meta.created_by = g_strdup(actor->user);
    op->meta.door = g_strdup("adopt");
    op_run(g_steal_pointer(&task), work_adopt);
}

/* ------------------------------------------------------------------ views */

static void
add_usage(JsonBuilder *b, const char *key, const WirtUsage *usage)
{
    json_builder_set_member_name(b, key);
    json_builder_add_value(b, wirt_api_usage_to_json(usage));
}

/**
 * wirt_service_whoami:
 * Returns: (transfer full): GET /1.0.
 */
JsonNode *
wirt_service_whoami(WirtService *service, const WirtActor *actor)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    const WirtConfig *config = service->config;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "api_version");
    json_builder_add_string_value(b, WIRT_API_VERSION);
    json_builder_set_member_name(b, "server_version");
    json_builder_add_string_value(b, WIRT_VERSION);
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, actor->user);
    json_builder_set_member_name(b, "uid");
    json_builder_add_int_value(b, actor->uid);
    json_builder_set_member_name(b, "admin");
    json_builder_add_boolean_value(b, actor->is_admin);
    json_builder_set_member_name(b, "security_mode");
    json_builder_add_string_value(b, wirt_security_mode_to_string(config->security_mode));
    json_builder_set_member_name(b, "allow_delete");
    json_builder_add_boolean_value(b, config->allow_delete);
    json_builder_set_member_name(b, "allow_attach_disk");
    json_builder_add_boolean_value(b, config->allow_attach_disk);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void
usage_where(GPtrArray *vms, const char *owner, const char *pool, const char *node,
            WirtUsage *out_usage)
{
    g_autoptr(GPtrArray) subset = g_ptr_array_new();

    for (guint i = 0; i < vms->len; i++) {
        WirtVm *vm = g_ptr_array_index(vms, i);
        if ((pool && g_strcmp0(vm->pool, pool) != 0) || (node && g_strcmp0(vm->node, node) != 0))
            continue;
        g_ptr_array_add(subset, vm);
    }
    wirt_usage_for_owner(subset, owner, out_usage);
}

/**
 * wirt_service_pools:
 * Returns: (transfer full) (nullable): GET /1.0/pools; URIs for admins only.
 */
JsonNode *
wirt_service_pools(WirtService *service, const WirtActor *actor, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GPtrArray) hosts = wirt_hosts_list(service->hosts);
    g_autoptr(GPtrArray) vms = wirt_hosts_list_vms(service->hosts);

    if (!wirt_policy_check(service->config, actor, WIRT_ACTION_VIEW_HOSTS, NULL, NULL, error))
        return NULL;
    json_builder_begin_array(b);
    for (guint p = 0; p < service->config->pools->len; p++) {
        const WirtPoolConfig *pool = g_ptr_array_index(service->config->pools, p);
        WirtUsage usage;
        gint64 up = 0, down = 0;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, pool->name);
        json_builder_set_member_name(b, "nodes");
        json_builder_begin_array(b);
        for (guint h = 0; h < hosts->len; h++) {
            WirtHost *host = g_ptr_array_index(hosts, h);
            if (!g_str_equal(wirt_host_get_pool(host), pool->name))
                continue;
            json_builder_add_string_value(b, wirt_host_get_node(host));
            if (wirt_host_is_up(host))
                up++;
            else
                down++;
        }
        json_builder_end_array(b);
        json_builder_set_member_name(b, "up");
        json_builder_add_int_value(b, up);
        json_builder_set_member_name(b, "down");
        json_builder_add_int_value(b, down);
        usage_where(vms, actor->user, pool->name, NULL, &usage);
        add_usage(b, "usage", &usage);
        if (actor->is_admin) {
            json_builder_set_member_name(b, "uris");
            json_builder_begin_array(b);
            for (int i = 0; pool->uris[i]; i++)
                json_builder_add_string_value(b, pool->uris[i]);
            json_builder_end_array(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

/**
 * wirt_service_nodes:
 * Returns: (transfer full) (nullable): GET /1.0/nodes; URIs, memory and
 * whole-host VM counts for admins only.
 */
JsonNode *
wirt_service_nodes(WirtService *service, const WirtActor *actor, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GPtrArray) hosts = wirt_hosts_list(service->hosts);
    g_autoptr(GPtrArray) vms = wirt_hosts_list_vms(service->hosts);

    if (!wirt_policy_check(service->config, actor, WIRT_ACTION_VIEW_HOSTS, NULL, NULL, error))
        return NULL;
    json_builder_begin_array(b);
    for (guint h = 0; h < hosts->len; h++) {
        WirtHost *host = g_ptr_array_index(hosts, h);
        const char *node = wirt_host_get_node(host);
        WirtUsage usage;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, node);
        json_builder_set_member_name(b, "pool");
        json_builder_add_string_value(b, wirt_host_get_pool(host));
        json_builder_set_member_name(b, "up");
        json_builder_add_boolean_value(b, wirt_host_is_up(host));
        usage_where(vms, actor->user, NULL, node, &usage);
        add_usage(b, "usage", &usage);
        if (actor->is_admin) {
            gint64 count = 0;
            for (guint i = 0; i < vms->len; i++)
                if (g_strcmp0(((WirtVm *)g_ptr_array_index(vms, i))->node, node) == 0)
                    count++;
            json_builder_set_member_name(b, "uri");
            json_builder_add_string_value(b, wirt_host_get_uri(host));
            json_builder_set_member_name(b, "memory_mib");
            json_builder_add_int_value(b, (gint64)wirt_host_get_memory_mib(host));
            json_builder_set_member_name(b, "vms");
            json_builder_add_int_value(b, count);
            json_builder_set_member_name(b, "error");
            if (wirt_host_get_last_error(host) && !wirt_host_is_up(host))
                json_builder_add_string_value(b, wirt_host_get_last_error(host));
            else
                json_builder_add_null_value(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

/**
 * wirt_service_quota:
 * @user: (nullable): whose quota; only admins may name someone else
 * Returns: (transfer full) (nullable): GET /1.0/quota.
 */
JsonNode *
wirt_service_quota(WirtService *service, const WirtActor *actor, const char *user, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    WirtQuota quota;
    WirtUsage usage;

    if (!user)
        user = actor->user;
    if (!wirt_name_validate_owner(user, error))
        return NULL;
    if (!actor->is_admin && !g_str_equal(user, actor->user)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED, "quota: only admins may see %s's", user);
        return NULL;
    }
    quota_of(service, user, &quota);
    usage_with_reservations(service, user, &usage);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, user);
    json_builder_set_member_name(b, "quota");
    json_builder_add_value(b, wirt_api_quota_to_json(&quota));
    add_usage(b, "usage", &usage);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

typedef struct {
    const WirtActor *actor;
    const char *owner;
    const char *vm;
    GQueue lines; /* JsonNode*, the newest `limit` */
    guint limit;
} HistoryQuery;

static gboolean
history_visit(const WirtHistoryRecord *rec, gpointer data)
{
    HistoryQuery *q = data;

    if (!q->actor->is_admin && g_strcmp0(rec->actor, q->actor->user) != 0 &&
        g_strcmp0(rec->owner, q->actor->user) != 0)
        return TRUE;
    if (q->owner && g_strcmp0(rec->owner, q->owner) != 0)
        return TRUE;
    if (q->vm && g_strcmp0(rec->vm, q->vm) != 0)
        return TRUE;
    g_queue_push_tail(&q->lines, wirt_history_record_to_json(rec));
    if (q->lines.length > q->limit)
        json_node_unref(g_queue_pop_head(&q->lines));
    return TRUE;
}

static void
json_node_unref_cb(gpointer data)
{
    json_node_unref(data);
}

/**
 * wirt_service_history:
 * @owner: (nullable): only records about this owner's VMs
 * @vm: (nullable): only records about this VM (owner defaults to the actor)
 * @limit: the newest this many; 0 means 100
 * Returns: (transfer full) (nullable): the records @actor may see, oldest first:
 * users see what they did and what was done to their VMs; admins see all.
 */
JsonNode *
wirt_service_history(WirtService *service, const WirtActor *actor, const char *owner,
                     const char *vm, guint limit, GError **error)
{
    HistoryQuery q = {actor, owner, vm, G_QUEUE_INIT, limit ? MIN(limit, HISTORY_LIMIT_MAX) : 100};
    g_autoptr(JsonBuilder) b = json_builder_new();

    if ((owner && !wirt_name_validate_owner(owner, error)) ||
        (vm && !wirt_name_validate(vm, error)))
        return NULL;
    if (vm && !owner)
        q.owner = actor->user;
    if (!wirt_audit_read(service->audit, HISTORY_READ_MAX, history_visit, &q, error)) {
        g_queue_clear_full(&q.lines, json_node_unref_cb);
        return NULL;
    }
    json_builder_begin_array(b);
    while (!g_queue_is_empty(&q.lines))
        json_builder_add_value(b, g_queue_pop_head(&q.lines));
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

/* ------------------------------------------------------ seed 001's /virt */

/* An unowned domain keeps the name libvirt has; it only must not be a path. */
static gboolean
virt_domain_name_validate(const char *name, GError **error)
{
    gsize len = name ? strlen(name) : 0;

    if (len == 0 || len > 255 || !g_utf8_validate(name, (gssize)len, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "domain name must be 1 to 255 bytes of UTF-8");
        return FALSE;
    }
    for (gsize i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < ' ' || c == 0x7f || c == '/') {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "domain name must not hold '/' or control characters");
            return FALSE;
        }
    }
    return TRUE;
}

/* resolve() that also takes OWNER "-": an unowned domain, which the policy
 * shows to admins alone (everyone else gets the missing VM's NOT_FOUND). */
static WirtVm *
virt_resolve(WirtService *service, const WirtActor *actor, const char *owner, const char *name,
             WirtAction action, GError **error)
{
    g_autofree char *label = NULL;
    g_autoptr(WirtVm) vm = NULL;

    if (g_strcmp0(owner, WIRT_SERVICE_UNOWNED) != 0)
        return resolve(service, actor, owner, name, action, error);
    if (!virt_domain_name_validate(name, error))
        return NULL;
    label = g_strdup_printf("%s/%s", WIRT_SERVICE_UNOWNED, name);
    if (!(vm = wirt_hosts_find_vm(service->hosts, NULL, name))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "vm %s: not found", label);
        return NULL;
    }
    if (!wirt_policy_check(service->config, actor, action, NULL, label, error))
        return NULL;
    return g_steal_pointer(&vm);
}

static char *
virt_label(const WirtActor *actor, const char *owner, const char *name)
{
    if (g_strcmp0(owner, WIRT_SERVICE_UNOWNED) == 0)
        return g_strdup_printf("%s/%s", WIRT_SERVICE_UNOWNED, name ? name : "");
    return make_label(actor, owner ? owner : actor->user, name ? name : "");
}

/* Resolves @op's VM for @op->action and takes its host's connection. */
static gboolean
virt_op_prepare(Op *op, const char *owner, const char *name, GError **error)
{
    gboolean unowned = g_strcmp0(owner, WIRT_SERVICE_UNOWNED) == 0;
    WirtHost *host;

    op->owner = unowned ? NULL : g_strdup(owner ? owner : op->actor->user);
    op->name = g_strdup(name);
    op->label = virt_label(op->actor, owner, name);
    if (!(op->vm = virt_resolve(op->service, op->actor, owner, name, op->action, error)))
        return FALSE;
    op->node = g_strdup(op->vm->node);
    host = wirt_hosts_find_host(op->service->hosts, op->vm->node);
    if (!host || !(op->conn = wirt_host_get_conn(host, error))) {
        if (error && !*error)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "vm %s: host %s is gone",
                        op->label, op->vm->node);
        return FALSE;
    }
    return TRUE;
}

/* op_worker_done() without the graceful-stop wait: domainShutdown is the
 * request alone, as libvirt's virDomainShutdown() is. */
static void
virt_op_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GTask) task = user_data;
    Op *op = g_task_get_task_data(task);
    GError *error = NULL;
    g_autoptr(WirtVm) vm = g_task_propagate_pointer(G_TASK(res), &error);

    if (!vm) {
        op_fail(task, error);
        return;
    }
    g_free(op->node);
    op->node = g_strdup(vm->node);
    wirt_hosts_update_vm(op->service->hosts, vm);
    op_succeed(task, g_steal_pointer(&vm));
}

/* Runs @thread with @work (or, when %NULL, the Op) in a worker; @task's ref moves in. */
static void
virt_op_run(GTask *task, GTaskThreadFunc thread, gpointer work, GDestroyNotify work_free)
{
    GTask *inner = g_task_new(NULL, NULL, virt_op_done, task);

    if (work)
        g_task_set_task_data(inner, work, work_free);
    else
        g_task_set_task_data(inner, g_task_get_task_data(task), NULL);
    g_task_run_in_thread(inner, thread);
    g_object_unref(inner);
}

static void
virt_power_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
                  GCancellable *cancellable G_GNUC_UNUSED)
{
    GError *error = NULL;
    WirtVm *vm = work_action(task_data, &error); /* STOP without force: virDomainShutdown */

    if (vm)
        g_task_return_pointer(task, vm, vm_unref_cb);
    else
        g_task_return_error(task, error);
}

/**
 * wirt_service_vm_power_async:
 * @owner: (nullable): the VM's owner, WIRT_SERVICE_UNOWNED, or %NULL for the actor
 * @name: the VM's name (with WIRT_SERVICE_UNOWNED: the libvirt domain name)
 * @action: %WIRT_ACTION_REBOOT or %WIRT_ACTION_STOP
 *
 * Policy, worker and history as wirt_service_vm_action_async(), but STOP only
 * sends the ACPI shutdown request and completes at once: no wait, no power-off
 * after stop-timeout (the caller asked for libvirt's domainShutdown). Finish
 * with wirt_service_finish().
 */
void
wirt_service_vm_power_async(WirtService *service, const WirtActor *actor, const char *owner,
                            const char *name, WirtAction action, GAsyncReadyCallback callback,
                            gpointer user_data)
{
    g_autoptr(GTask) task = op_task_new(service, actor, action, callback, user_data);
    Op *op = g_task_get_task_data(task);
    GError *error = NULL;

    op->detail = g_strdup(action == WIRT_ACTION_STOP ? "domainShutdown: shutdown request only"
                                                     : "domainReboot");
    if (action != WIRT_ACTION_REBOOT && action != WIRT_ACTION_STOP) {
        op->label = virt_label(actor, owner, name);
        op_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID, "%s is not reboot or stop",
                                  wirt_action_to_string(action)));
        return;
    }
    if (!virt_op_prepare(op, owner, name, &error)) {
        op_fail(task, error);
        return;
    }
    virt_op_run(g_steal_pointer(&task), virt_power_thread, NULL, NULL);
}

typedef struct {
    Op *op; /* borrowed: the outer task holds it */
    gboolean attach;
    char *xml; /* admins: the document as sent; users: NULL (rebuilt from dev) */
    WirtVirtDevice dev;
} DeviceWork;

static void
device_work_free(gpointer data)
{
    DeviceWork *dw = data;

    g_free(dw->xml);
    wirt_virt_device_clear(&dw->dev);
    g_free(dw);
}

static void
virt_device_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
                   GCancellable *cancellable G_GNUC_UNUSED)
{
    DeviceWork *dw = task_data;
    GError *error = NULL;
    WirtVm *vm = NULL;

    if (wirt_virt_vm_device(dw->op->conn, dw->op->vm->uuid, dw->attach, dw->xml, &dw->dev, &error))
        vm = wirt_virt_vm_fetch(dw->op->conn, dw->op->vm->uuid, &error);
    if (vm)
        g_task_return_pointer(task, vm, vm_unref_cb);
    else
        g_task_return_error(task, error);
}

/* "domainAttachDevice disk volume=default/alice.data target=vdb", for history. */
static char *
device_detail(gboolean attach, const WirtVirtDevice *dev)
{
    g_autoptr(GString) out = g_string_new(attach ? "domainAttachDevice" : "domainDetachDevice");

    if (dev->element)
        g_string_append_printf(out, " %s", dev->element);
    if (dev->type)
        g_string_append_printf(out, " type=%s", dev->type);
    if (dev->pool || dev->volume)
        g_string_append_printf(out, " volume=%s/%s", dev->pool ? dev->pool : "",
                               dev->volume ? dev->volume : "");
    if (dev->source)
        g_string_append_printf(out, " %s", dev->source);
    if (dev->target)
        g_string_append_printf(out, " target=%s", dev->target);
    /* Values come from the client: keep the line short. */
    if (g_utf8_strlen(out->str, -1) > 240) {
        g_autofree char *cut = g_utf8_substring(out->str, 0, 240);
        g_string_assign(out, cut);
        g_string_append(out, "…");
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * wirt_service_vm_device_async:
 * @owner: (nullable): the VM's owner, WIRT_SERVICE_UNOWNED, or %NULL for the actor
 * @name: the VM's name
 * @attach: domainAttachDevice, or domainDetachDevice
 * @xml: the device document (at most 64 KiB; need not be NUL-terminated)
 * @len: its length
 *
 * Resolves the VM with policy ATTACH_DISK (allow-attach-disk) first, so that
 * another user's VM reads as missing whatever the body, then parses the
 * document: admins may send any <disk> or <interface>, which goes to libvirt
 * verbatim; users only the volume disk wirt_virt_device_check_user() allows,
 * which is rebuilt and never passed on as sent. Applied live and to the
 * persistent config as the domain has them; recorded in history. Finish with
 * wirt_service_finish().
 */
void
wirt_service_vm_device_async(WirtService *service, const WirtActor *actor, const char *owner,
                             const char *name, gboolean attach, const char *xml, gsize len,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    g_autoptr(GTask) task =
        op_task_new(service, actor, WIRT_ACTION_ATTACH_DISK, callback, user_data);
    Op *op = g_task_get_task_data(task);
    DeviceWork *dw = g_new0(DeviceWork, 1);
    GError *error = NULL;
    gboolean ok;

    dw->op = op;
    dw->attach = attach;
    ok = virt_op_prepare(op, owner, name, &error) &&
         wirt_virt_device_parse(xml ? xml : "", xml ? len : 0, &dw->dev, &error) &&
         (actor->is_admin || wirt_virt_device_check_user(&dw->dev, op->vm->owner, attach, &error));
    op->detail = device_detail(attach, &dw->dev);
    if (!ok) {
        device_work_free(dw);
        op_fail(task, error);
        return;
    }
    if (actor->is_admin)
        dw->xml = g_strndup(xml, len);
    virt_op_run(g_steal_pointer(&task), virt_device_thread, dw, device_work_free);
}

typedef struct {
    WirtConn *conn;
    char *uuid;
    char *label;
    char *node;
    WirtVirtRead what;
    gboolean is_admin;
} VirtRead;

static void
virt_read_free(gpointer data)
{
    VirtRead *vr = data;

    g_clear_pointer(&vr->conn, wirt_conn_unref);
    g_free(vr->uuid);
    g_free(vr->label);
    g_free(vr->node);
    g_free(vr);
}

/* As op_fail(): host-down messages carry URIs, which only admins see (E4). */
static GError *
virt_read_error(const VirtRead *vr, GError *error)
{
    GError *plain;

    if (vr->is_admin || !g_error_matches(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN))
        return error;
    plain = g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "%s: host %s is down, try again later",
                        vr->label, vr->node ? vr->node : "?");
    g_error_free(error);
    return plain;
}

static void
virt_read_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
                 GCancellable *cancellable G_GNUC_UNUSED)
{
    VirtRead *vr = task_data;
    GError *error = NULL;
    char *text = wirt_virt_vm_read(vr->conn, vr->uuid, vr->what, &error);

    if (text) {
        g_task_return_pointer(task, text, g_free);
        return;
    }
    g_task_return_error(task, virt_read_error(vr, error));
}

/**
 * wirt_service_vm_read_async:
 * @owner: (nullable): the VM's owner, WIRT_SERVICE_UNOWNED, or %NULL for the actor
 * @name: the VM's name (with WIRT_SERVICE_UNOWNED: the libvirt domain name)
 * @what: the read command
 *
 * Resolves with policy VIEW on the main loop, then asks libvirt in a worker.
 * Reads are not history. Finish with wirt_service_vm_read_finish().
 */
void
wirt_service_vm_read_async(WirtService *service, const WirtActor *actor, const char *owner,
                           const char *name, WirtVirtRead what, GAsyncReadyCallback callback,
                           gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, NULL, callback, user_data);
    g_autoptr(WirtVm) vm = NULL;
    GError *error = NULL;
    WirtHost *host;
    VirtRead *vr;

    g_task_set_source_tag(task, wirt_service_vm_read_async);
    if (!(vm = virt_resolve(service, actor, owner, name, WIRT_ACTION_VIEW, &error))) {
        g_task_return_error(task, error);
        return;
    }
    vr = g_new0(VirtRead, 1);
    g_task_set_task_data(task, vr, virt_read_free);
    vr->uuid = g_strdup(vm->uuid);
    vr->label = virt_label(actor, owner, name);
    vr->node = g_strdup(vm->node);
    vr->what = what;
    vr->is_admin = actor->is_admin;
    host = wirt_hosts_find_host(service->hosts, vm->node);
    if (!host || !(vr->conn = wirt_host_get_conn(host, &error))) {
        g_task_return_error(
            task, virt_read_error(vr, error ? error
                                            : g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                                                          "vm %s: host %s is gone", vr->label,
                                                          vm->node)));
        return;
    }
    g_task_run_in_thread(task, virt_read_thread);
}

/**
 * wirt_service_vm_read_finish:
 * Returns: (transfer full) (nullable): the read's XML element, or %NULL with @error
 * (NOT_FOUND alike for missing and not-yours, CONFLICT for "not running", ...).
 */
char *
wirt_service_vm_read_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ====================================================================== */
/* Boxes (docs/boxes.md)                                                   */
/*                                                                          */
/* libvirt is the only record: a box is a volume named box[.OWNER].NAME.qcow2 */
/* in [vm] storage-pool of a host (wirt-virt-box.h). Policy is decided here  */
/* on the main loop; uploads, lists and deletes run in GTask workers. The    */
/* uploads in flight are the one thing held here (service->box_uploads), so  */
/* that a half-made volume is shown as "uploading" and cannot be removed.    */

typedef struct {
    WirtConn *conn;
    char *pool;
    char *node;
} BoxHost;

static void
box_host_free(gpointer data)
{
    BoxHost *bh = data;

    wirt_conn_unref(bh->conn);
    g_free(bh->pool);
    g_free(bh->node);
    g_free(bh);
}

/* A box found on one host, for the main loop to filter and print. */
typedef struct {
    WirtVirtBox *box;
    const BoxHost *host; /* borrowed from BoxWork.hosts */
} BoxRow;

static void
box_row_free(gpointer data)
{
    BoxRow *row = data;

    wirt_virt_box_free(row->box);
    g_free(row);
}

typedef struct {
    WirtService *service;
    WirtActor *actor;
    WirtAction action;
    char *owner;        /* (nullable): NULL = shared */
    char *name;         /* (nullable): list */
    char *filter;       /* list: ?owner= as given */
    gboolean any_owner; /* get without ?owner= for a user: own, else shared */
    char *volume;
    char *label;
    GPtrArray *hosts; /* BoxHost*: up hosts (add: the one to upload to) */
    GInputStream *body;
    GCancellable *cancellable;
    gboolean registered; /* add: volume is in service->box_uploads */
    WirtBoxInfo info;    /* add: what the reader found */
    GPtrArray *rows;     /* BoxRow*: list, get, remove (what was found) */
    gint64 quota_gib;    /* add: the owner's [quota] box-gib (-1: none; shared boxes: -1) */
} BoxWork;

static void
box_work_free(gpointer data)
{
    BoxWork *work = data;

    if (work->registered)
        g_hash_table_remove(work->service->box_uploads, work->volume);
    wirt_actor_free(work->actor);
    g_free(work->owner);
    g_free(work->name);
    g_free(work->filter);
    g_free(work->volume);
    g_free(work->label);
    g_clear_pointer(&work->hosts, g_ptr_array_unref);
    g_clear_object(&work->body);
    g_clear_object(&work->cancellable);
    wirt_box_info_clear(&work->info);
    g_clear_pointer(&work->rows, g_ptr_array_unref);
    g_free(work);
}

static void
json_node_free_cb(gpointer data)
{
    json_node_unref(data);
}

static char *
box_label(const char *owner, const char *name)
{
    return owner ? g_strdup_printf("%s/%s", owner, name) : g_strdup_printf("shared/%s", name);
}

/* The history line of a box change: no VM, the box in the detail. */
static void
box_record(BoxWork *work, const GError *error)
{
    g_auto(WirtHistoryRecord) rec = {0};
    g_autoptr(GError) local = NULL;
    const BoxHost *bh = work->hosts && work->hosts->len ? g_ptr_array_index(work->hosts, 0) : NULL;

    rec.time = wirt_util_iso8601_now();
    rec.actor = g_strdup(work->actor->user);
    rec.uid = work->actor->uid;
    rec.door = g_strdup(wirt_door_to_string(work->actor->door));
    rec.owner = g_strdup(work->owner);
    rec.node = bh && work->action == WIRT_ACTION_BOX_ADD ? g_strdup(bh->node) : NULL;
    rec.action = g_strdup(wirt_action_to_string(work->action));
    rec.ok = error == NULL;
    rec.error = error ? g_strdup(error->message) : NULL;
    if (work->action == WIRT_ACTION_BOX_ADD && !error)
        rec.detail = g_strdup_printf(
            "box=%s volume=%s image_bytes=%" G_GUINT64_FORMAT " virtual_size=%" G_GUINT64_FORMAT,
            work->name, work->volume, work->info.image_bytes, work->info.qcow2_virtual_size);
    else
        rec.detail = g_strdup_printf("box=%s", work->name);
    if (!wirt_audit_append(work->service->audit, &rec, &local))
        g_warning("history: %s", local->message);
    if (work->service->record_func)
        work->service->record_func(&rec, work->service->record_data);
}

static JsonNode *
box_to_json(const WirtVirtBox *box, const BoxHost *bh, const char *storage_pool, gboolean uploading)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, box->name);
    json_builder_set_member_name(b, "owner");
    if (box->owner)
        json_builder_add_string_value(b, box->owner);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "shared");
    json_builder_add_boolean_value(b, box->owner == NULL);
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, uploading ? "uploading" : "ready");
    json_builder_set_member_name(b, "virtual_size");
    json_builder_add_int_value(b, (gint64)box->capacity);
    json_builder_set_member_name(b, "allocation");
    json_builder_add_int_value(b, (gint64)box->allocation);
    json_builder_set_member_name(b, "volume");
    json_builder_add_string_value(b, box->volume);
    json_builder_set_member_name(b, "storage_pool");
    json_builder_add_string_value(b, storage_pool);
    json_builder_set_member_name(b, "pool");
    json_builder_add_string_value(b, bh->pool);
    json_builder_set_member_name(b, "node");
    json_builder_add_string_value(b, bh->node);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* The owner a request means: "-" is shared; none is the user's own (admins: shared). */
static gboolean
box_owner_of(const WirtActor *actor, const char *owner, char **out_owner, GError **error)
{
    if (owner && g_str_equal(owner, WIRT_SERVICE_UNOWNED)) {
        *out_owner = NULL;
        return TRUE;
    }
    if (owner && !wirt_name_validate_owner(owner, error))
        return FALSE;
    *out_owner = g_strdup(owner ? owner : actor->is_admin ? NULL : actor->user);
    return TRUE;
}

/* Every up host (@first_pool_only: the first up host of the first pool), with a connection. */
static GPtrArray *
box_hosts(WirtService *service, gboolean first_only, GError **error)
{
    g_autoptr(GPtrArray) hosts = wirt_hosts_list(service->hosts);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(box_host_free);
    const WirtPoolConfig *first = g_ptr_array_index(service->config->pools, 0);

    for (guint i = 0; i < hosts->len; i++) {
        WirtHost *host = g_ptr_array_index(hosts, i);
        WirtConn *conn;
        BoxHost *bh;

        if (first_only && !g_str_equal(wirt_host_get_pool(host), first->name))
            continue;
        if (!wirt_host_is_up(host) || !(conn = wirt_host_get_conn(host, NULL)))
            continue;
        bh = g_new0(BoxHost, 1);
        bh->conn = conn;
        bh->pool = g_strdup(wirt_host_get_pool(host));
        bh->node = g_strdup(wirt_host_get_node(host));
        g_ptr_array_add(out, bh);
        if (first_only)
            break;
    }
    if (out->len == 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                    "boxes: no host of pool %s is up, try again later", first->name);
        return NULL;
    }
    return g_steal_pointer(&out);
}

static GTask *
box_task_new(WirtService *service, const WirtActor *actor, WirtAction action,
             GAsyncReadyCallback callback, gpointer user_data, BoxWork **out_work)
{
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    BoxWork *work = g_new0(BoxWork, 1);

    work->service = service;
    work->actor = wirt_actor_copy(actor);
    work->action = action;
    g_task_set_task_data(task, work, box_work_free);
    g_task_set_source_tag(task, wirt_service_box_finish);
    *out_work = work;
    return task;
}

/* Fails @task on the main loop; changes are recorded in history, refused ones too. */
static void
box_fail(GTask *task, GError *error)
{
    BoxWork *work = g_task_get_task_data(task);

    if (work->action != WIRT_ACTION_BOX_VIEW)
        box_record(work, error);
    g_task_return_error(task, error);
    g_object_unref(task);
}

/**
 * wirt_service_box_finish:
 * Returns: (transfer full) (nullable): the answer as JSON, or %NULL with @error set.
 */
JsonNode *
wirt_service_box_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == wirt_service_box_finish, NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* The worker's verdict comes back here: (transfer full) @task. */
static void
box_worker_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    BoxWork *work = g_task_get_task_data(task);
    GError *error = NULL;
    JsonNode *node = NULL;

    if (!g_task_propagate_boolean(G_TASK(res), &error)) {
        /* Users do not see libvirt URIs (E4): a down host is named, nothing more. */
        if (!work->actor->is_admin && g_error_matches(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN)) {
            g_clear_error(&error);
            error = g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                                "box %s: a host is down, try again later", work->label);
        }
        box_fail(task, error);
        return;
    }
    switch (work->action) {
    case WIRT_ACTION_BOX_ADD: {
        const BoxHost *bh = g_ptr_array_index(work->hosts, 0);
        g_autoptr(WirtVirtBox) box = g_new0(WirtVirtBox, 1);
        JsonObject *obj;

        box->volume = g_strdup(work->volume);
        box->owner = g_strdup(work->owner);
        box->name = g_strdup(work->name);
        box->capacity = work->info.qcow2_virtual_size;
        box->allocation = work->info.image_bytes;
        node = box_to_json(box, bh, work->service->config->storage_pool, FALSE);
        obj = json_node_get_object(node);
        json_object_set_int_member(obj, "image_bytes", (gint64)work->info.image_bytes);
        json_object_set_int_member(obj, "metadata_virtual_size_gib",
                                   (gint64)work->info.virtual_size_gib);
        json_object_set_boolean_member(obj, "has_vagrantfile", work->info.has_vagrantfile);
        box_record(work, NULL);
        break;
    }
    case WIRT_ACTION_BOX_VIEW: {
        g_autoptr(JsonArray) array = json_array_new();
        const BoxRow *found = NULL;

        for (guint i = 0; i < work->rows->len; i++) {
            const BoxRow *row = g_ptr_array_index(work->rows, i);
            const WirtVirtBox *box = row->box;
            gboolean uploading = g_hash_table_contains(work->service->box_uploads, box->volume);

            if (wirt_policy_decide(work->service->config, work->actor, WIRT_ACTION_BOX_VIEW,
                                   box->owner, NULL) != WIRT_POLICY_ALLOW)
                continue;
            if (work->name) {
                /* get: the named owner's box; for a user without ?owner=, their own wins. */
                if (!g_str_equal(box->name, work->name))
                    continue;
                if (work->any_owner ? (box->owner && g_strcmp0(box->owner, work->owner) != 0)
                                    : g_strcmp0(box->owner, work->owner) != 0)
                    continue;
                if (!found || (box->owner && !found->box->owner))
                    found = row;
                continue;
            }
            if (work->filter && !(g_str_equal(work->filter, WIRT_SERVICE_UNOWNED)
                                      ? box->owner == NULL
                                      : g_strcmp0(box->owner, work->filter) == 0))
                continue;
            json_array_add_element(
                array, box_to_json(box, row->host, work->service->config->storage_pool, uploading));
        }
        if (work->name) {
            if (!found) {
                box_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "box %s: not found",
                                           work->label));
                return;
            }
            node =
                box_to_json(found->box, found->host, work->service->config->storage_pool,
                            g_hash_table_contains(work->service->box_uploads, found->box->volume));
        } else {
            node = json_node_init_array(json_node_alloc(), array);
        }
        break;
    }
    case WIRT_ACTION_BOX_REMOVE: {
        const BoxRow *row = g_ptr_array_index(work->rows, 0);
        node = box_to_json(row->box, row->host, work->service->config->storage_pool, FALSE);
        box_record(work, NULL);
        break;
    }
    default:
        g_assert_not_reached();
    }
    g_task_return_pointer(task, node, json_node_free_cb);
    g_object_unref(task);
}

/* Worker. What is left of the owner's box quota on the upload's host: the virtual sizes of
 * the boxes they own there count (VMs' disks do not). QUOTA when nothing is left. */
static gboolean
box_quota_left(BoxWork *work, const BoxHost *bh, const char *storage_pool, guint64 *out_left,
               GError **error)
{
    g_autoptr(GPtrArray) boxes = wirt_virt_box_list(bh->conn, storage_pool, error);
    guint64 quota = (guint64)work->quota_gib * WIRT_BOX_GIB;
    guint64 used = 0;

    if (!boxes)
        return FALSE;
    for (guint i = 0; i < boxes->len; i++) {
        const WirtVirtBox *box = g_ptr_array_index(boxes, i);
        if (g_strcmp0(box->owner, work->owner) == 0)
            used += box->capacity;
    }
    if (used >= quota) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_QUOTA,
                    "quota: box-gib: your boxes use %" G_GUINT64_FORMAT " MiB of %" G_GINT64_FORMAT
                    " GiB",
                    used >> 20, work->quota_gib);
        return FALSE;
    }
    *out_left = quota - used;
    return TRUE;
}

static void
box_thread(GTask *inner, gpointer source G_GNUC_UNUSED, gpointer task_data,
           GCancellable *cancellable G_GNUC_UNUSED)
{
    BoxWork *work = task_data;
    const char *storage_pool = work->service->config->storage_pool;
    GError *error = NULL;

    switch (work->action) {
    case WIRT_ACTION_BOX_ADD: {
        const BoxHost *bh = g_ptr_array_index(work->hosts, 0);
        WirtBoxLimits limits;
        g_autoptr(WirtBoxReader) reader = NULL;

        wirt_box_limits_init_default(&limits);
        limits.max_virtual_size = (guint64)work->service->config->max_box_gib * WIRT_BOX_GIB;
        limits.max_image_bytes = limits.max_virtual_size;
        if (work->quota_gib >= 0 &&
            !box_quota_left(work, bh, storage_pool, &limits.quota_left, &error)) {
            g_task_return_error(inner, error);
            return;
        }
        reader = wirt_box_reader_new(work->body, &limits, work->cancellable);
        if (!wirt_virt_box_upload(bh->conn, storage_pool, work->volume, reader, &work->info,
                                  &error)) {
            g_task_return_error(inner, error);
            return;
        }
        break;
    }
    case WIRT_ACTION_BOX_VIEW:
    case WIRT_ACTION_BOX_REMOVE:
        work->rows = g_ptr_array_new_with_free_func(box_row_free);
        for (guint i = 0; i < work->hosts->len; i++) {
            const BoxHost *bh = g_ptr_array_index(work->hosts, i);
            g_autoptr(GPtrArray) boxes = wirt_virt_box_list(bh->conn, storage_pool, &error);

            /* A host without the storage pool holds no boxes. */
            if (!boxes && g_error_matches(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND)) {
                g_clear_error(&error);
                continue;
            }
            if (!boxes) {
                g_task_return_error(inner, error);
                return;
            }
            for (guint j = 0; j < boxes->len; j++) {
                WirtVirtBox *box = g_ptr_array_index(boxes, j);
                BoxRow *row;

                if (work->action == WIRT_ACTION_BOX_REMOVE &&
                    !g_str_equal(box->volume, work->volume))
                    continue;
                if (work->action == WIRT_ACTION_BOX_REMOVE &&
                    !wirt_virt_box_delete(bh->conn, storage_pool, box->volume, &error)) {
                    g_task_return_error(inner, error);
                    return;
                }
                row = g_new0(BoxRow, 1);
                row->box = g_ptr_array_steal_index(boxes, j--);
                row->host = bh;
                g_ptr_array_add(work->rows, row);
            }
        }
        if (work->action == WIRT_ACTION_BOX_REMOVE && work->rows->len == 0) {
            g_task_return_new_error(inner, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "box %s: not found",
                                    work->label);
            return;
        }
        break;
    default:
        g_assert_not_reached();
    }
    g_task_return_boolean(inner, TRUE);
}

static void
box_run(GTask *task)
{
    GTask *inner = g_task_new(NULL, NULL, box_worker_done, task); /* @task ref moves in */

    g_task_set_task_data(inner, g_task_get_task_data(task), NULL);
    g_task_run_in_thread(inner, box_thread);
    g_object_unref(inner);
}

/* Whether a VM's disk is an overlay of the box (its metadata names the box). */
static gboolean
box_in_use(WirtService *service, const char *label, char **out_vm)
{
    g_autoptr(GPtrArray) all = wirt_hosts_list_vms(service->hosts);

    for (guint i = 0; i < all->len; i++) {
        const WirtVm *vm = g_ptr_array_index(all, i);
        if (g_strcmp0(vm->box, label) == 0) {
            *out_vm = g_strdup_printf("%s/%s", vm->owner ? vm->owner : "", vm->name);
            return TRUE;
        }
    }
    return FALSE;
}

/* What add, get and remove share: whose box it is, how to name it, and the policy. */
static gboolean
box_resolve(WirtService *service, const WirtActor *actor, const char *owner, const char *name,
            WirtAction action, BoxWork *work, GError **error)
{
    work->name = g_strdup(name);
    if (!box_owner_of(actor, owner, &work->owner, error)) {
        work->label = g_strdup(name);
        return FALSE;
    }
    work->label = box_label(work->owner, name);
    return wirt_policy_check_box(service->config, actor, action, work->owner, work->label, error);
}

/* The checks of an upload before any byte is read: owner, policy, name, uploads in
 * flight, a host to upload to. Fills @work (owner, label, volume, hosts). */
static gboolean
box_add_prepare(WirtService *service, const WirtActor *actor, const char *owner, const char *name,
                BoxWork *work, GError **error)
{
    guint mine = 0;
    GHashTableIter iter;
    gpointer uid;

    if (!box_resolve(service, actor, owner, name, WIRT_ACTION_BOX_ADD, work, error) ||
        !(work->volume = wirt_virt_box_volume_name(work->owner, name, error)))
        return FALSE;
    g_hash_table_iter_init(&iter, service->box_uploads);
    while (g_hash_table_iter_next(&iter, NULL, &uid))
        mine += GPOINTER_TO_UINT(uid) == actor->uid;
    if (g_hash_table_contains(service->box_uploads, work->volume)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "box %s: already being uploaded",
                    work->label);
        return FALSE;
    }
    if (g_hash_table_size(service->box_uploads) >= WIRT_SERVICE_BOX_UPLOADS_MAX ||
        mine >= WIRT_SERVICE_BOX_UPLOADS_PER_USER) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                    "box %s: too many uploads at once (%u of yours, %u in all); "
                    "try again when one has finished",
                    work->label, mine, g_hash_table_size(service->box_uploads));
        return FALSE;
    }
    return (work->hosts = box_hosts(service, TRUE, error)) != NULL;
}

/**
 * wirt_service_box_add_check:
 * @owner: (nullable): see wirt-service.h
 * @error: why the upload would be refused (recorded in history, as a refused upload)
 *
 * The checks wirt_service_box_add_async() makes before it reads a byte, for a front door
 * that would rather refuse before the body is sent (HTTP's "Expect: 100-continue").
 * Returns: %TRUE when an upload would start now.
 */
gboolean
wirt_service_box_add_check(WirtService *service, const WirtActor *actor, const char *owner,
                           const char *name, GError **error)
{
    BoxWork *work = g_new0(BoxWork, 1);
    GError *local = NULL;
    gboolean ok;

    work->service = service;
    work->actor = wirt_actor_copy(actor);
    work->action = WIRT_ACTION_BOX_ADD;
    if (!(ok = box_add_prepare(service, actor, owner, name, work, &local))) {
        box_record(work, local);
        g_propagate_error(error, local);
    }
    box_work_free(work);
    return ok;
}

/**
 * wirt_service_box_add_async:
 * @owner: (nullable): see wirt-service.h
 * @body: (transfer none): the upload; read in a worker until the box ends
 * @cancellable: (nullable): cancels the reads of @body
 */
void
wirt_service_box_add_async(WirtService *service, const WirtActor *actor, const char *owner,
                           const char *name, GInputStream *body, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
    BoxWork *work;
    GTask *task = box_task_new(service, actor, WIRT_ACTION_BOX_ADD, callback, user_data, &work);
    GError *error = NULL;

    work->body = g_object_ref(body);
    work->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
    if (!box_add_prepare(service, actor, owner, name, work, &error)) {
        box_fail(task, error);
        return;
    }
    g_hash_table_insert(service->box_uploads, g_strdup(work->volume), GUINT_TO_POINTER(actor->uid));
    work->registered = TRUE;
    work->quota_gib = -1;
    if (work->owner) { /* users' own boxes count in their quota; shared ones do not */
        WirtQuota quota;
        quota_of(service, work->owner, &quota);
        work->quota_gib = quota.box_gib;
    }
    box_run(task);
}

/**
 * wirt_service_box_list_async:
 * @owner: (nullable): only this owner's boxes ("-": the shared ones)
 */
void
wirt_service_box_list_async(WirtService *service, const WirtActor *actor, const char *owner,
                            GAsyncReadyCallback callback, gpointer user_data)
{
    BoxWork *work;
    GTask *task = box_task_new(service, actor, WIRT_ACTION_BOX_VIEW, callback, user_data, &work);
    GError *error = NULL;

    work->label = g_strdup("list");
    work->filter = g_strdup(owner);
    if (!wirt_policy_check_box(service->config, actor, WIRT_ACTION_BOX_VIEW, NULL, "list",
                               &error) ||
        !(work->hosts = box_hosts(service, FALSE, &error))) {
        box_fail(task, error);
        return;
    }
    box_run(task);
}

/**
 * wirt_service_box_get_async:
 * @owner: (nullable): see wirt-service.h
 */
void
wirt_service_box_get_async(WirtService *service, const WirtActor *actor, const char *owner,
                           const char *name, GAsyncReadyCallback callback, gpointer user_data)
{
    BoxWork *work;
    GTask *task = box_task_new(service, actor, WIRT_ACTION_BOX_VIEW, callback, user_data, &work);
    GError *error = NULL;

    work->any_owner = owner == NULL && !actor->is_admin;
    if (!box_resolve(service, actor, owner, name, WIRT_ACTION_BOX_VIEW, work, &error) ||
        !wirt_name_validate(name, &error) || !(work->hosts = box_hosts(service, FALSE, &error))) {
        box_fail(task, error);
        return;
    }
    box_run(task);
}

/**
 * wirt_service_box_remove_async:
 * @owner: (nullable): see wirt-service.h
 */
void
wirt_service_box_remove_async(WirtService *service, const WirtActor *actor, const char *owner,
                              const char *name, GAsyncReadyCallback callback, gpointer user_data)
{
    BoxWork *work;
    GTask *task = box_task_new(service, actor, WIRT_ACTION_BOX_REMOVE, callback, user_data, &work);
    GError *error = NULL;
    g_autofree char *vm = NULL;

    if (!box_resolve(service, actor, owner, name, WIRT_ACTION_BOX_REMOVE, work, &error) ||
        !(work->volume = wirt_virt_box_volume_name(work->owner, name, &error))) {
        box_fail(task, error);
        return;
    }
    if (g_hash_table_contains(service->box_uploads, work->volume)) {
        box_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT, "box %s: it is being uploaded",
                                   work->label));
        return;
    }
    if (box_in_use(service, work->label, &vm)) {
        box_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT,
                                   "box %s: VM %s uses it; delete the VM first", work->label, vm));
        return;
    }
    if (!(work->hosts = box_hosts(service, FALSE, &error))) {
        box_fail(task, error);
        return;
    }
    box_run(task);
}

/* ====================================================================== */
/* Networks (wirt-networks.c): what that file needs of the service         */

/**
 * wirt_service_get_hosts:
 * Returns: (transfer none): the hosts the service acts on.
 */
WirtHosts *
wirt_service_get_hosts(WirtService *service)
{
    return service->hosts;
}

/**
 * wirt_service_record:
 * @rec: (transfer none): a history line that is not about one VM's operation
 *
 * Appends @rec to the history and hands it to the record function (the event
 * stream). A history that cannot be written is logged; the action stands.
 */
void
wirt_service_record(WirtService *service, const WirtHistoryRecord *rec)
{
    g_autoptr(GError) local = NULL;

    if (!wirt_audit_append(service->audit, rec, &local))
        g_warning("history: %s", local->message);
    if (service->record_func)
        service->record_func(rec, service->record_data);
}

/* ====================================================================== */
/* wirt-service-private.h: for wirt-addresses.c and wirt-ssh.c            */

/**
 * wirt_service_resolve:
 * Returns: (transfer full) (nullable): resolve()'s answer (see there).
 */
WirtVm *
wirt_service_resolve(WirtService *service, const WirtActor *actor, const char *owner,
                     const char *name, WirtAction action, GError **error)
{
    return resolve(service, actor, owner, name, action, error);
}

/**
 * wirt_service_make_label:
 * Returns: (transfer full): "NAME" for the actor's own VM, else "OWNER/NAME".
 */
char *
wirt_service_make_label(const WirtActor *actor, const char *owner, const char *name)
{
    return make_label(actor, owner ? owner : actor->user, name);
}

/**
 * wirt_service_notify_addresses:
 * @vm: (transfer none): the VM whose addresses changed
 */
void
wirt_service_notify_addresses(WirtService *service, WirtVm *vm)
{
    notify_watches(service, WIRT_VM_CHANGE_ADDRESSES, vm);
}

/**
 * wirt_service_get_addresses:
 * Returns: (transfer none): the service's address watcher.
 */
WirtAddresses *
wirt_service_get_addresses(WirtService *service)
{
    return service->addresses;
}
