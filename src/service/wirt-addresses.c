/* wirt-addresses.c: running VMs' addresses, on demand and watched after a start.
 *
 * The watcher listens to the hosts' cache. A VM seen going from not running to
 * running gets a poll: every second, a worker asks libvirt's lease and ARP
 * sources (two cheap RPCs; the guest agent is left out, as it may block for its
 * timeout); a different answer is kept and announced once on the event stream
 * (WIRT_VM_CHANGE_ADDRESSES). The poll ends when the VM stops, when the same
 * non-empty answer came three times in a row, or after two minutes. A VM first
 * seen already running (wirtd's start, a host coming back) is not polled: a
 * thousand VMs must not cost a thousand polls; its view still asks libvirt.
 */
#include "wirt-addresses.h"

#include "core/wirt-error.h"
#include "virt/wirt-virt-addr.h"
#include "wirt-networks.h"

typedef struct {
    WirtAddresses *self; /* NULL once the watcher is gone */
    char *key;           /* "node/uuid" */
    WirtVm *vm;          /* the latest snapshot, for the event */
    guint timer_id;
    gint64 started;     /* monotonic µs */
    gboolean in_flight; /* a worker is asking libvirt */
    guint same;         /* how many answers in a row were the same, non-empty */
    WirtAddrList *last; /* the last answer */
} Poll;

struct _WirtAddresses {
    WirtService *service;
    WirtHosts *hosts;
    guint listener_id;
    GHashTable *running; /* key -> GINT_TO_POINTER(TRUE running, FALSE not): VMs seen */
    GHashTable *polls;   /* key -> Poll* */
    GHashTable *known;   /* key -> WirtAddrList*: what was announced last */
};

static char *
vm_key(const WirtVm *vm)
{
    return g_strconcat(vm->node ? vm->node : "", "/", vm->uuid, NULL);
}

static void
addr_list_free_cb(gpointer data)
{
    wirt_addr_list_free(data);
}

static void
poll_free(Poll *poll)
{
    g_clear_handle_id(&poll->timer_id, g_source_remove);
    g_free(poll->key);
    g_clear_pointer(&poll->vm, wirt_vm_unref);
    g_clear_pointer(&poll->last, wirt_addr_list_free);
    g_free(poll);
}

/* Ends a poll: freed now, or by its worker's callback when one is in flight. */
static void
poll_stop(gpointer data)
{
    Poll *poll = data;

    g_clear_handle_id(&poll->timer_id, g_source_remove);
    poll->self = NULL;
    if (!poll->in_flight)
        poll_free(poll);
}

/* ------------------------------------------------------------- the worker */

typedef struct {
    WirtConn *conn;
    char *uuid;
    guint sources;
} Fetch;

static void
fetch_free(gpointer data)
{
    Fetch *fetch = data;

    g_clear_pointer(&fetch->conn, wirt_conn_unref);
    g_free(fetch->uuid);
    g_free(fetch);
}

static void
fetch_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
             GCancellable *cancellable G_GNUC_UNUSED)
{
    Fetch *fetch = task_data;
    GError *error = NULL;
    WirtAddrList *list = wirt_virt_vm_addresses(fetch->conn, fetch->uuid, fetch->sources, &error);

    if (list)
        g_task_return_pointer(task, list, addr_list_free_cb);
    else
        g_task_return_error(task, error);
}

/* Starts a worker asking @sources of @vm's host; FALSE (and @error) when it is down. */
static gboolean
fetch_start(WirtHosts *hosts, const WirtVm *vm, guint sources, GAsyncReadyCallback callback,
            gpointer user_data, GError **error)
{
    WirtHost *host = wirt_hosts_find_host(hosts, vm->node);
    g_autoptr(WirtConn) conn = NULL;
    g_autoptr(GTask) task = NULL;
    Fetch *fetch;

    if (!host) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "host %s is gone",
                    vm->node ? vm->node : "?");
        return FALSE;
    }
    if (!(conn = wirt_host_get_conn(host, error)))
        return FALSE;
    fetch = g_new0(Fetch, 1);
    fetch->conn = g_steal_pointer(&conn);
    fetch->uuid = g_strdup(vm->uuid);
    fetch->sources = sources;
    task = g_task_new(NULL, NULL, callback, user_data);
    g_task_set_task_data(task, fetch, fetch_free);
    g_task_run_in_thread(task, fetch_thread);
    return TRUE;
}

/* ---------------------------------------------------------------- polling */

static gboolean on_poll_tick(gpointer user_data);

static void
on_poll_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    Poll *poll = user_data;
    WirtAddresses *self = poll->self;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtAddrList) list = g_task_propagate_pointer(G_TASK(res), &error);

    poll->in_flight = FALSE;
    if (!self) {
        poll_free(poll); /* stopped while the worker ran */
        return;
    }
    if (!list) {
        /* Not running any more: the cache's event will end the poll; other errors
         * (a host hiccup) are retried on the next tick. */
        if (g_error_matches(error, WIRT_ERROR, WIRT_ERROR_CONFLICT) ||
            g_error_matches(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND))
            g_hash_table_remove(self->polls, poll->key);
        return;
    }
    if (wirt_addr_list_length(list) > 0 && wirt_addr_list_equal(list, poll->last))
        poll->same++;
    else
        poll->same = 1;
    if (!wirt_addr_list_equal(list, g_hash_table_lookup(self->known, poll->key))) {
        g_hash_table_replace(self->known, g_strdup(poll->key), wirt_addr_list_copy(list));
        wirt_service_notify_addresses(self->service, poll->vm);
    }
    g_clear_pointer(&poll->last, wirt_addr_list_free);
    poll->last = g_steal_pointer(&list);
    if (poll->same >= WIRT_ADDRESSES_STABLE && wirt_addr_list_length(poll->last) > 0)
        g_hash_table_remove(self->polls, poll->key); /* found and stable */
}

static gboolean
on_poll_tick(gpointer user_data)
{
    Poll *poll = user_data;
    WirtAddresses *self = poll->self;

    if (g_get_monotonic_time() - poll->started > WIRT_ADDRESSES_POLL_SECONDS * G_USEC_PER_SEC) {
        poll->timer_id = 0;
        g_hash_table_remove(self->polls, poll->key);
        return G_SOURCE_REMOVE;
    }
    if (!poll->in_flight &&
        fetch_start(self->hosts, poll->vm, WIRT_ADDR_SOURCE_LEASE | WIRT_ADDR_SOURCE_ARP,
                    on_poll_done, poll, NULL))
        poll->in_flight = TRUE;
    return G_SOURCE_CONTINUE;
}

static void
on_vm_changed(WirtVmChange change, WirtVm *vm, gpointer user_data)
{
    WirtAddresses *self = user_data;
    g_autofree char *key = vm_key(vm);
    gboolean running = change == WIRT_VM_CHANGE_UPDATED && vm->state == WIRT_VM_STATE_RUNNING;
    gpointer was = NULL;
    gboolean seen = g_hash_table_lookup_extended(self->running, key, NULL, &was);
    Poll *poll;

    if (change == WIRT_VM_CHANGE_REMOVED) {
        g_hash_table_remove(self->running, key);
        g_hash_table_remove(self->polls, key);
        g_hash_table_remove(self->known, key);
        return;
    }
    if (change != WIRT_VM_CHANGE_UPDATED)
        return;
    g_hash_table_replace(self->running, g_strdup(key), GINT_TO_POINTER(running));
    if (!running) {
        g_hash_table_remove(self->polls, key);
        g_hash_table_remove(self->known, key);
        return;
    }
    if ((poll = g_hash_table_lookup(self->polls, key))) {
        g_clear_pointer(&poll->vm, wirt_vm_unref);
        poll->vm = wirt_vm_ref(vm); /* owner or name may have changed (adopt) */
        return;
    }
    if (!seen || GPOINTER_TO_INT(was))
        return; /* first seen running, or still running: no start to follow */
    poll = g_new0(Poll, 1);
    poll->self = self;
    poll->key = g_strdup(key);
    poll->vm = wirt_vm_ref(vm);
    poll->started = g_get_monotonic_time();
    poll->timer_id = g_timeout_add(WIRT_ADDRESSES_POLL_MS, on_poll_tick, poll);
    g_hash_table_replace(self->polls, g_strdup(key), poll);
}

/**
 * wirt_addresses_new:
 * @service: (transfer none): the service that owns the watcher and its event watches
 * @hosts: (transfer none): the hosts whose cache it listens to
 * Returns: (transfer full): the watcher.
 */
WirtAddresses *
wirt_addresses_new(WirtService *service, WirtHosts *hosts)
{
    WirtAddresses *self = g_new0(WirtAddresses, 1);

    self->service = service;
    self->hosts = hosts;
    self->running = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    self->polls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, poll_stop);
    self->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, addr_list_free_cb);
    self->listener_id = wirt_hosts_add_listener(hosts, on_vm_changed, self);
    return self;
}

/**
 * wirt_addresses_free:
 * @self: (nullable) (transfer full): polls in flight finish on their own
 */
void
wirt_addresses_free(WirtAddresses *self)
{
    if (!self)
        return;
    wirt_hosts_remove_listener(self->hosts, self->listener_id);
    g_hash_table_unref(self->polls);
    g_hash_table_unref(self->running);
    g_hash_table_unref(self->known);
    g_free(self);
}

/**
 * wirt_service_vm_addresses_json:
 * @vm: (transfer none): a VM the caller may view
 * Returns: (transfer full): the last addresses announced for @vm, as the API's array.
 */
JsonNode *
wirt_service_vm_addresses_json(WirtService *service, const WirtVm *vm)
{
    WirtAddresses *self = wirt_service_get_addresses(service);
    g_autofree char *key = vm_key(vm);

    return wirt_addr_list_to_json(self ? g_hash_table_lookup(self->known, key) : NULL);
}

/* ------------------------------------------------------------- on demand */

static void
on_fetch_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GTask) task = user_data;
    GError *error = NULL;
    WirtAddrList *list = g_task_propagate_pointer(G_TASK(res), &error);

    if (list)
        g_task_return_pointer(task, list, addr_list_free_cb);
    else
        g_task_return_error(task, error);
}

/**
 * wirt_service_vm_addresses_async:
 * @vm: (transfer none): a running VM the caller resolved (policy VIEW or stricter)
 *
 * Asks lease, guest agent and ARP in a worker. Finish with
 * wirt_service_vm_addresses_finish().
 */
void
wirt_service_vm_addresses_async(WirtService *service, WirtVm *vm, GAsyncReadyCallback callback,
                                gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, NULL, callback, user_data);
    GError *error = NULL;

    g_task_set_source_tag(task, wirt_service_vm_addresses_async);
    if (!fetch_start(wirt_service_get_hosts(service), vm, WIRT_ADDR_SOURCES_ALL, on_fetch_done,
                     g_object_ref(task), &error)) {
        g_object_unref(task); /* the ref fetch_start() did not take */
        g_task_return_error(task, error);
    }
}

/**
 * wirt_service_vm_addresses_finish:
 * Returns: (transfer full) (nullable): the merged addresses, or %NULL with @error.
 */
WirtAddrList *
wirt_service_vm_addresses_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}
