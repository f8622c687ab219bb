/* wirt-virt.c: the libvirt adapter, the only file that includes <libvirt/libvirt.h>.
 *
 * Threads. Everything in WirtHosts and WirtHost (the caches, the secondary
 * index, the listeners, timers) belongs to the default main context and is
 * touched only there, so none of it is locked. Blocking libvirt calls (open,
 * bulk load, refetch, every wirt_virt_*()) run in GTask worker threads holding
 * a WirtConn: an atomically refcounted, immutable handle on one connection.
 * Workers reach the main loop only through GTask callbacks and idle sources.
 *
 * A HostLink is the one pointer from the libvirt side (event callbacks, the
 * close callback, WirtConns held by workers) back to a WirtHost. It is
 * refcounted atomically; its @host field is read and cleared only on the main
 * loop, so a late callback for a freed WirtHosts finds NULL and does nothing.
 *
 * Connection life: connect (worker: open, register events and the close
 * callback, keepalive, node info, bulk load) -> up (main: label, cache swap,
 * refetch what changed meanwhile) -> down (close callback, or a worker saw the
 * connection die) -> reconnect after 0.5 s, doubling to 10 s.
 */
#include "wirt-virt.h"
#include "wirt-virt-private.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-names.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStorageVol, virStorageVolFree)

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 10000
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 5
#define INDEX_SEP "\x1f" /* cannot occur in an owner or a VM name */

/* ------------------------------------------------------------------------ */
/* Types                                                                     */

typedef struct {
    WirtHost *host; /* main loop only; NULL once the host is freed */
} HostLink;

struct _WirtConn {
    virConnectPtr conn; /* one reference of ours */
    char *pool;
    char *node;       /* set on the main loop before the handle is shared */
    HostLink *link;   /* where to report that the connection died */
    int lifecycle_id; /* -1: not registered */
    int metadata_id;  /* -1: not registered */
    gboolean close_registered;
};

typedef struct {
    guint id;
    WirtVmChangedFunc func;
    gpointer user_data;
} Listener;

typedef struct {
    guint token;    /* which request; stale completions carry an older one */
    gboolean again; /* something changed while it ran: fetch once more */
} Refetch;

struct _WirtHost {
    WirtHosts *hosts;
    HostLink *link;
    char *uri;
    char *pool;
    char *node;      /* label: unique among hosts; the URI until the first connect */
    char *hostname;  /* what libvirt said the label was made from */
    WirtConn *wconn; /* NULL while down */
    gboolean up;
    gboolean connecting;
    gboolean attempted; /* the first connect attempt has finished */
    guint failures;     /* failed attempts in a row */
    guint backoff_ms;   /* delay before the next attempt */
    guint retry_id;
    char *last_error;
    guint64 memory_mib;
    GHashTable *vms;       /* uuid (borrowed from the value) -> WirtVm* */
    GHashTable *pending;   /* uuids seen in events while connecting (set) */
    GHashTable *refetches; /* uuid -> Refetch* in flight */
    guint next_token;
};

struct _WirtHosts {
    const WirtConfig *config;
    GPtrArray *hosts;  /* WirtHost*, config order, owned */
    GArray *listeners; /* Listener */
    guint next_listener_id;
    GHashTable *by_name;  /* "owner\x1fname" or "\x1fdomain" -> GPtrArray of WirtVm* (borrowed) */
    GHashTable *by_owner; /* owner -> GPtrArray of WirtVm* (borrowed): one user's VMs */
};

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static WirtError set_error_from(GError **error, const virError *verr, const char *format,
                                va_list args) G_GNUC_PRINTF(3, 0);
static void conn_set_error_from(WirtConn *conn, GError **error, const virError *verr,
                                const char *format, va_list args) G_GNUC_PRINTF(4, 0);
static WirtError set_error_from_virt(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);
static void conn_set_error(WirtConn *conn, GError **error, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
static void conn_report_down(WirtConn *conn, const char *reason);

static void
ignore_virt_error(void *user_data G_GNUC_UNUSED, virErrorPtr error G_GNUC_UNUSED)
{
    /* libvirt prints every error to stderr by default; ours become GErrors. */
}

static gpointer
virt_init_once(gpointer data G_GNUC_UNUSED)
{
    virInitialize();
    virSetErrorFunc(NULL, ignore_virt_error);
    return NULL;
}

static void
virt_init(void)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, virt_init_once, NULL);
}

static int
virt_last_error_code(void)
{
    const virError *verr = virGetLastError();

    return verr ? verr->code : VIR_ERR_OK;
}

static WirtError
code_from_virt(int virt_code)
{
    switch (virt_code) {
    case VIR_ERR_NO_DOMAIN:
        return WIRT_ERROR_NOT_FOUND;
    case VIR_ERR_OPERATION_INVALID:
        return WIRT_ERROR_CONFLICT;
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_RPC:
        return WIRT_ERROR_HOST_DOWN;
    default:
        return WIRT_ERROR_FAILED;
    }
}

/* Sets "WHAT: libvirt's message" from @verr (usually the thread's last error:
 * convert it right after the failing call) and returns the code it chose. */
static WirtError
set_error_from(GError **error, const virError *verr, const char *format, va_list args)
{
    WirtError code = code_from_virt(verr ? verr->code : VIR_ERR_OK);
    g_autofree char *what = g_strdup_vprintf(format, args);

    g_set_error(error, WIRT_ERROR, code, "%s: %s", what,
                verr && verr->message ? verr->message : "unknown libvirt error");
    return code;
}

static WirtError
set_error_from_virt(GError **error, const char *format, ...)
{
    va_list args;
    WirtError code;

    va_start(args, format);
    code = set_error_from(error, virGetLastError(), format, args);
    va_end(args);
    return code;
}

/* For calls on a live connection: when the connection turns out to be dead
 * (libvirt reports a closed socket as a mere internal error), the error
 * becomes HOST_DOWN and the host is told. */
static void
conn_set_error_from(WirtConn *conn, GError **error, const virError *verr, const char *format,
                    va_list args)
{
    g_autoptr(GError) local_error = NULL;
    WirtError code = set_error_from(&local_error, verr, format, args);

    if (code != WIRT_ERROR_HOST_DOWN && virConnectIsAlive(conn->conn) == 0)
        local_error->code = code = WIRT_ERROR_HOST_DOWN;
    if (code == WIRT_ERROR_HOST_DOWN)
        conn_report_down(conn, local_error->message);
    g_propagate_error(error, g_steal_pointer(&local_error));
}

static void G_GNUC_PRINTF(3, 4)
    conn_set_error(WirtConn *conn, GError **error, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    conn_set_error_from(conn, error, virGetLastError(), format, args);
    va_end(args);
}

static void G_GNUC_PRINTF(4, 5) conn_set_error_with(WirtConn *conn, GError **error,
                                                    const virError *verr, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    conn_set_error_from(conn, error, verr, format, args);
    va_end(args);
}

/* conn_set_error() for a failed call on @dom, naming the VM. Every libvirt
 * entry point resets the thread's last error, virDomainGetName() included, so
 * the error is copied before the name is asked for. */
static void G_GNUC_PRINTF(4, 5)
    conn_set_dom_error(WirtConn *conn, GError **error, virDomainPtr dom, const char *format, ...)
{
    virErrorPtr saved = virSaveLastError();
    g_autofree char *what = NULL;
    const char *name;
    va_list args;

    va_start(args, format);
    what = g_strdup_vprintf(format, args);
    va_end(args);
    name = virDomainGetName(dom);
    conn_set_error_with(conn, error, saved, "vm %s: %s", name ? name : "?", what);
    virFreeError(saved);
}

/* ------------------------------------------------------------------------ */
/* HostLink and WirtConn                                                     */

static HostLink *
link_new(WirtHost *host)
{
    HostLink *link = g_atomic_rc_box_new0(HostLink);

    link->host = host;
    return link;
}

static HostLink *
link_ref(HostLink *link)
{
    return g_atomic_rc_box_acquire(link);
}

static void
link_unref(HostLink *link)
{
    if (link)
        g_atomic_rc_box_release(link);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostLink, link_unref)

/* libvirt's virFreeCallback for callback opaques. */
static void
link_unref_cb(void *opaque)
{
    link_unref(opaque);
}

static void on_close(virConnectPtr conn, int reason, void *opaque);

static WirtConn *
conn_new(virConnectPtr conn, const char *pool, HostLink *link)
{
    WirtConn *wconn = g_atomic_rc_box_new0(WirtConn);

    wconn->conn = conn;
    wconn->pool = g_strdup(pool);
    wconn->link = link_ref(link);
    wconn->lifecycle_id = -1;
    wconn->metadata_id = -1;
    return wconn;
}

static void
conn_clear(WirtConn *wconn)
{
    /* Failures here (a dead connection) change nothing: closing frees the
     * callbacks anyway. */
    if (wconn->lifecycle_id >= 0)
        virConnectDomainEventDeregisterAny(wconn->conn, wconn->lifecycle_id);
    if (wconn->metadata_id >= 0)
        virConnectDomainEventDeregisterAny(wconn->conn, wconn->metadata_id);
    if (wconn->close_registered)
        virConnectUnregisterCloseCallback(wconn->conn, on_close);
    virConnectClose(wconn->conn);
    virResetLastError();
    g_free(wconn->pool);
    g_free(wconn->node);
    link_unref(wconn->link);
}

static void
conn_clear_cb(gpointer data)
{
    conn_clear(data);
}

/**
 * wirt_conn_ref:
 * @conn: a connection handle
 * Returns: (transfer full): @conn with one more reference (atomic: any thread).
 */
WirtConn *
wirt_conn_ref(WirtConn *conn)
{
    return g_atomic_rc_box_acquire(conn);
}

/**
 * wirt_conn_unref:
 * @conn: (nullable) (transfer full): a connection handle
 *
 * Any thread. The last reference closes the libvirt connection.
 */
void
wirt_conn_unref(WirtConn *conn)
{
    if (conn)
        g_atomic_rc_box_release_full(conn, conn_clear_cb);
}

static void
vm_unref_cb(gpointer data)
{
    wirt_vm_unref(data);
}

/* ------------------------------------------------------------------------ */
/* Worker side: snapshots                                                    */

static WirtVmState
state_from_virt(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
        return WIRT_VM_STATE_RUNNING;
    case VIR_DOMAIN_BLOCKED:
        return WIRT_VM_STATE_BLOCKED;
    case VIR_DOMAIN_PAUSED:
        return WIRT_VM_STATE_PAUSED;
    case VIR_DOMAIN_SHUTDOWN:
        return WIRT_VM_STATE_SHUTDOWN;
    case VIR_DOMAIN_SHUTOFF:
        return WIRT_VM_STATE_SHUTOFF;
    case VIR_DOMAIN_CRASHED:
        return WIRT_VM_STATE_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED:
        return WIRT_VM_STATE_PMSUSPENDED;
    default:
        return WIRT_VM_STATE_NOSTATE;
    }
}

/* A fresh snapshot of @dom. @wconn->node may be NULL (the connect worker does not
 * know the label yet; the main loop fills it in before publishing). Blocking. */
static WirtVm *
vm_snapshot(WirtConn *wconn, virDomainPtr dom, GError **error)
{
    g_autoptr(WirtVm) vm = wirt_vm_new();
    g_auto(WirtMeta) meta = {0};
    g_autofree char *meta_xml = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN];
    const char *domain = virDomainGetName(dom);
    virDomainInfo info;
    int autostart = 0;
    int persistent;

    if (virDomainGetUUIDString(dom, uuid) < 0 || virDomainGetInfo(dom, &info) < 0 ||
        virDomainGetAutostart(dom, &autostart) < 0 ||
        (persistent = virDomainIsPersistent(dom)) < 0) {
        conn_set_error(wconn, error, "vm %s: cannot read its state", domain);
        return NULL;
    }
    meta_xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, WIRT_META_NS, 0);
    if (!meta_xml && virt_last_error_code() != VIR_ERR_NO_DOMAIN_METADATA) {
        conn_set_error(wconn, error, "vm %s: cannot read its metadata", domain);
        return NULL;
    }
    /* No metadata, or metadata that is not valid (hand-edited, from a future
     * version gone wrong): not a wirt VM. Admins see it and can adopt it. */
    if (meta_xml && !wirt_meta_parse(meta_xml, -1, &meta, NULL))
        wirt_meta_clear(&meta);

    vm->uuid = g_strdup(uuid);
    vm->domain = g_strdup(domain);
    vm->owner = g_steal_pointer(&meta.owner);
    vm->name = meta.name ? g_steal_pointer(&meta.name) : g_strdup(domain);
    vm->state = state_from_virt(info.state);
    vm->memory_mib = info.maxMem / 1024;
    vm->vcpus = info.nrVirtCpu;
    vm->autostart = autostart != 0;
    vm->persistent = persistent != 0;
    vm->pool = g_strdup(wconn->pool);
    vm->node = g_strdup(wconn->node);
    vm->created = g_steal_pointer(&meta.created);
    vm->created_by = g_steal_pointer(&meta.created_by);
    vm->door = g_steal_pointer(&meta.door);
    vm->box = g_steal_pointer(&meta.box);
    vm->ssh_user = g_steal_pointer(&meta.ssh_user);
    return g_steal_pointer(&vm);
}

static void
domain_list_free(virDomainPtr *doms, int n)
{
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
}

/* Every domain of the host; ones that vanish while we read are skipped. */
static GPtrArray *
load_domains(WirtConn *wconn, GError **error)
{
    g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func(vm_unref_cb);
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(wconn->conn, &doms, 0);
    gboolean ok = TRUE;

    if (n < 0) {
        conn_set_error(wconn, error, "cannot list domains");
        return NULL;
    }
    for (int i = 0; ok && i < n; i++) {
        g_autoptr(GError) local_error = NULL;
        WirtVm *vm = vm_snapshot(wconn, doms[i], &local_error);

        if (vm) {
            g_ptr_array_add(vms, vm);
        } else if (!g_error_matches(local_error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND)) {
            g_propagate_error(error, g_steal_pointer(&local_error));
            ok = FALSE;
        }
    }
    domain_list_free(doms, n);
    return ok ? g_steal_pointer(&vms) : NULL;
}

static virDomainPtr
conn_lookup(WirtConn *wconn, const char *uuid, GError **error)
{
    virDomainPtr dom = virDomainLookupByUUIDString(wconn->conn, uuid);

    if (!dom) {
        if (virt_last_error_code() == VIR_ERR_NO_DOMAIN)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "vm %s: no such domain on %s",
                        uuid, wconn->node);
        else
            conn_set_error(wconn, error, "vm %s: cannot look it up", uuid);
    }
    return dom;
}

/* ------------------------------------------------------------------------ */
/* Main loop side: listeners, cache, index                                   */

static void
hosts_notify(WirtHosts *hosts, WirtVmChange change, WirtVm *vm)
{
    /* A copy: a listener may add or remove listeners while we call it. */
    g_autoptr(GArray) listeners = g_array_copy(hosts->listeners);

    for (guint i = 0; i < listeners->len; i++) {
        const Listener *l = &g_array_index(listeners, Listener, i);
        gboolean still_there = FALSE;

        for (guint j = 0; j < hosts->listeners->len && !still_there; j++)
            still_there = g_array_index(hosts->listeners, Listener, j).id == l->id;
        if (still_there)
            l->func(change, vm, l->user_data);
    }
}

static char *
index_key(const char *owner, const char *name)
{
    return g_strconcat(owner ? owner : "", INDEX_SEP, name, NULL);
}

static void
ptr_array_unref_cb(gpointer data)
{
    g_ptr_array_unref(data);
}

static void
index_add(WirtHosts *hosts, WirtVm *vm)
{
    g_autofree char *key = index_key(vm->owner, vm->name);
    GPtrArray *vms = g_hash_table_lookup(hosts->by_name, key);

    if (!vms) {
        vms = g_ptr_array_new();
        g_hash_table_insert(hosts->by_name, g_steal_pointer(&key), vms);
    }
    g_ptr_array_add(vms, vm);
    if (vm->owner) {
        GPtrArray *owned = g_hash_table_lookup(hosts->by_owner, vm->owner);
        if (!owned) {
            owned = g_ptr_array_new();
            g_hash_table_insert(hosts->by_owner, g_strdup(vm->owner), owned);
        }
        g_ptr_array_add(owned, vm);
    }
}

static void
index_remove(WirtHosts *hosts, WirtVm *vm)
{
    GPtrArray *owned = vm->owner ? g_hash_table_lookup(hosts->by_owner, vm->owner) : NULL;

    if (owned) {
        g_ptr_array_remove_fast(owned, vm);
        if (owned->len == 0)
            g_hash_table_remove(hosts->by_owner, vm->owner);
    }
    g_autofree char *key = index_key(vm->owner, vm->name);
    GPtrArray *vms = g_hash_table_lookup(hosts->by_name, key);

    if (!vms)
        return;
    g_ptr_array_remove_fast(vms, vm);
    if (vms->len == 0)
        g_hash_table_remove(hosts->by_name, key);
}

/* Takes @vm (a snapshot nobody else edits) into @host's cache. */
static void
cache_put(WirtHost *host, WirtVm *vm)
{
    WirtVm *old = g_hash_table_lookup(host->vms, vm->uuid);
    /* The service's fresh snapshot and the event that follows often say the
     * same: tell listeners (and event streams) only about real changes. */
    gboolean changed = !old || !wirt_vm_equal(old, vm);

    if (old)
        index_remove(host->hosts, old);
    /* The key is the new value's own uuid; replace() swaps it in before it
     * frees the old value, whose uuid the old key was. */
    g_hash_table_replace(host->vms, vm->uuid, vm);
    index_add(host->hosts, vm);
    if (changed)
        hosts_notify(host->hosts, WIRT_VM_CHANGE_UPDATED, vm);
}

static void
cache_remove(WirtHost *host, const char *uuid)
{
    gpointer key = NULL;
    gpointer value = NULL;
    g_autoptr(WirtVm) vm = NULL;

    if (!g_hash_table_steal_extended(host->vms, uuid, &key, &value))
        return;
    vm = value;
    index_remove(host->hosts, vm);
    hosts_notify(host->hosts, WIRT_VM_CHANGE_REMOVED, vm);
}

static void
cache_drop_all(WirtHost *host)
{
    g_autoptr(GList) uuids = g_hash_table_get_keys(host->vms);
    g_autoptr(GPtrArray) copies = g_ptr_array_new_with_free_func(g_free);

    /* Copy the keys: each belongs to the value cache_remove() frees. */
    for (GList *l = uuids; l; l = l->next)
        g_ptr_array_add(copies, g_strdup(l->data));
    for (guint i = 0; i < copies->len; i++)
        cache_remove(host, g_ptr_array_index(copies, i));
}

/* ------------------------------------------------------------------------ */
/* Main loop side: refetching one domain                                     */

typedef struct {
    HostLink *link;
    WirtConn *wconn;
    char *uuid;
    guint token;
} RefetchData;

static void
refetch_data_free(gpointer data)
{
    RefetchData *rd = data;

    link_unref(rd->link);
    wirt_conn_unref(rd->wconn);
    g_free(rd->uuid);
    g_free(rd);
}

static void
refetch_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
               GCancellable *cancellable G_GNUC_UNUSED)
{
    RefetchData *rd = task_data;
    GError *error = NULL;
    WirtVm *vm = wirt_virt_vm_fetch(rd->wconn, rd->uuid, &error);

    if (vm)
        g_task_return_pointer(task, vm, vm_unref_cb);
    else
        g_task_return_error(task, error);
}

static void host_refetch(WirtHost *host, const char *uuid);

static void
on_refetch_done(GObject *source G_GNUC_UNUSED, GAsyncResult *result,
                gpointer user_data G_GNUC_UNUSED)
{
    RefetchData *rd = g_task_get_task_data(G_TASK(result));
    WirtHost *host = rd->link->host;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) vm = g_task_propagate_pointer(G_TASK(result), &error);
    Refetch *rf = host ? g_hash_table_lookup(host->refetches, rd->uuid) : NULL;
    gboolean again;

    if (!rf || rf->token != rd->token || host->wconn != rd->wconn)
        return; /* host freed or gone down since; or a newer request owns the slot */
    again = rf->again;
    g_hash_table_remove(host->refetches, rd->uuid);
    if (again) {
        /* An event or an update came in while we read: ours may be older. */
        host_refetch(host, rd->uuid);
    } else if (vm) {
        cache_put(host, g_steal_pointer(&vm));
    } else if (g_error_matches(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND)) {
        cache_remove(host, rd->uuid);
    }
    /* Other errors: the cache keeps what it had; HOST_DOWN was reported. */
}

/* Re-read one domain in a worker and put it in the cache, coalescing
 * requests for the same domain. */
static void
host_refetch(WirtHost *host, const char *uuid)
{
    g_autoptr(GTask) task = NULL;
    RefetchData *rd = NULL;
    Refetch *rf = NULL;

    if (!host->wconn) {
        if (host->connecting)
            g_hash_table_add(host->pending, g_strdup(uuid));
        return;
    }
    if ((rf = g_hash_table_lookup(host->refetches, uuid))) {
        rf->again = TRUE;
        return;
    }
    rf = g_new0(Refetch, 1);
    rf->token = ++host->next_token;
    g_hash_table_insert(host->refetches, g_strdup(uuid), rf);

    rd = g_new0(RefetchData, 1);
    rd->link = link_ref(host->link);
    rd->wconn = wirt_conn_ref(host->wconn);
    rd->uuid = g_strdup(uuid);
    rd->token = rf->token;
    task = g_task_new(NULL, NULL, on_refetch_done, NULL);
    g_task_set_source_tag(task, host_refetch);
    g_task_set_task_data(task, rd, refetch_data_free);
    g_task_run_in_thread(task, refetch_thread);
}

/* A newer truth than any refetch in flight for @uuid: let it fetch again. */
static void
host_invalidate_refetch(WirtHost *host, const char *uuid)
{
    Refetch *rf = g_hash_table_lookup(host->refetches, uuid);

    if (rf)
        rf->again = TRUE;
}

/* ------------------------------------------------------------------------ */
/* Main loop side: events                                                    */

static gboolean
host_has_conn(WirtHost *host, virConnectPtr conn)
{
    return host->wconn && host->wconn->conn == conn;
}

/* Maps a lifecycle event straight to the new state (no round trip). */
static void
host_apply_lifecycle(WirtHost *host, const char *uuid, int event)
{
    WirtVm *vm = g_hash_table_lookup(host->vms, uuid);
    WirtVm *copy = NULL;
    WirtVmState state;

    switch (event) {
    case VIR_DOMAIN_EVENT_UNDEFINED:
        cache_remove(host, uuid);
        return;
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        state = WIRT_VM_STATE_RUNNING;
        break;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        state = WIRT_VM_STATE_PAUSED;
        break;
    case VIR_DOMAIN_EVENT_STOPPED:
        if (vm && !vm->persistent) {
            cache_remove(host, uuid); /* a transient domain ends when it stops */
            return;
        }
        state = WIRT_VM_STATE_SHUTOFF;
        break;
    case VIR_DOMAIN_EVENT_SHUTDOWN:
        /* The guest is shutting down: it stays running until STOPPED. */
        return;
    case VIR_DOMAIN_EVENT_CRASHED:
        state = WIRT_VM_STATE_CRASHED;
        break;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        state = WIRT_VM_STATE_PMSUSPENDED;
        break;
    case VIR_DOMAIN_EVENT_DEFINED: /* new, or its configuration changed */
    default:
        host_refetch(host, uuid);
        return;
    }
    if (!vm) {
        host_refetch(host, uuid); /* e.g. a transient domain just created */
        return;
    }
    host_invalidate_refetch(host, uuid);
    if (vm->state == state)
        return;
    copy = wirt_vm_dup(vm);
    copy->state = state;
    cache_put(host, copy);
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail G_GNUC_UNUSED,
             void *opaque)
{
    HostLink *link = opaque;
    WirtHost *host = link->host;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (!host || virDomainGetUUIDString(dom, uuid) < 0)
        return 0;
    if (!host_has_conn(host, conn)) {
        /* Registered by the connect worker, whose load may predate this:
         * re-read the domain once the load is in. */
        if (host->connecting)
            g_hash_table_add(host->pending, g_strdup(uuid));
        return 0;
    }
    host_apply_lifecycle(host, uuid, event);
    return 0;
}

static void
on_metadata_change(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
    HostLink *link = opaque;
    WirtHost *host = link->host;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (!host || type != VIR_DOMAIN_METADATA_ELEMENT || g_strcmp0(nsuri, WIRT_META_NS) != 0 ||
        virDomainGetUUIDString(dom, uuid) < 0)
        return;
    if (host_has_conn(host, conn) || host->connecting)
        host_refetch(host, uuid);
}

/* ------------------------------------------------------------------------ */
/* Main loop side: connecting, going down, reconnecting                      */

static void host_connect(WirtHost *host);

static gboolean
on_retry(gpointer user_data)
{
    WirtHost *host = user_data;

    host->retry_id = 0;
    host_connect(host);
    return G_SOURCE_REMOVE;
}

static void
host_schedule_retry(WirtHost *host)
{
    guint delay = host->backoff_ms;

    host->backoff_ms = MIN(host->backoff_ms * 2, BACKOFF_MAX_MS);
    g_clear_handle_id(&host->retry_id, g_source_remove);
    host->retry_id = g_timeout_add(delay, on_retry, host);
}

static void
host_set_down(WirtHost *host, const char *reason)
{
    if (!host->up)
        return;
    host->up = FALSE;
    g_free(host->last_error);
    host->last_error = g_strdup(reason);
    g_hash_table_remove_all(host->refetches);
    g_hash_table_remove_all(host->pending);
    g_clear_pointer(&host->wconn, wirt_conn_unref);
    cache_drop_all(host);
    host_schedule_retry(host);
}

typedef struct {
    HostLink *link;
    virConnectPtr conn; /* one reference of ours */
    char *reason;
} DownReport;

static void
down_report_free(gpointer data)
{
    DownReport *report = data;

    link_unref(report->link);
    virConnectClose(report->conn);
    g_free(report->reason);
    g_free(report);
}

static gboolean
on_down_report(gpointer data)
{
    DownReport *report = data;
    WirtHost *host = report->link->host;

    /* Only when it is about the current connection and it really is dead: a
     * failed RPC on a live connection is just a failed RPC. */
    if (host && host_has_conn(host, report->conn) && virConnectIsAlive(report->conn) == 0)
        host_set_down(host, report->reason);
    virResetLastError();
    return G_SOURCE_REMOVE;
}

/* Any thread, including libvirt's close callback, which holds a lock that
 * deregistering would take again: so always go through an idle source,
 * never g_main_context_invoke() (it would run at once on the main thread). */
static void
report_down(HostLink *link, virConnectPtr conn, const char *reason)
{
    DownReport *report = g_new0(DownReport, 1);
    g_autoptr(GSource) source = g_idle_source_new();

    report->link = link_ref(link);
    virConnectRef(conn);
    report->conn = conn;
    report->reason = g_strdup(reason);
    g_source_set_callback(source, on_down_report, report, down_report_free);
    g_source_attach(source, NULL);
}

static void
conn_report_down(WirtConn *wconn, const char *reason)
{
    report_down(wconn->link, wconn->conn, reason);
}

static void
on_close(virConnectPtr conn, int reason, void *opaque)
{
    static const char *const reasons[] = {
        [VIR_CONNECT_CLOSE_REASON_ERROR] = "connection closed: I/O error",
        [VIR_CONNECT_CLOSE_REASON_EOF] = "connection closed by libvirtd",
        [VIR_CONNECT_CLOSE_REASON_KEEPALIVE] = "connection closed: keepalive timeout",
        [VIR_CONNECT_CLOSE_REASON_CLIENT] = "connection closed by the client",
    };

    report_down(opaque, conn,
                reason >= 0 && (gsize)reason < G_N_ELEMENTS(reasons) ? reasons[reason]
                                                                     : "connection closed");
}

typedef struct {
    HostLink *link;
    char *uri;
    char *pool;
} ConnectData;

static void
connect_data_free(gpointer data)
{
    ConnectData *cd = data;

    link_unref(cd->link);
    g_free(cd->uri);
    g_free(cd->pool);
    g_free(cd);
}

typedef struct {
    WirtConn *wconn; /* node not set yet */
    char *hostname;
    guint64 memory_mib;
    GPtrArray *vms; /* node not set yet */
} ConnectResult;

static void
connect_result_free(ConnectResult *cr)
{
    if (!cr)
        return;
    wirt_conn_unref(cr->wconn);
    g_free(cr->hostname);
    if (cr->vms)
        g_ptr_array_unref(cr->vms);
    g_free(cr);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConnectResult, connect_result_free)

static void
connect_result_free_cb(gpointer data)
{
    connect_result_free(data);
}

static ConnectResult *
host_open(const ConnectData *cd, GError **error)
{
    g_autoptr(ConnectResult) cr = g_new0(ConnectResult, 1);
    virConnectPtr conn = virConnectOpen(cd->uri);
    virNodeInfo info;

    if (!conn) {
        set_error_from_virt(error, "cannot connect to %s", cd->uri);
        return NULL;
    }
    cr->wconn = conn_new(conn, cd->pool, cd->link);
    cr->hostname = virConnectGetHostname(conn);
    virResetLastError(); /* no host name: the label falls back to the URI */
    if (virNodeGetInfo(conn, &info) < 0) {
        set_error_from_virt(error, "%s: cannot read node info", cd->uri);
        return NULL;
    }
    cr->memory_mib = info.memory / 1024;

    /* Events before the load, so nothing falls between the two; the main
     * loop re-reads the domains they name once the load is in. */
    cr->wconn->lifecycle_id = virConnectDomainEventRegisterAny(
        conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
        link_ref(cd->link), link_unref_cb);
    if (cr->wconn->lifecycle_id < 0) {
        set_error_from_virt(error, "%s: cannot watch domain events", cd->uri);
        return NULL;
    }
    cr->wconn->metadata_id = virConnectDomainEventRegisterAny(
        conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
        VIR_DOMAIN_EVENT_CALLBACK(on_metadata_change), link_ref(cd->link), link_unref_cb);
    if (cr->wconn->metadata_id < 0) {
        set_error_from_virt(error, "%s: cannot watch metadata events", cd->uri);
        return NULL;
    }
    /* The close callback borrows the WirtConn's link: drivers without close
     * callbacks (all local ones) report success and never call a free
     * function, and conn_clear() unregisters it before dropping the link.
     * Local drivers have no keepalive either: fine. */
    cr->wconn->close_registered =
        virConnectRegisterCloseCallback(conn, on_close, cr->wconn->link, NULL) == 0;
    virConnectSetKeepAlive(conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
    virResetLastError();

    if (!(cr->vms = load_domains(cr->wconn, error)))
        return NULL;
    return g_steal_pointer(&cr);
}

static void
connect_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
               GCancellable *cancellable G_GNUC_UNUSED)
{
    GError *error = NULL;
    ConnectResult *cr = host_open(task_data, &error);

    if (cr)
        g_task_return_pointer(task, cr, connect_result_free_cb);
    else
        g_task_return_error(task, error);
}

static gboolean
hosts_label_taken(WirtHosts *hosts, const char *label, WirtHost *except)
{
    for (guint i = 0; i < hosts->hosts->len; i++) {
        WirtHost *other = g_ptr_array_index(hosts->hosts, i);

        if (other != except && g_strcmp0(other->node, label) == 0)
            return TRUE;
    }
    return FALSE;
}

/* The node label: libvirt's host name, else the URI; "-2", "-3"... when
 * another host already has it (two test:/// URIs on one machine). Kept across
 * reconnects as long as the host name does not change. */
static void
host_assign_label(WirtHost *host, const char *hostname)
{
    const char *base = hostname && *hostname ? hostname : host->uri;
    g_autofree char *label = g_strdup(base);

    if (g_strcmp0(host->hostname, base) == 0)
        return;
    for (guint n = 2; hosts_label_taken(host->hosts, label, host); n++) {
        g_free(label);
        label = g_strdup_printf("%s-%u", base, n);
    }
    g_free(host->hostname);
    host->hostname = g_strdup(base);
    g_free(host->node);
    host->node = g_steal_pointer(&label);
}

static void
host_connected(WirtHost *host, ConnectResult *cr)
{
    g_autoptr(GList) pending = NULL;

    host_assign_label(host, cr->hostname);
    cr->wconn->node = g_strdup(host->node);
    host->wconn = g_steal_pointer(&cr->wconn);
    host->memory_mib = cr->memory_mib;
    host->up = TRUE;
    host->failures = 0;
    host->backoff_ms = BACKOFF_MIN_MS;
    g_clear_pointer(&host->last_error, g_free);

    cache_drop_all(host); /* empty already: it was dropped when the host went down */
    for (guint i = 0; i < cr->vms->len; i++) {
        WirtVm *vm = g_ptr_array_index(cr->vms, i);

        /* Fresh from the worker and not shared yet: still ours to edit. */
        g_free(vm->node);
        vm->node = g_strdup(host->node);
        cache_put(host, wirt_vm_ref(vm));
    }
    pending = g_hash_table_get_keys(host->pending);
    for (GList *l = pending; l; l = l->next)
        host_refetch(host, l->data);
    g_hash_table_remove_all(host->pending);
}

static void
on_connect_done(GObject *source G_GNUC_UNUSED, GAsyncResult *result,
                gpointer user_data G_GNUC_UNUSED)
{
    ConnectData *cd = g_task_get_task_data(G_TASK(result));
    WirtHost *host = cd->link->host;
    g_autoptr(GError) error = NULL;
    g_autoptr(ConnectResult) cr = g_task_propagate_pointer(G_TASK(result), &error);

    if (!host)
        return; /* freed meanwhile: dropping @cr closes the connection */
    host->connecting = FALSE;
    host->attempted = TRUE;
    if (cr) {
        host_connected(host, cr);
        return;
    }
    host->failures++;
    g_free(host->last_error);
    host->last_error = g_strdup(error->message);
    g_hash_table_remove_all(host->pending);
    host_schedule_retry(host);
}

static void
host_connect(WirtHost *host)
{
    g_autoptr(GTask) task = NULL;
    ConnectData *cd = NULL;

    if (host->up || host->connecting)
        return;
    host->connecting = TRUE;
    cd = g_new0(ConnectData, 1);
    cd->link = link_ref(host->link);
    cd->uri = g_strdup(host->uri);
    cd->pool = g_strdup(host->pool);
    task = g_task_new(NULL, NULL, on_connect_done, NULL);
    g_task_set_source_tag(task, host_connect);
    g_task_set_task_data(task, cd, connect_data_free);
    g_task_run_in_thread(task, connect_thread);
}

/* ------------------------------------------------------------------------ */
/* WirtHost                                                                  */

static WirtHost *
host_new(WirtHosts *hosts, const char *pool, const char *uri)
{
    WirtHost *host = g_new0(WirtHost, 1);

    host->hosts = hosts;
    host->link = link_new(host);
    host->uri = g_strdup(uri);
    host->pool = g_strdup(pool);
    host->node = g_strdup(uri);
    host->backoff_ms = BACKOFF_MIN_MS;
    host->vms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, vm_unref_cb);
    host->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    host->refetches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return host;
}

static void
host_free(WirtHost *host)
{
    if (!host)
        return;
    host->link->host = NULL; /* late callbacks and completions find nothing */
    link_unref(host->link);
    g_clear_handle_id(&host->retry_id, g_source_remove);
    wirt_conn_unref(host->wconn);
    g_hash_table_unref(host->vms);
    g_hash_table_unref(host->pending);
    g_hash_table_unref(host->refetches);
    g_free(host->uri);
    g_free(host->pool);
    g_free(host->node);
    g_free(host->hostname);
    g_free(host->last_error);
    g_free(host);
}

static void
host_free_cb(gpointer data)
{
    host_free(data);
}

/**
 * wirt_host_get_uri:
 * Returns: (transfer none): the libvirt URI from the config.
 */
const char *
wirt_host_get_uri(WirtHost *host)
{
    return host->uri;
}

/**
 * wirt_host_get_pool:
 * Returns: (transfer none): the name of the pool the host belongs to.
 */
const char *
wirt_host_get_pool(WirtHost *host)
{
    return host->pool;
}

/**
 * wirt_host_get_node:
 * Returns: (transfer none): the node label: libvirt's host name (with "-2", "-3"...
 *   when two hosts share one), or the URI until the first connection.
 */
const char *
wirt_host_get_node(WirtHost *host)
{
    return host->node;
}

/**
 * wirt_host_is_up:
 * Returns: %TRUE while the host is connected and its VMs are in the cache.
 */
gboolean
wirt_host_is_up(WirtHost *host)
{
    return host->up;
}

/**
 * wirt_host_get_last_error:
 * Returns: (transfer none) (nullable): why the host is down, %NULL while it is up
 *   or before its first connection attempt finished.
 */
const char *
wirt_host_get_last_error(WirtHost *host)
{
    return host->up ? NULL : host->last_error;
}

/**
 * wirt_host_get_memory_mib:
 * Returns: the host's total memory in MiB (virNodeGetInfo), 0 if never connected.
 */
guint64
wirt_host_get_memory_mib(WirtHost *host)
{
    return host->memory_mib;
}

/**
 * wirt_host_get_failures:
 * Returns: how many connection attempts failed in a row (0 while up).
 */
guint
wirt_host_get_failures(WirtHost *host)
{
    return host->failures;
}

/**
 * wirt_host_get_conn:
 * @host: a host
 * @error: return location for a #GError
 * Returns: (transfer full) (nullable): a handle for a worker thread, or %NULL with
 *   %WIRT_ERROR_HOST_DOWN ("host NODE is down: REASON") when the host is not connected.
 */
WirtConn *
wirt_host_get_conn(WirtHost *host, GError **error)
{
    if (!host->up || !host->wconn) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "host %s is down: %s", host->node,
                    host->last_error ? host->last_error : "not connected yet");
        return NULL;
    }
    return wirt_conn_ref(host->wconn);
}

/* ------------------------------------------------------------------------ */
/* WirtHosts                                                                 */

/**
 * wirt_hosts_new:
 * @config: the configuration; it must outlive the result
 * Returns: (transfer full): one host per URI of every pool, not connected yet
 *   (see wirt_hosts_start()). Use it from the default main context only.
 */
WirtHosts *
wirt_hosts_new(const WirtConfig *config)
{
    WirtHosts *hosts = g_new0(WirtHosts, 1);

    virt_init();
    hosts->config = config;
    hosts->hosts = g_ptr_array_new_with_free_func(host_free_cb);
    hosts->listeners = g_array_new(FALSE, FALSE, sizeof(Listener));
    hosts->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ptr_array_unref_cb);
    hosts->by_owner = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ptr_array_unref_cb);
    for (guint i = 0; config->pools && i < config->pools->len; i++) {
        const WirtPoolConfig *pool = g_ptr_array_index(config->pools, i);

        for (guint j = 0; pool->uris && pool->uris[j]; j++)
            g_ptr_array_add(hosts->hosts, host_new(hosts, pool->name, pool->uris[j]));
    }
    return hosts;
}

/**
 * wirt_hosts_start:
 * @hosts: hosts from wirt_hosts_new()
 *
 * Starts connecting every host in worker threads; each then loads its domains,
 * watches events and reconnects with backoff when it goes away.
 * gvir_event_register() must have been called before.
 */
void
wirt_hosts_start(WirtHosts *hosts)
{
    for (guint i = 0; i < hosts->hosts->len; i++)
        host_connect(g_ptr_array_index(hosts->hosts, i));
}

/**
 * wirt_hosts_free:
 * @hosts: (nullable) (transfer full): the hosts
 *
 * Closes every connection; workers still running finish on their own and
 * their results are dropped. Listeners are not called.
 */
void
wirt_hosts_free(WirtHosts *hosts)
{
    if (!hosts)
        return;
    g_ptr_array_unref(hosts->hosts);
    g_array_unref(hosts->listeners);
    g_hash_table_unref(hosts->by_name);
    g_hash_table_unref(hosts->by_owner);
    g_free(hosts);
}

static gboolean
hosts_all_attempted(WirtHosts *hosts)
{
    for (guint i = 0; i < hosts->hosts->len; i++) {
        WirtHost *host = g_ptr_array_index(hosts->hosts, i);

        if (!host->attempted)
            return FALSE;
    }
    return TRUE;
}

static gboolean
on_wait_timeout(gpointer user_data)
{
    guint *id = user_data;

    *id = 0;
    return G_SOURCE_REMOVE;
}

/**
 * wirt_hosts_wait_ready:
 * @hosts: started hosts
 * @timeout_ms: the longest to wait
 *
 * Iterates the default main context until every host has finished its first
 * connection attempt (successful or not) or @timeout_ms passed.
 */
void
wirt_hosts_wait_ready(WirtHosts *hosts, guint timeout_ms)
{
    guint timeout_id = 0;

    timeout_id = g_timeout_add(timeout_ms, on_wait_timeout, &timeout_id);
    while (timeout_id && !hosts_all_attempted(hosts))
        g_main_context_iteration(NULL, TRUE);
    g_clear_handle_id(&timeout_id, g_source_remove);
}

/**
 * wirt_hosts_add_listener:
 * @func: called on the main loop for every VM that appears, changes or goes away
 *   (including every VM of a host that goes down)
 * Returns: an id for wirt_hosts_remove_listener(), never 0.
 */
guint
wirt_hosts_add_listener(WirtHosts *hosts, WirtVmChangedFunc func, gpointer user_data)
{
    Listener l = {.id = ++hosts->next_listener_id, .func = func, .user_data = user_data};

    g_array_append_val(hosts->listeners, l);
    return l.id;
}

/**
 * wirt_hosts_remove_listener:
 * @id: from wirt_hosts_add_listener(); unknown ids are ignored
 *
 * Safe from inside a listener: a removed listener is not called again.
 */
void
wirt_hosts_remove_listener(WirtHosts *hosts, guint id)
{
    for (guint i = 0; i < hosts->listeners->len; i++) {
        if (g_array_index(hosts->listeners, Listener, i).id == id) {
            g_array_remove_index(hosts->listeners, i);
            return;
        }
    }
}

/**
 * wirt_hosts_list_vms:
 * Returns: (transfer container): the VMs of every up host, in no particular order,
 *   borrowed from the cache (take a reference on what you keep).
 */
GPtrArray *
wirt_hosts_list_vms(WirtHosts *hosts)
{
    GPtrArray *vms = g_ptr_array_new();

    for (guint i = 0; i < hosts->hosts->len; i++) {
        WirtHost *host = g_ptr_array_index(hosts->hosts, i);
        GHashTableIter iter;
        gpointer value;

        g_hash_table_iter_init(&iter, host->vms);
        while (g_hash_table_iter_next(&iter, NULL, &value))
            g_ptr_array_add(vms, value);
    }
    return vms;
}

/**
 * wirt_hosts_list_vms_of:
 * @owner: a user name
 * Returns: (transfer container): @owner's VMs on every up host (borrowed, as
 * wirt_hosts_list_vms()), from an index: no walk over everyone's VMs.
 */
GPtrArray *
wirt_hosts_list_vms_of(WirtHosts *hosts, const char *owner)
{
    GPtrArray *owned = owner ? g_hash_table_lookup(hosts->by_owner, owner) : NULL;
    GPtrArray *vms = g_ptr_array_sized_new(owned ? owned->len : 0);

    for (guint i = 0; owned && i < owned->len; i++)
        g_ptr_array_add(vms, g_ptr_array_index(owned, i));
    return vms;
}

/**
 * wirt_hosts_find_vm:
 * @owner: (nullable): the owner, or %NULL for a domain no one owns
 * @name: the owner's VM name, or (with @owner %NULL) the libvirt domain name
 * Returns: (transfer full) (nullable): the VM, %NULL when no up host has it.
 */
WirtVm *
wirt_hosts_find_vm(WirtHosts *hosts, const char *owner, const char *name)
{
    g_autofree char *key = NULL;
    GPtrArray *vms = NULL;

    if (!name)
        return NULL;
    key = index_key(owner, name);
    vms = g_hash_table_lookup(hosts->by_name, key);
    return vms && vms->len > 0 ? wirt_vm_ref(g_ptr_array_index(vms, 0)) : NULL;
}

/**
 * wirt_hosts_find_domain:
 * @node: (nullable): a node label to restrict the search to
 * @domain: a libvirt domain name
 * Returns: (transfer full) (nullable): the VM with that domain name, owned or not.
 */
WirtVm *
wirt_hosts_find_domain(WirtHosts *hosts, const char *node, const char *domain)
{
    for (guint i = 0; domain && i < hosts->hosts->len; i++) {
        WirtHost *host = g_ptr_array_index(hosts->hosts, i);
        GHashTableIter iter;
        gpointer value;

        if (node && g_strcmp0(host->node, node) != 0)
            continue;
        g_hash_table_iter_init(&iter, host->vms);
        while (g_hash_table_iter_next(&iter, NULL, &value)) {
            WirtVm *vm = value;

            if (g_str_equal(vm->domain, domain))
                return wirt_vm_ref(vm);
        }
    }
    return NULL;
}

/**
 * wirt_hosts_list:
 * Returns: (transfer container): every WirtHost, in config order.
 */
GPtrArray *
wirt_hosts_list(WirtHosts *hosts)
{
    GPtrArray *list = g_ptr_array_sized_new(hosts->hosts->len);

    for (guint i = 0; i < hosts->hosts->len; i++)
        g_ptr_array_add(list, g_ptr_array_index(hosts->hosts, i));
    return list;
}

/**
 * wirt_hosts_find_host:
 * @node: a node label
 * Returns: (transfer none) (nullable): the host with that label.
 */
WirtHost *
wirt_hosts_find_host(WirtHosts *hosts, const char *node)
{
    for (guint i = 0; node && i < hosts->hosts->len; i++) {
        WirtHost *host = g_ptr_array_index(hosts->hosts, i);

        if (g_str_equal(host->node, node))
            return host;
    }
    return NULL;
}

/**
 * wirt_hosts_update_vm:
 * @vm: (transfer none): a snapshot a worker just fetched (its node names the host)
 *
 * Replaces the cached snapshot and tells the listeners, so that a read right
 * after an action sees its effect before the event arrives. Ignored when the
 * host is unknown or down (its VMs are not listed then).
 */
void
wirt_hosts_update_vm(WirtHosts *hosts, WirtVm *vm)
{
    WirtHost *host = wirt_hosts_find_host(hosts, vm->node);

    if (!host || !host->up)
        return;
    host_invalidate_refetch(host, vm->uuid);
    cache_put(host, wirt_vm_ref(vm));
}

/**
 * wirt_hosts_remove_vm:
 * @node: the VM's node label
 * @uuid: the VM's uuid
 *
 * Drops the VM from the cache (after a delete) and tells the listeners; a
 * no-op when it is not there.
 */
void
wirt_hosts_remove_vm(WirtHosts *hosts, const char *node, const char *uuid)
{
    WirtHost *host = wirt_hosts_find_host(hosts, node);

    if (host)
        cache_remove(host, uuid);
}

/* ------------------------------------------------------------------------ */
/* Worker side: the blocking API                                             */

/**
 * wirt_virt_free_memory:
 * @conn: a connection handle
 * @out_mib: (out): free memory in MiB, set on success only
 * @error: return location for a #GError
 * Returns: %TRUE, or %FALSE with @error set. Blocking: call from a worker.
 *
 * When the driver cannot tell (the test driver without NUMA cells), the answer
 * is the total minus the memory of the active domains.
 */
gboolean
wirt_virt_free_memory(WirtConn *conn, guint64 *out_mib, GError **error)
{
    unsigned long long free_bytes = virNodeGetFreeMemory(conn->conn);
    virDomainPtr *doms = NULL;
    virNodeInfo info;
    guint64 used_kib = 0;
    int n;

    if (free_bytes > 0) {
        *out_mib = free_bytes / (1024 * 1024);
        return TRUE;
    }
    /* libvirt turns a driver's 0 into an error of unknown cause, so "none"
     * and "cannot tell" look alike: estimate; a dead connection fails below. */
    if (virNodeGetInfo(conn->conn, &info) < 0 ||
        (n = virConnectListAllDomains(conn->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE)) < 0) {
        conn_set_error(conn, error, "host %s: cannot read free memory", conn->node);
        return FALSE;
    }
    for (int i = 0; i < n; i++) {
        virDomainInfo dinfo;

        if (virDomainGetInfo(doms[i], &dinfo) == 0)
            used_kib += dinfo.memory;
    }
    domain_list_free(doms, n);
    virResetLastError();
    *out_mib = info.memory > used_kib ? (info.memory - used_kib) / 1024 : 0;
    return TRUE;
}

/**
 * wirt_virt_define_vm:
 * @conn: a connection handle
 * @spec: owner, name, memory, vcpus (policy and quota already passed)
 * @meta: the wirt facts for the domain's <metadata>
 * @error: return location for a #GError
 * Returns: (transfer full) (nullable): a fresh snapshot of the new persistent
 *   domain "owner.name", or %NULL with %WIRT_ERROR_CONFLICT ("vm NAME already
 *   exists"), %WIRT_ERROR_INVALID or a libvirt error. Blocking: call from a worker.
 */
WirtVm *
wirt_virt_define_vm(WirtConn *conn, const WirtVmSpec *spec, const WirtMeta *meta, GError **error)
{
    g_autofree char *domain = NULL;
    g_autofree char *xml = NULL;
    g_autoptr(virDomain) existing = NULL;
    g_autoptr(virDomain) dom = NULL;
    const char *type = virConnectGetType(conn->conn);

    if (!type) {
        conn_set_error(conn, error, "host %s: cannot read its driver type", conn->node);
        return NULL;
    }
    if (spec->box)
        return wirt_virt_define_box_vm(conn, spec, meta, error);
    if (!(xml = wirt_domain_xml_build(spec, wirt_virt_domain_type(conn, spec->domain_type), meta,
                                      NULL, error)))
        return NULL;
    domain = wirt_name_domain(spec->owner, spec->name);
    if ((existing = virDomainLookupByName(conn->conn, domain))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "vm %s already exists", spec->name);
        return NULL;
    }
    if (virt_last_error_code() != VIR_ERR_NO_DOMAIN) {
        conn_set_error(conn, error, "vm %s: cannot look it up", domain);
        return NULL;
    }
    if (!(dom = virDomainDefineXML(conn->conn, xml))) {
        conn_set_error(conn, error, "vm %s: cannot define it", domain);
        return NULL;
    }
    return vm_snapshot(conn, dom, error);
}

/* What an action is called in messages; NULL for actions that are not libvirt's. */
static const char *
action_verb(WirtAction action, gboolean enable)
{
    switch (action) {
    case WIRT_ACTION_START:
    case WIRT_ACTION_STOP:
    case WIRT_ACTION_DESTROY:
    case WIRT_ACTION_REBOOT:
    case WIRT_ACTION_SUSPEND:
    case WIRT_ACTION_RESUME:
        return wirt_action_to_string(action);
    case WIRT_ACTION_AUTOSTART:
        return enable ? "enable autostart" : "disable autostart";
    default:
        return NULL;
    }
}

static int
action_run(virDomainPtr dom, WirtAction action, gboolean enable)
{
    switch (action) {
    case WIRT_ACTION_START:
        return virDomainCreate(dom);
    case WIRT_ACTION_STOP:
        return virDomainShutdown(dom); /* an ACPI request: the guest may ignore it */
    case WIRT_ACTION_DESTROY:
        return virDomainDestroy(dom);
    case WIRT_ACTION_REBOOT:
        return virDomainReboot(dom, 0);
    case WIRT_ACTION_SUSPEND:
        return virDomainSuspend(dom);
    case WIRT_ACTION_RESUME:
        return virDomainResume(dom);
    case WIRT_ACTION_AUTOSTART:
        return virDomainSetAutostart(dom, enable ? 1 : 0);
    default:
        g_assert_not_reached();
    }
}

static gboolean
check_state_for(WirtConn *conn, virDomainPtr dom, WirtAction action, const char *verb,
                GError **error)
{
    int state = VIR_DOMAIN_NOSTATE;
    int reason = 0;
    gboolean ok = TRUE;

    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        conn_set_dom_error(conn, error, dom, "cannot %s", verb);
        return FALSE;
    }
    switch (action) {
    case WIRT_ACTION_START:
        ok = state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED;
        break;
    case WIRT_ACTION_STOP:
    case WIRT_ACTION_DESTROY:
    case WIRT_ACTION_REBOOT:
    case WIRT_ACTION_SUSPEND:
        ok = state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED;
        break;
    case WIRT_ACTION_RESUME:
        ok = state == VIR_DOMAIN_PAUSED;
        break;
    default:
        break;
    }
    if (!ok)
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "vm %s: cannot %s: it is %s",
                    virDomainGetName(dom), verb, wirt_vm_state_to_string(state_from_virt(state)));
    return ok;
}

/**
 * wirt_virt_vm_action:
 * @conn: a connection handle
 * @uuid: the domain's uuid
 * @action: START, STOP (ACPI shutdown request only), DESTROY, REBOOT, SUSPEND,
 *   RESUME or AUTOSTART
 * @enable: for AUTOSTART: on or off
 * @error: return location for a #GError
 * Returns: %TRUE, or %FALSE with @error set: %WIRT_ERROR_NOT_FOUND, %WIRT_ERROR_CONFLICT
 *   when the VM is in the wrong state ("vm D: cannot start: it is running"),
 *   %WIRT_ERROR_INVALID for other actions, else libvirt's error named
 *   "vm D: cannot VERB: ...". Blocking: call from a worker.
 */
gboolean
wirt_virt_vm_action(WirtConn *conn, const char *uuid, WirtAction action, gboolean enable,
                    GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    const char *verb = action_verb(action, enable);

    if (!verb) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "action %s is not a libvirt action",
                    wirt_action_to_string(action));
        return FALSE;
    }
    if (!(dom = conn_lookup(conn, uuid, error)) || !check_state_for(conn, dom, action, verb, error))
        return FALSE;
    if (action_run(dom, action, enable) < 0) {
        conn_set_dom_error(conn, error, dom, "cannot %s", verb);
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_virt_vm_configure:
 * @memory_mib: new memory in MiB, or 0
 * @vcpus: new vCPU count, or 0
 *
 * Changes the persistent definition only (VIR_DOMAIN_AFFECT_CONFIG): a running
 * guest keeps what it booted with until it is started again.
 * Returns: %TRUE, or %FALSE with libvirt's error as "vm D: cannot configure: ...".
 */
gboolean
wirt_virt_vm_configure(WirtConn *conn, const char *uuid, guint64 memory_mib, guint vcpus,
                       GError **error)
{
    g_autoptr(virDomain) dom = conn_lookup(conn, uuid, error);
    const unsigned int config = VIR_DOMAIN_AFFECT_CONFIG;

    if (!dom)
        return FALSE;
    if (memory_mib &&
        (virDomainSetMemoryFlags(dom, memory_mib * 1024, config | VIR_DOMAIN_MEM_MAXIMUM) < 0 ||
         virDomainSetMemoryFlags(dom, memory_mib * 1024, config) < 0)) {
        conn_set_dom_error(conn, error, dom, "cannot set memory");
        return FALSE;
    }
    /* Raising vCPUs: maximum first; lowering: the current count first. */
    if (vcpus) {
        unsigned int order[2] = {config | VIR_DOMAIN_VCPU_MAXIMUM, config};
        int max = virDomainGetVcpusFlags(dom, config | VIR_DOMAIN_VCPU_MAXIMUM);
        if (max >= 0 && (guint)max > vcpus) {
            order[0] = config;
            order[1] = config | VIR_DOMAIN_VCPU_MAXIMUM;
        }
        for (guint i = 0; i < 2; i++) {
            if (virDomainSetVcpusFlags(dom, vcpus, order[i]) < 0) {
                conn_set_dom_error(conn, error, dom, "cannot set vcpus");
                return FALSE;
            }
        }
    }
    return TRUE;
}

/* domain_disk_sources(): the <source> of each <domain><devices><disk>. */
typedef struct {
    guint depth;
    gboolean in_devices;
    gboolean in_disk; /* a <disk device="disk"> */
    gboolean shared;  /* it has <readonly/> or <shareable/> */
    gboolean cdrom;   /* a <disk device="cdrom">: only the VM's own seed is its own */
    char *source;     /* "path", or "pool\x1fvolume" */
    GPtrArray *sources;
    const char *seed; /* the name of the seed volume wirt made for the VM */
} DiskParse;

static const char *
attr_get(const char **names, const char **values, const char *name)
{
    for (gsize i = 0; names[i]; i++) {
        if (g_str_equal(names[i], name))
            return values[i];
    }
    return NULL;
}

static void
disks_start_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                    const char **attribute_names, const char **attribute_values, gpointer user_data,
                    GError **error G_GNUC_UNUSED)
{
    DiskParse *dp = user_data;
    guint depth = ++dp->depth;

    if (depth == 2 && g_str_equal(element_name, "devices")) {
        dp->in_devices = TRUE;
    } else if (depth == 3 && dp->in_devices && g_str_equal(element_name, "disk")) {
        const char *device = attr_get(attribute_names, attribute_values, "device");

        /* Only disks, and the seed wirt made: an install ISO or a floppy image is shared. */
        dp->cdrom = g_strcmp0(device, "cdrom") == 0;
        dp->in_disk = !device || g_str_equal(device, "disk") || dp->cdrom;
        dp->shared = FALSE;
        g_clear_pointer(&dp->source, g_free);
    } else if (depth == 4 && dp->in_disk) {
        const char *file = attr_get(attribute_names, attribute_values, "file");
        const char *dev = attr_get(attribute_names, attribute_values, "dev");
        const char *pool = attr_get(attribute_names, attribute_values, "pool");
        const char *volume = attr_get(attribute_names, attribute_values, "volume");

        if (g_str_equal(element_name, "readonly") || g_str_equal(element_name, "shareable"))
            dp->shared = TRUE;
        else if (!g_str_equal(element_name, "source"))
            return;
        else if (file || dev)
            dp->source = g_strdup(file ? file : dev);
        else if (pool && volume)
            dp->source = g_strconcat(pool, INDEX_SEP, volume, NULL);
    }
}

static void
disks_end_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                  gpointer user_data, GError **error G_GNUC_UNUSED)
{
    DiskParse *dp = user_data;

    if (dp->depth == 3 && dp->in_disk && g_str_equal(element_name, "disk")) {
        /* Writable and not shared, or the VM's seed: it is this VM's own, delete it with it. */
        if (dp->source && dp->cdrom) {
            const char *slash = strrchr(dp->source, '/');
            const char *sep = strchr(dp->source, INDEX_SEP[0]);
            const char *base = slash ? slash + 1 : sep ? sep + 1 : dp->source;
            if (dp->seed && g_str_equal(base, dp->seed))
                g_ptr_array_add(dp->sources, g_steal_pointer(&dp->source));
        } else if (dp->source && !dp->shared) {
            g_ptr_array_add(dp->sources, g_steal_pointer(&dp->source));
        }
        g_clear_pointer(&dp->source, g_free);
        dp->in_disk = FALSE;
    } else if (dp->depth == 2 && g_str_equal(element_name, "devices")) {
        dp->in_devices = FALSE;
    }
    dp->depth--;
}

static const GMarkupParser disks_parser = {
    .start_element = disks_start_element,
    .end_element = disks_end_element,
};

/* The storage of @dom's writable, unshared disks: "path" or "pool\x1fvolume". */
static GPtrArray *
domain_disk_sources(WirtConn *conn, virDomainPtr dom, GError **error)
{
    g_autoptr(GPtrArray) sources = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GMarkupParseContext) context = NULL;
    g_autoptr(GError) local_error = NULL;
    g_autofree char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    g_autofree char *seed = wirt_virt_vm_volume_name(virDomainGetName(dom), TRUE);
    DiskParse dp = {.sources = sources, .seed = seed};
    gboolean ok;

    if (!xml) {
        conn_set_dom_error(conn, error, dom, "cannot read its XML");
        return NULL;
    }
    context = g_markup_parse_context_new(&disks_parser, 0, &dp, NULL);
    ok = g_markup_parse_context_parse(context, xml, -1, &local_error) &&
         g_markup_parse_context_end_parse(context, &local_error);
    g_clear_pointer(&dp.source, g_free);
    if (!ok) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "vm %s: cannot parse its XML: %s",
                    virDomainGetName(dom), local_error->message);
        return NULL;
    }
    return g_steal_pointer(&sources);
}

static void
vol_free_cb(gpointer data)
{
    virStorageVolFree(data);
}

/* The volume behind @source, or NULL (and no error) when no pool has it. */
static virStorageVolPtr
lookup_volume(WirtConn *conn, const char *source, GError **error)
{
    const char *sep = strchr(source, INDEX_SEP[0]);
    g_autoptr(virStoragePool) pool = NULL;
    virStorageVolPtr vol = NULL;

    if (sep) {
        g_autofree char *pool_name = g_strndup(source, (gsize)(sep - source));

        if ((pool = virStoragePoolLookupByName(conn->conn, pool_name)))
            vol = virStorageVolLookupByName(pool, sep + 1);
    } else {
        vol = virStorageVolLookupByPath(conn->conn, source);
    }
    if (vol)
        return vol;
    switch (virt_last_error_code()) {
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_SUPPORT:
        virResetLastError();
        return NULL;
    default:
        conn_set_error(conn, error, "cannot look up volume %s", sep ? sep + 1 : source);
        return NULL;
    }
}

/**
 * wirt_virt_vm_delete:
 * @conn: a connection handle
 * @uuid: the domain's uuid
 * @error: return location for a #GError
 * Returns: %TRUE when the domain is undefined (with its managed save, snapshot and
 *   checkpoint metadata, NVRAM) and the storage-pool volumes of its writable
 *   disks are deleted; %FALSE with %WIRT_ERROR_CONFLICT when it is active, else
 *   %WIRT_ERROR_NOT_FOUND or libvirt's error. Paths in no pool are left alone.
 *   Blocking: call from a worker.
 */
gboolean
wirt_virt_vm_delete(WirtConn *conn, const char *uuid, GError **error)
{
    const unsigned int flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                               VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM |
                               VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(GPtrArray) sources = NULL;
    g_autoptr(GPtrArray) vols = g_ptr_array_new_with_free_func(vol_free_cb);
    g_autofree char *domain = NULL;
    g_autofree char *xml = NULL;
    int active;

    if (!(dom = conn_lookup(conn, uuid, error)))
        return FALSE;
    domain = g_strdup(virDomainGetName(dom));
    if ((active = virDomainIsActive(dom)) < 0) {
        conn_set_error(conn, error, "vm %s: cannot delete", domain);
        return FALSE;
    }
    if (active) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                    "vm %s: cannot delete: it is running; stop it first", domain);
        return FALSE;
    }
    /* Look every volume up before changing anything. */
    if (!(sources = domain_disk_sources(conn, dom, error)))
        return FALSE;
    for (guint i = 0; i < sources->len; i++) {
        g_autoptr(GError) local_error = NULL;
        virStorageVolPtr vol = lookup_volume(conn, g_ptr_array_index(sources, i), &local_error);

        if (local_error) {
            g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
                                       "vm %s: cannot delete: ", domain);
            return FALSE;
        }
        if (vol)
            g_ptr_array_add(vols, vol);
    }
    if (!(xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE))) {
        conn_set_dom_error(conn, error, dom, "cannot read its XML");
        return FALSE;
    }
    if (virDomainUndefineFlags(dom, flags) < 0) {
        /* The test driver and older hosts reject some flags. */
        int code = virt_last_error_code();

        if ((code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT) ||
            virDomainUndefine(dom) < 0) {
            conn_set_error(conn, error, "vm %s: cannot delete", domain);
            return FALSE;
        }
    }
    wirt_virt_vm_release_addresses(conn, xml);
    for (guint i = 0; i < vols->len; i++) {
        virStorageVolPtr vol = g_ptr_array_index(vols, i);

        if (virStorageVolDelete(vol, 0) < 0) {
            conn_set_error(conn, error, "vm %s: deleted, but not its volume %s", domain,
                           virStorageVolGetName(vol));
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * wirt_virt_vm_set_meta:
 * @conn: a connection handle
 * @uuid: the domain's uuid
 * @meta: the facts to write; owner and name must be valid
 * @error: return location for a #GError
 * Returns: %TRUE when the domain's wirt metadata is replaced in its persistent
 *   configuration and, if it runs, its live definition; %FALSE with @error set.
 *   Blocking: call from a worker.
 */
gboolean
wirt_virt_vm_set_meta(WirtConn *conn, const char *uuid, const WirtMeta *meta, GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autofree char *xml = NULL;
    unsigned int flags = 0;
    int active;
    int persistent;

    if (!wirt_name_validate_owner(meta->owner, error) || !wirt_name_validate(meta->name, error))
        return FALSE;
    if (!(dom = conn_lookup(conn, uuid, error)))
        return FALSE;
    if ((active = virDomainIsActive(dom)) < 0 || (persistent = virDomainIsPersistent(dom)) < 0) {
        conn_set_dom_error(conn, error, dom, "cannot set its metadata");
        return FALSE;
    }
    if (active)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (persistent)
        flags |= VIR_DOMAIN_AFFECT_CONFIG;
    xml = wirt_meta_format(meta);
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, WIRT_META_PREFIX, WIRT_META_NS,
                             flags) < 0) {
        conn_set_dom_error(conn, error, dom, "cannot set its metadata");
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_virt_vm_fetch:
 * @conn: a connection handle
 * @uuid: the domain's uuid
 * @error: return location for a #GError
 * Returns: (transfer full) (nullable): a fresh snapshot (state, memory, vcpus,
 *   autostart, metadata), or %NULL with %WIRT_ERROR_NOT_FOUND or libvirt's error.
 *   Blocking: call from a worker.
 */
WirtVm *
wirt_virt_vm_fetch(WirtConn *conn, const char *uuid, GError **error)
{
    g_autoptr(virDomain) dom = conn_lookup(conn, uuid, error);

    return dom ? vm_snapshot(conn, dom, error) : NULL;
}

/**
 * wirt_virt_lookup_domain:
 * @conn: a connection handle
 * @domain: a libvirt domain name
 * @error: return location for a #GError
 * Returns: (transfer full) (nullable): the domain's uuid, or %NULL with
 *   %WIRT_ERROR_NOT_FOUND or libvirt's error. Blocking: call from a worker.
 */
char *
wirt_virt_lookup_domain(WirtConn *conn, const char *domain, GError **error)
{
    g_autoptr(virDomain) dom = virDomainLookupByName(conn->conn, domain);
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (!dom) {
        if (virt_last_error_code() == VIR_ERR_NO_DOMAIN)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "domain %s: not found on %s",
                        domain, conn->node);
        else
            conn_set_error(conn, error, "domain %s: cannot look it up", domain);
        return NULL;
    }
    if (virDomainGetUUIDString(dom, uuid) < 0) {
        conn_set_error(conn, error, "domain %s: cannot read its uuid", domain);
        return NULL;
    }
    return g_strdup(uuid);
}

/* ------------------------------------------------------------------------ */
/* seed 001's /virt XML interface: reads and devices (worker side)          */

static const char *const read_names[WIRT_VIRT_READ_LAST] = {
    [WIRT_VIRT_READ_XML_DESC] = "domainGetXMLDesc",
    [WIRT_VIRT_READ_ID] = "domainGetID",
    [WIRT_VIRT_READ_MAX_MEMORY] = "domainGetMaxMemory",
    [WIRT_VIRT_READ_MAX_VCPUS] = "domainGetMaxVcpus",
    [WIRT_VIRT_READ_NAME] = "domainGetName",
    [WIRT_VIRT_READ_OS_TYPE] = "domainGetOSType",
    [WIRT_VIRT_READ_SCHEDULER_PARAMETERS] = "domainGetSchedulerParameters",
    [WIRT_VIRT_READ_SCHEDULER_TYPE] = "domainGetSchedulerType",
    [WIRT_VIRT_READ_UUID] = "domainGetUUID",
    [WIRT_VIRT_READ_UUID_STRING] = "domainGetUUIDString",
    [WIRT_VIRT_READ_VCPUS] = "domainGetVcpus",
    [WIRT_VIRT_READ_INTERFACE_STATS] = "domainInterfaceStats",
};

/**
 * wirt_virt_read_to_string:
 * @what: a read command
 * Returns: (transfer none) (nullable): libvirt's function name for @what without
 *   the "vir" prefix ("domainGetID"), or %NULL for an unknown value. Any thread.
 */
const char *
wirt_virt_read_to_string(WirtVirtRead what)
{
    return (guint)what < WIRT_VIRT_READ_LAST ? read_names[what] : NULL;
}

/* <COMMAND ATTRS>TEXT</COMMAND>, TEXT escaped; @attrs starts with a space or is "". */
static char *
read_scalar(WirtVirtRead what, const char *attrs, const char *text)
{
    g_autofree char *escaped = g_markup_escape_text(text, -1);

    return g_strdup_printf("<%s%s>%s</%s>\n", read_names[what], attrs, escaped, read_names[what]);
}

static void
append_typed_param(GString *out, const virTypedParameter *param)
{
    g_autofree char *field = g_markup_escape_text(param->field, -1);
    g_autofree char *value = NULL;
    const char *type;
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    switch (param->type) {
    case VIR_TYPED_PARAM_INT:
        type = "int";
        value = g_strdup_printf("%d", param->value.i);
        break;
    case VIR_TYPED_PARAM_UINT:
        type = "uint";
        value = g_strdup_printf("%u", param->value.ui);
        break;
    case VIR_TYPED_PARAM_LLONG:
        type = "llong";
        value = g_strdup_printf("%lld", param->value.l);
        break;
    case VIR_TYPED_PARAM_ULLONG:
        type = "ullong";
        value = g_strdup_printf("%llu", param->value.ul);
        break;
    case VIR_TYPED_PARAM_DOUBLE:
        type = "double";
        value = g_strdup(g_ascii_dtostr(buf, sizeof(buf), param->value.d));
        break;
    case VIR_TYPED_PARAM_BOOLEAN:
        type = "boolean";
        value = g_strdup(param->value.b ? "true" : "false");
        break;
    case VIR_TYPED_PARAM_STRING:
        type = "string";
        value = g_markup_escape_text(param->value.s ? param->value.s : "", -1);
        break;
    default:
        type = "unknown";
        value = g_strdup("");
        break;
    }
    g_string_append_printf(out, "  <param name=\"%s\" type=\"%s\">%s</param>\n", field, type,
                           value);
}

static char *
read_scheduler(WirtConn *conn, virDomainPtr dom, WirtVirtRead what, GError **error)
{
    /* Named before any call that may fail: every libvirt API call, even
     * virDomainGetName(), clears the thread's last error. */
    const char *dname = virDomainGetName(dom);
    int nparams = 0;
    g_autofree char *type = virDomainGetSchedulerType(dom, &nparams);
    g_autofree virTypedParameter *params = NULL;
    g_autoptr(GString) out = NULL;

    if (!type) {
        conn_set_error(conn, error, "vm %s: cannot read its scheduler", dname);
        return NULL;
    }
    if (what == WIRT_VIRT_READ_SCHEDULER_TYPE) {
        g_autofree char *attrs = g_strdup_printf(" params=\"%d\"", nparams);
        return read_scalar(what, attrs, type);
    }
    out = g_string_new("<domainGetSchedulerParameters>\n");
    if (nparams > 0) {
        params = g_new0(virTypedParameter, nparams);
        if (virDomainGetSchedulerParameters(dom, params, &nparams) < 0) {
            conn_set_error(conn, error, "vm %s: cannot read its scheduler parameters", dname);
            return NULL;
        }
        for (int i = 0; i < nparams; i++)
            append_typed_param(out, &params[i]);
        virTypedParamsClear(params, nparams);
    }
    g_string_append(out, "</domainGetSchedulerParameters>\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* "0-3,6": the CPUs set in one vcpu's row of @maps. */
static void
append_cpu_ranges(GString *out, const unsigned char *maps, int maplen, int vcpu, int ncpus)
{
    gboolean first = TRUE;

    for (int cpu = 0; cpu < ncpus; cpu++) {
        int last = cpu;

        if (!VIR_CPU_USABLE(maps, maplen, vcpu, cpu))
            continue;
        while (last + 1 < ncpus && VIR_CPU_USABLE(maps, maplen, vcpu, last + 1))
            last++;
        g_string_append_printf(out, "%s%d", first ? "" : ",", cpu);
        if (last > cpu)
            g_string_append_printf(out, "-%d", last);
        first = FALSE;
        cpu = last;
    }
}

static const char *
vcpu_state_to_string(int state)
{
    switch (state) {
    case VIR_VCPU_OFFLINE:
        return "offline";
    case VIR_VCPU_RUNNING:
        return "running";
    case VIR_VCPU_BLOCKED:
        return "blocked";
    default:
        return "unknown";
    }
}

static char *
read_vcpus(WirtConn *conn, virDomainPtr dom, GError **error)
{
    const char *dname = virDomainGetName(dom);
    virDomainInfo info;
    virNodeInfo node;
    g_autofree virVcpuInfo *vcpus = NULL;
    g_autofree unsigned char *maps = NULL;
    g_autoptr(GString) out = NULL;
    int ncpus, maplen, n;

    if (virDomainGetInfo(dom, &info) < 0 || virNodeGetInfo(conn->conn, &node) < 0) {
        conn_set_error(conn, error, "vm %s: cannot read its vcpus", dname);
        return NULL;
    }
    ncpus = MAX((int)VIR_NODEINFO_MAXCPUS(node), 1);
    maplen = VIR_CPU_MAPLEN(ncpus);
    vcpus = g_new0(virVcpuInfo, MAX(info.nrVirtCpu, 1));
    maps = g_malloc0_n(MAX(info.nrVirtCpu, 1), (gsize)maplen);
    if ((n = virDomainGetVcpus(dom, vcpus, (int)info.nrVirtCpu, maps, maplen)) < 0) {
        conn_set_error(conn, error, "vm %s: cannot read its vcpus", dname);
        return NULL;
    }
    out = g_string_new("<domainGetVcpus>\n");
    for (int i = 0; i < n; i++) {
        g_string_append_printf(out,
                               "  <vcpu number=\"%u\" state=\"%s\" cpu=\"%d\" cpuTime=\"%llu\""
                               " affinity=\"",
                               vcpus[i].number, vcpu_state_to_string(vcpus[i].state), vcpus[i].cpu,
                               vcpus[i].cpuTime);
        append_cpu_ranges(out, maps, maplen, i, ncpus);
        g_string_append(out, "\"/>\n");
    }
    g_string_append(out, "</domainGetVcpus>\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* The interfaces of a live <domain>: their <target dev> and <mac address>. */
typedef struct {
    char *dev;
    char *mac;
} IfaceRef;

static void
iface_ref_free(gpointer data)
{
    IfaceRef *ref = data;

    g_free(ref->dev);
    g_free(ref->mac);
    g_free(ref);
}

typedef struct {
    guint depth;
    gboolean in_devices;
    IfaceRef *current; /* inside a <devices><interface> */
    GPtrArray *ifaces;
} IfaceParse;

static void
ifaces_start_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                     const char **attribute_names, const char **attribute_values,
                     gpointer user_data, GError **error G_GNUC_UNUSED)
{
    IfaceParse *ip = user_data;
    guint depth = ++ip->depth;

    if (depth == 2 && g_str_equal(element_name, "devices")) {
        ip->in_devices = TRUE;
    } else if (depth == 3 && ip->in_devices && g_str_equal(element_name, "interface")) {
        ip->current = g_new0(IfaceRef, 1);
        g_ptr_array_add(ip->ifaces, ip->current);
    } else if (depth == 4 && ip->current) {
        const char *value;

        if (g_str_equal(element_name, "target") &&
            (value = attr_get(attribute_names, attribute_values, "dev")) && !ip->current->dev)
            ip->current->dev = g_strdup(value);
        else if (g_str_equal(element_name, "mac") &&
                 (value = attr_get(attribute_names, attribute_values, "address")) &&
                 !ip->current->mac)
            ip->current->mac = g_strdup(value);
    }
}

static void
ifaces_end_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                   gpointer user_data, GError **error G_GNUC_UNUSED)
{
    IfaceParse *ip = user_data;

    if (ip->depth == 3 && g_str_equal(element_name, "interface"))
        ip->current = NULL;
    else if (ip->depth == 2 && g_str_equal(element_name, "devices"))
        ip->in_devices = FALSE;
    ip->depth--;
}

static const GMarkupParser ifaces_parser = {
    .start_element = ifaces_start_element,
    .end_element = ifaces_end_element,
};

static void
append_stat(GString *out, const char *name, long long value)
{
    g_string_append_printf(out, " %s=\"%lld\"", name, value);
}

static char *
read_interface_stats(WirtConn *conn, virDomainPtr dom, GError **error)
{
    const char *dname = virDomainGetName(dom);
    g_autoptr(GPtrArray) ifaces = g_ptr_array_new_with_free_func(iface_ref_free);
    g_autoptr(GMarkupParseContext) context = NULL;
    g_autoptr(GError) local_error = NULL;
    g_autoptr(GString) out = NULL;
    g_autofree char *xml = NULL;
    IfaceParse ip = {.ifaces = ifaces};
    int active = virDomainIsActive(dom);

    if (active < 0) {
        conn_set_error(conn, error, "vm %s: cannot read its interface stats", dname);
        return NULL;
    }
    /* As virDomainInterfaceStats() itself: counters exist only while it runs. */
    if (!active) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                    "vm %s: cannot read its interface stats: it is not running", dname);
        return NULL;
    }
    if (!(xml = virDomainGetXMLDesc(dom, 0))) {
        conn_set_error(conn, error, "vm %s: cannot read its XML", dname);
        return NULL;
    }
    context = g_markup_parse_context_new(&ifaces_parser, 0, &ip, NULL);
    if (!g_markup_parse_context_parse(context, xml, -1, &local_error) ||
        !g_markup_parse_context_end_parse(context, &local_error)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "vm %s: cannot parse its XML: %s", dname,
                    local_error->message);
        return NULL;
    }
    out = g_string_new("<domainInterfaceStats>\n");
    for (guint i = 0; i < ifaces->len; i++) {
        const IfaceRef *ref = g_ptr_array_index(ifaces, i);
        /* libvirt finds an interface by its host-side name or by its MAC. */
        const char *path = ref->dev ? ref->dev : ref->mac;
        g_autofree char *path_xml = NULL;
        g_autofree char *mac_xml = NULL;
        virDomainInterfaceStatsStruct st;

        if (!path)
            continue;
        if (virDomainInterfaceStats(dom, path, &st, sizeof(st)) < 0) {
            conn_set_error(conn, error, "vm %s: cannot read the stats of interface %s", dname,
                           path);
            return NULL;
        }
        path_xml = g_markup_escape_text(path, -1);
        mac_xml = g_markup_escape_text(ref->mac ? ref->mac : "", -1);
        g_string_append_printf(out, "  <interface path=\"%s\" mac=\"%s\"", path_xml, mac_xml);
        append_stat(out, "rx_bytes", st.rx_bytes);
        append_stat(out, "rx_packets", st.rx_packets);
        append_stat(out, "rx_errs", st.rx_errs);
        append_stat(out, "rx_drop", st.rx_drop);
        append_stat(out, "tx_bytes", st.tx_bytes);
        append_stat(out, "tx_packets", st.tx_packets);
        append_stat(out, "tx_errs", st.tx_errs);
        append_stat(out, "tx_drop", st.tx_drop);
        g_string_append(out, "/>\n");
    }
    g_string_append(out, "</domainInterfaceStats>\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * wirt_virt_vm_read:
 * @conn: a connection handle
 * @uuid: the domain's uuid
 * @what: the read command
 * @error: return location for a #GError
 * Returns: (transfer full) (nullable): the answer as one XML element named after
 *   the command (domainGetXMLDesc: libvirt's <domain> document, without secrets),
 *   or %NULL with %WIRT_ERROR_NOT_FOUND, %WIRT_ERROR_CONFLICT (libvirt's "not
 *   running") or libvirt's error. Blocking: call from a worker.
 */
char *
wirt_virt_vm_read(WirtConn *conn, const char *uuid, WirtVirtRead what, GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autofree char *text = NULL;
    const char *verb = wirt_virt_read_to_string(what);
    const char *dname;

    if (!verb) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "unknown read command %d", (int)what);
        return NULL;
    }
    if (!(dom = conn_lookup(conn, uuid, error)))
        return NULL;
    /* Named before any call that may fail: every libvirt API call, even
     * virDomainGetName(), clears the thread's last error. */
    dname = virDomainGetName(dom);

    switch (what) {
    case WIRT_VIRT_READ_XML_DESC: {
        /* Never VIR_DOMAIN_XML_SECURE: graphics passwords stay out. */
        g_autofree char *xml = virDomainGetXMLDesc(dom, 0);
        if (xml)
            return g_str_has_suffix(xml, "\n") ? g_steal_pointer(&xml)
                                               : g_strconcat(xml, "\n", NULL);
        break;
    }
    case WIRT_VIRT_READ_ID: {
        unsigned int id = virDomainGetID(dom);
        /* (unsigned) -1 is "not running", and also an error; tell them apart. */
        if (id == (unsigned int)-1 && virt_last_error_code() != VIR_ERR_OK)
            break;
        text = id == (unsigned int)-1 ? g_strdup("-1") : g_strdup_printf("%u", id);
        return read_scalar(what, "", text);
    }
    case WIRT_VIRT_READ_MAX_MEMORY: {
        unsigned long kib = virDomainGetMaxMemory(dom);
        if (kib == 0)
            break;
        text = g_strdup_printf("%lu", kib);
        return read_scalar(what, " unit=\"KiB\"", text);
    }
    case WIRT_VIRT_READ_MAX_VCPUS: {
        int n = virDomainGetMaxVcpus(dom);
        if (n < 0)
            break;
        text = g_strdup_printf("%d", n);
        return read_scalar(what, "", text);
    }
    case WIRT_VIRT_READ_NAME:
        return read_scalar(what, "", dname);
    case WIRT_VIRT_READ_OS_TYPE: {
        g_autofree char *os = virDomainGetOSType(dom);
        if (os)
            return read_scalar(what, "", os);
        break;
    }
    case WIRT_VIRT_READ_SCHEDULER_PARAMETERS:
    case WIRT_VIRT_READ_SCHEDULER_TYPE:
        return read_scheduler(conn, dom, what, error);
    case WIRT_VIRT_READ_UUID: {
        unsigned char raw[VIR_UUID_BUFLEN];
        g_autoptr(GString) hex = g_string_new(NULL);
        if (virDomainGetUUID(dom, raw) < 0)
            break;
        /* The 16 raw bytes, as hex: XML cannot carry them as they are. */
        for (gsize i = 0; i < VIR_UUID_BUFLEN; i++)
            g_string_append_printf(hex, "%02x", raw[i]);
        return read_scalar(what, " encoding=\"hex\"", hex->str);
    }
    case WIRT_VIRT_READ_UUID_STRING: {
        char buf[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom, buf) < 0)
            break;
        return read_scalar(what, "", buf);
    }
    case WIRT_VIRT_READ_VCPUS:
        return read_vcpus(conn, dom, error);
    case WIRT_VIRT_READ_INTERFACE_STATS:
        return read_interface_stats(conn, dom, error);
    case WIRT_VIRT_READ_LAST:
    default:
        g_assert_not_reached();
    }
    conn_set_error(conn, error, "vm %s: %s failed", dname, verb);
    return NULL;
}

/**
 * wirt_virt_device_clear:
 * @dev: (nullable): a parsed device; its fields are freed and zeroed
 */
void
wirt_virt_device_clear(WirtVirtDevice *dev)
{
    if (!dev)
        return;
    g_free(dev->element);
    g_free(dev->type);
    g_free(dev->device);
    g_free(dev->pool);
    g_free(dev->volume);
    g_free(dev->source);
    g_free(dev->target);
    g_free(dev->bus);
    g_free(dev->driver_name);
    g_free(dev->driver_type);
    g_free(dev->outside_user_form);
    memset(dev, 0, sizeof(*dev));
}

typedef struct {
    WirtVirtDevice *dev;
    guint depth;
    guint roots;
    GHashTable *seen; /* child element names of the root */
} DeviceParse;

static void device_outside(DeviceParse *dp, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Notes the first thing that takes @dp's document outside what users may send. */
static void
device_outside(DeviceParse *dp, const char *format, ...)
{
    va_list args;

    if (dp->dev->outside_user_form)
        return;
    va_start(args, format);
    dp->dev->outside_user_form = g_strdup_vprintf(format, args);
    va_end(args);
}

static void
device_keep(char **field, const char *value)
{
    if (!*field)
        *field = g_strdup(value);
}

static void
device_start_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                     const char **names, const char **values, gpointer user_data, GError **error)
{
    DeviceParse *dp = user_data;
    WirtVirtDevice *dev = dp->dev;
    guint depth = ++dp->depth;

    if (depth == 1) {
        if (++dp->roots > 1) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "device XML: one <disk> or <interface> element only");
            return;
        }
        if (!g_str_equal(element_name, "disk") && !g_str_equal(element_name, "interface")) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "device XML: the device must be a <disk> or an <interface>, not <%s>",
                        element_name);
            return;
        }
        dev->element = g_strdup(element_name);
        for (gsize i = 0; names[i]; i++) {
            if (g_str_equal(names[i], "type"))
                device_keep(&dev->type, values[i]);
            else if (g_str_equal(names[i], "device") && g_str_equal(element_name, "disk"))
                device_keep(&dev->device, values[i]);
            else
                device_outside(dp, "attribute %s of <%s>", names[i], element_name);
        }
        return;
    }
    if (depth > 2) {
        device_outside(dp, "<%s> inside a <disk> child", element_name);
        return;
    }
    if (!g_hash_table_add(dp->seen, g_strdup(element_name)))
        device_outside(dp, "a second <%s>", element_name);
    if (g_str_equal(element_name, "source")) {
        for (gsize i = 0; names[i]; i++) {
            if (g_str_equal(names[i], "pool")) {
                device_keep(&dev->pool, values[i]);
            } else if (g_str_equal(names[i], "volume")) {
                device_keep(&dev->volume, values[i]);
            } else {
                /* file, dev, dir, network, bridge, name…: kept for the history line */
                if (!dev->source)
                    dev->source = g_strdup_printf("%s=%s", names[i], values[i]);
                device_outside(dp, "<source %s=…>", names[i]);
            }
        }
    } else if (g_str_equal(element_name, "target")) {
        for (gsize i = 0; names[i]; i++) {
            if (g_str_equal(names[i], "dev"))
                device_keep(&dev->target, values[i]);
            else if (g_str_equal(names[i], "bus"))
                device_keep(&dev->bus, values[i]);
            else
                device_outside(dp, "<target %s=…>", names[i]);
        }
    } else if (g_str_equal(element_name, "driver")) {
        for (gsize i = 0; names[i]; i++) {
            if (g_str_equal(names[i], "name"))
                device_keep(&dev->driver_name, values[i]);
            else if (g_str_equal(names[i], "type"))
                device_keep(&dev->driver_type, values[i]);
            else
                device_outside(dp, "<driver %s=…>", names[i]);
        }
    } else if (g_str_equal(element_name, "readonly")) {
        dev->readonly = TRUE;
        if (names[0])
            device_outside(dp, "<readonly %s=…>", names[0]);
    } else {
        device_outside(dp, "<%s>", element_name);
    }
}

static void
device_end_element(GMarkupParseContext *context G_GNUC_UNUSED,
                   const char *element_name G_GNUC_UNUSED, gpointer user_data,
                   GError **error G_GNUC_UNUSED)
{
    DeviceParse *dp = user_data;

    dp->depth--;
}

static void
device_text(GMarkupParseContext *context G_GNUC_UNUSED, const char *text, gsize len,
            gpointer user_data, GError **error G_GNUC_UNUSED)
{
    DeviceParse *dp = user_data;

    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isspace(text[i])) {
            device_outside(dp, "text");
            return;
        }
    }
}

static const GMarkupParser device_parser = {
    .start_element = device_start_element,
    .end_element = device_end_element,
    .text = device_text,
};

/**
 * wirt_virt_device_parse:
 * @xml: the device document a client sent (need not be NUL-terminated)
 * @len: its length in bytes
 * @out_dev: (out caller-allocates): set only on success; clear it with wirt_virt_device_clear()
 * @error: return location for a #GError
 * Returns: %TRUE when @xml is one well-formed <disk> or <interface> element, else
 *   %FALSE with %WIRT_ERROR_INVALID. GMarkup knows no DTD and no entities but XML's
 *   five, so nothing is fetched or expanded. Pure: any thread.
 */
gboolean
wirt_virt_device_parse(const char *xml, gsize len, WirtVirtDevice *out_dev, GError **error)
{
    g_auto(WirtVirtDevice) dev = {0};
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GMarkupParseContext) context = NULL;
    g_autoptr(GError) local_error = NULL;
    DeviceParse dp = {&dev, 0, 0, seen};

    if (len > 64 * 1024) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "device XML: %zu bytes is over the 65536 byte limit", len);
        return FALSE;
    }
    context = g_markup_parse_context_new(&device_parser, G_MARKUP_PREFIX_ERROR_POSITION, &dp, NULL);
    if (!g_markup_parse_context_parse(context, xml, (gssize)len, &local_error) ||
        !g_markup_parse_context_end_parse(context, &local_error)) {
        if (local_error->domain == WIRT_ERROR)
            g_propagate_error(error, g_steal_pointer(&local_error));
        else
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "device XML: %s",
                        local_error->message);
        return FALSE;
    }
    if (!dev.element) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "device XML: no <disk> or <interface> element");
        return FALSE;
    }
    *out_dev = dev;
    memset(&dev, 0, sizeof(dev));
    return TRUE;
}

/* vda, sdb, hdc, xvdaa: what libvirt accepts as a disk's target, nothing else. */
static gboolean
disk_target_valid(const char *target)
{
    static const char *const prefixes[] = {"vd", "sd", "hd", "xvd"};

    for (gsize i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        gsize plen = strlen(prefixes[i]);
        gsize rest = strlen(target) - MIN(strlen(target), plen);

        if (!g_str_has_prefix(target, prefixes[i]) || rest < 1 || rest > 3)
            continue;
        for (const char *p = target + plen; *p; p++) {
            if (*p < 'a' || *p > 'z')
                return FALSE;
        }
        return TRUE;
    }
    return FALSE;
}

/* OWNER.NAME, split at the last '.' as domain names are: NAME has no '.', so a
 * user "a" can never claim the volumes of a user "a.b". Names starting "vm." and
 * "box." are wirt's own (VMs' disks and seeds, boxes): a user named "vm.alice.web"
 * must not get alice's disk "vm.alice.web.qcow2". */
static gboolean
volume_is_owners(const char *volume, const char *owner)
{
    const char *dot = strrchr(volume, '.');

    if (g_str_has_prefix(volume, "vm.") || g_str_has_prefix(volume, "box."))
        return FALSE;
    return owner && dot && (gsize)(dot - volume) == strlen(owner) &&
           strncmp(volume, owner, strlen(owner)) == 0 && wirt_name_validate(dot + 1, NULL);
}

/**
 * wirt_virt_device_check_user:
 * @dev: a parsed device
 * @owner: (nullable): the owner of the VM it is for
 * @attach: attach (the source is required) or detach (only the target counts)
 * @error: return location for a #GError
 * Returns: %TRUE when a user may send @dev; else %FALSE with %WIRT_ERROR_DENIED
 *   naming what only admins may send, or %WIRT_ERROR_INVALID for a missing or
 *   malformed part. Pure: any thread.
 *
 * A disk is a host file opened by QEMU and relabelled for it by libvirt, so a
 * user who could name a path (<source file='/dev/sda'/>), a backing chain or a
 * format to probe would read and write the host as root does. Users get one
 * shape: a volume of a libvirt storage pool named OWNER.NAME for the VM's owner,
 * attached as raw; wirt_virt_vm_device() rebuilds that disk from these fields,
 * so no byte of the user's document reaches libvirt's parser.
 */
gboolean
wirt_virt_device_check_user(const WirtVirtDevice *dev, const char *owner, gboolean attach,
                            GError **error)
{
    static const char *const buses[] = {"virtio", "scsi", "sata", "usb", "ide", NULL};
    static const char *form = "users send <disk type='volume'> with <source pool='POOL' "
                              "volume='OWNER.NAME'/>, <target dev='vdb'/> and optionally "
                              "<driver name='qemu' type='raw'/> and <readonly/>";

    if (!g_str_equal(dev->element, "disk")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "only admins may attach or detach an <%s>: %s", dev->element, form);
        return FALSE;
    }
    if (g_strcmp0(dev->type, "volume") != 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "only admins may attach a <disk type='%s'> (a host path): %s",
                    dev->type ? dev->type : "file", form);
        return FALSE;
    }
    if (dev->outside_user_form) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED, "only admins may send %s: %s",
                    dev->outside_user_form, form);
        return FALSE;
    }
    if (dev->device && !g_str_equal(dev->device, "disk")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "only admins may attach a <disk device='%s'>: %s", dev->device, form);
        return FALSE;
    }
    if (dev->driver_name && !g_str_equal(dev->driver_name, "qemu")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "only admins may choose <driver name='%s'>: %s", dev->driver_name, form);
        return FALSE;
    }
    /* A format other than raw makes QEMU read a header, and a guest can write
     * any header into its own raw volume: backing files are host paths. */
    if (dev->driver_type && !g_str_equal(dev->driver_type, "raw")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "users attach volumes as raw only, not %s: %s", dev->driver_type, form);
        return FALSE;
    }
    if (!dev->target || !disk_target_valid(dev->target)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "the disk needs <target dev='…'/> with a name like vdb or sdc%s%s%s",
                    dev->target ? " (not '" : "", dev->target ? dev->target : "",
                    dev->target ? "')" : "");
        return FALSE;
    }
    if (dev->bus && !g_strv_contains(buses, dev->bus)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "the disk's bus '%s' is not one of virtio, scsi, sata, usb, ide", dev->bus);
        return FALSE;
    }
    if ((attach && (!dev->pool || !dev->volume)) || (!dev->pool != !dev->volume)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "the disk needs <source pool='POOL' volume='VOLUME'/>");
        return FALSE;
    }
    if (dev->volume && !volume_is_owners(dev->volume, owner)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "volume %s is not %s's: users attach only volumes named %s.NAME", dev->volume,
                    owner ? owner : "-", owner ? owner : "OWNER");
        return FALSE;
    }
    return TRUE;
}

/* volume_format(): <volume><target><format type=…> and whether it has a <backingStore>. */
typedef struct {
    guint depth;
    gboolean in_target;
    gboolean backing;
    char *format;
} VolumeParse;

static void
volume_start_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                     const char **names, const char **values, gpointer user_data,
                     GError **error G_GNUC_UNUSED)
{
    VolumeParse *vp = user_data;
    guint depth = ++vp->depth;

    if (depth == 2 && g_str_equal(element_name, "target"))
        vp->in_target = TRUE;
    else if (depth == 2 && g_str_equal(element_name, "backingStore"))
        vp->backing = TRUE;
    else if (depth == 3 && vp->in_target && g_str_equal(element_name, "format") && !vp->format)
        vp->format = g_strdup(attr_get(names, values, "type"));
}

static void
volume_end_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                   gpointer user_data, GError **error G_GNUC_UNUSED)
{
    VolumeParse *vp = user_data;

    if (vp->depth == 2 && g_str_equal(element_name, "target"))
        vp->in_target = FALSE;
    vp->depth--;
}

static const GMarkupParser volume_parser = {
    .start_element = volume_start_element,
    .end_element = volume_end_element,
};

/* The volume a user's disk names must exist and be raw without a backing store. */
static gboolean
check_user_volume(WirtConn *conn, const char *pool_name, const char *volume, GError **error)
{
    g_autoptr(virStoragePool) pool = virStoragePoolLookupByName(conn->conn, pool_name);
    g_autoptr(virStorageVol) vol = NULL;
    g_autoptr(GMarkupParseContext) context = NULL;
    g_autoptr(GError) local_error = NULL;
    g_autofree char *xml = NULL;
    VolumeParse vp = {0};
    gboolean parsed;

    if (pool)
        vol = virStorageVolLookupByName(pool, volume);
    if (!vol) {
        int code = virt_last_error_code();

        if (code == VIR_ERR_NO_STORAGE_POOL || code == VIR_ERR_NO_STORAGE_VOL) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "volume %s/%s: not found",
                        pool_name, volume);
            virResetLastError();
        } else {
            conn_set_error(conn, error, "volume %s/%s: cannot look it up", pool_name, volume);
        }
        return FALSE;
    }
    if (!(xml = virStorageVolGetXMLDesc(vol, 0))) {
        conn_set_error(conn, error, "volume %s/%s: cannot read it", pool_name, volume);
        return FALSE;
    }
    context = g_markup_parse_context_new(&volume_parser, 0, &vp, NULL);
    parsed = g_markup_parse_context_parse(context, xml, -1, &local_error) &&
             g_markup_parse_context_end_parse(context, &local_error);
    if (!parsed) {
        g_free(vp.format);
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "volume %s/%s: cannot parse it: %s",
                    pool_name, volume, local_error->message);
        return FALSE;
    }
    if (vp.backing ||
        (vp.format && !g_str_equal(vp.format, "raw") && !g_str_equal(vp.format, "none"))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "volume %s/%s is %s%s: users may attach raw volumes only", pool_name, volume,
                    vp.format ? vp.format : "raw", vp.backing ? " with a backing store" : "");
        g_free(vp.format);
        return FALSE;
    }
    g_free(vp.format);
    return TRUE;
}

/* The one disk a user may attach, rebuilt from checked fields and escaped. */
static char *
user_disk_xml(const WirtVirtDevice *dev)
{
    g_autoptr(GString) out = g_string_new("<disk type='volume' device='disk'>\n");
    g_autofree char *target = g_markup_escape_text(dev->target, -1);

    if (dev->pool && dev->volume) {
        g_autofree char *pool = g_markup_escape_text(dev->pool, -1);
        g_autofree char *volume = g_markup_escape_text(dev->volume, -1);

        g_string_append(out, "  <driver name='qemu' type='raw'/>\n");
        g_string_append_printf(out, "  <source pool='%s' volume='%s'/>\n", pool, volume);
    }
    g_string_append_printf(out, "  <target dev='%s'", target);
    if (dev->bus) {
        g_autofree char *bus = g_markup_escape_text(dev->bus, -1);
        g_string_append_printf(out, " bus='%s'", bus);
    }
    g_string_append(out, "/>\n");
    if (dev->readonly)
        g_string_append(out, "  <readonly/>\n");
    g_string_append(out, "</disk>\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * wirt_virt_vm_device:
 * @conn: a connection handle
 * @uuid: the domain's uuid
 * @attach: attach, or detach
 * @xml: (nullable): the device document as an admin sent it, passed on verbatim
 * @dev: the parsed device; with @xml %NULL the disk is rebuilt from it (users)
 * @error: return location for a #GError
 * Returns: %TRUE when libvirt attached (detached) the device to (from) the running
 *   domain and its persistent definition, whichever of the two it has; else %FALSE
 *   with %WIRT_ERROR_NOT_FOUND (the VM or the volume), %WIRT_ERROR_DENIED (the
 *   volume is not raw) or libvirt's error. Blocking: call from a worker.
 */
gboolean
wirt_virt_vm_device(WirtConn *conn, const char *uuid, gboolean attach, const char *xml,
                    const WirtVirtDevice *dev, GError **error)
{
    g_autoptr(virDomain) dom = NULL;
    g_autofree char *built = NULL;
    const char *verb = attach ? "attach" : "detach";
    unsigned int flags = 0;
    int active, persistent, rc;
    const char *dname;

    if (!(dom = conn_lookup(conn, uuid, error)))
        return FALSE;
    dname = virDomainGetName(dom); /* before any call that may fail (see above) */
    if (!xml) {
        if (attach && !check_user_volume(conn, dev->pool, dev->volume, error))
            return FALSE;
        xml = built = user_disk_xml(dev);
    }
    if ((active = virDomainIsActive(dom)) < 0 || (persistent = virDomainIsPersistent(dom)) < 0) {
        conn_set_error(conn, error, "vm %s: cannot %s a device", dname, verb);
        return FALSE;
    }
    if (active)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (persistent)
        flags |= VIR_DOMAIN_AFFECT_CONFIG;
    rc = attach ? virDomainAttachDeviceFlags(dom, xml, flags)
                : virDomainDetachDeviceFlags(dom, xml, flags);
    if (rc < 0) {
        conn_set_error(conn, error, "vm %s: cannot %s the %s", dname, verb, dev->element);
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------------ */
/* For the other files of src/virt (wirt-virt-private.h)                     */

/**
 * wirt_conn_get_virt:
 * @conn: a connection handle held by a worker
 * Returns: (transfer none): its libvirt connection, valid while @conn is held.
 */
virConnectPtr
wirt_conn_get_virt(WirtConn *conn)
{
    return conn->conn;
}

/**
 * wirt_conn_get_node:
 * Returns: (transfer none): the host's name, for messages.
 */
const char *
wirt_conn_get_node(WirtConn *conn)
{
    return conn->node;
}

/**
 * wirt_virt_snapshot:
 * Returns: (transfer full): a fresh snapshot of @dom. Worker.
 */
WirtVm *
wirt_virt_snapshot(WirtConn *conn, virDomainPtr dom, GError **error)
{
    return vm_snapshot(conn, dom, error);
}

/**
 * wirt_conn_set_error:
 * @conn: the connection the failing call used
 * @format: what failed ("cannot create volume %s"), printf-style
 *
 * Sets @error from the thread's last libvirt error, right after the failing
 * call, as the adapter does everywhere (a dead connection becomes HOST_DOWN).
 */
void
wirt_conn_set_error(WirtConn *conn, GError **error, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    conn_set_error_from(conn, error, virGetLastError(), format, args);
    va_end(args);
}

/**
 * wirt_virt_last_error_code:
 * Returns: the code of the thread's last libvirt error, or VIR_ERR_OK.
 */
int
wirt_virt_last_error_code(void)
{
    return virt_last_error_code();
}
