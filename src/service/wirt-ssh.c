/* wirt-ssh.c: a TCP connection from wirtd to a running VM's port 22 (see wirt-ssh.h).
 *
 * The client never names a host or a port (no open proxy: websockify#3, cockpit
 * CVE-2020-35850): the address is the VM's own, found by wirtd from libvirt's
 * DHCP leases and the host's ARP table. The guest agent's addresses are never
 * dialled: they are the guest's word and could point anywhere wirtd can reach
 * (wirt_addr_list_pick_ssh()).
 */
#include "wirt-ssh.h"

#include <string.h>

#include "core/wirt-addr.h"
#include "core/wirt-error.h"
#include "util/wirt-util.h"
#include "virt/wirt-virt-addr.h"
#include "wirt-networks.h"
#include "wirt-service-private.h"

struct _WirtSshTarget {
    WirtService *service;
    WirtActor *actor;
    WirtVm *vm;
    char *label;
    WirtConn *conn;
    char *address; /* once found: "10.77.0.101" */
};

/**
 * wirt_ssh_target_free:
 * @target: (nullable) (transfer full)
 */
void
wirt_ssh_target_free(WirtSshTarget *target)
{
    if (!target)
        return;
    wirt_actor_free(target->actor);
    g_clear_pointer(&target->vm, wirt_vm_unref);
    g_clear_pointer(&target->conn, wirt_conn_unref);
    g_free(target->label);
    g_free(target->address);
    g_free(target);
}

/* One history line for an ssh session: opened (with its address) or refused. */
static void
ssh_record(WirtService *service, const WirtActor *actor, const char *owner, const char *name,
           const char *node, const GError *error, const char *detail)
{
    g_auto(WirtHistoryRecord) rec = {0};

    rec.time = wirt_util_iso8601_now();
    rec.actor = g_strdup(actor->user);
    rec.uid = actor->uid;
    rec.door = g_strdup(wirt_door_to_string(actor->door));
    rec.owner = g_strdup(owner ? owner : actor->user);
    rec.vm = g_strdup(name);
    rec.node = g_strdup(node);
    rec.action = g_strdup(wirt_action_to_string(WIRT_ACTION_SSH));
    rec.ok = error == NULL;
    rec.error = error ? g_strdup(error->message) : NULL;
    rec.detail = g_strdup(detail);
    wirt_service_record(service, &rec);
}

/* Whether libvirt @uri talks to the host wirtd runs on (no host part, or loopback). */
static gboolean
uri_is_local(const char *uri)
{
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_NON_DNS, NULL);
    const char *host = parsed ? g_uri_get_host(parsed) : NULL;

    if (!parsed)
        return FALSE;
    return !host || !*host || g_str_equal(host, "localhost") || g_str_equal(host, "127.0.0.1") ||
           g_str_equal(host, "::1");
}

/**
 * wirt_service_ssh_prepare:
 * @owner: (nullable): the VM's owner; %NULL means the actor
 *
 * Policy SSH (the owner only: NOT_FOUND for others' VMs where they are hidden,
 * DENIED where visible), then CONFLICT unless the VM runs on wirtd's own host,
 * HOST_DOWN when that host is down.
 * Returns: (transfer full) (nullable): the target, or %NULL with @error set.
 */
WirtSshTarget *
wirt_service_ssh_prepare(WirtService *service, const WirtActor *actor, const char *owner,
                         const char *name, GError **error)
{
    g_autoptr(WirtSshTarget) target = g_new0(WirtSshTarget, 1);
    g_autoptr(GError) local = NULL;
    WirtHost *host;

    target->service = service;
    target->actor = wirt_actor_copy(actor);
    target->label = wirt_service_make_label(actor, owner, name);
    if (!(target->vm = wirt_service_resolve(service, actor, owner, name, WIRT_ACTION_SSH, &local)))
        goto fail;
    if (target->vm->state != WIRT_VM_STATE_RUNNING) {
        g_set_error(&local, WIRT_ERROR, WIRT_ERROR_CONFLICT, "vm %s: not running (%s)",
                    target->label, wirt_vm_state_to_string(target->vm->state));
        goto fail;
    }
    host = wirt_hosts_find_host(wirt_service_get_hosts(service), target->vm->node);
    if (!host) {
        g_set_error(&local, WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "vm %s: host %s is gone",
                    target->label, target->vm->node);
        goto fail;
    }
    if (!uri_is_local(wirt_host_get_uri(host))) {
        g_set_error(&local, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                    "vm %s: it runs on host %s, not on wirtd's own host; wirt ssh reaches only "
                    "VMs of wirtd's host for now",
                    target->label, target->vm->node);
        goto fail;
    }
    if (!(target->conn = wirt_host_get_conn(host, &local)))
        goto fail;
    return g_steal_pointer(&target);

fail:
    ssh_record(service, actor, owner, name, target->vm ? target->vm->node : NULL, local, NULL);
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
}

/* ------------------------------------------------------------- connecting */

typedef struct {
    WirtSshTarget *target;
    GCancellable *cancellable; /* the caller's, or ours; the timeout cancels it */
    guint timeout_id;
    gboolean timed_out;
    gboolean returned; /* the caller has its answer; a late connect is dropped */
    GTask *task;       /* borrowed while the connect runs (on_connected holds it) */
    char *detail;
} Connect;

static void
connect_free(gpointer data)
{
    Connect *c = data;

    g_clear_handle_id(&c->timeout_id, g_source_remove);
    wirt_ssh_target_free(c->target);
    g_clear_object(&c->cancellable);
    g_free(c->detail);
    g_free(c);
}

/* Completes @task, recording the outcome. Takes @error. */
static void
connect_return(GTask *task, GSocketConnection *connection, GError *error)
{
    Connect *c = g_task_get_task_data(task);
    WirtSshTarget *t = c->target;

    if (c->returned) {
        if (connection) {
            g_io_stream_close(G_IO_STREAM(connection), NULL, NULL);
            g_object_unref(connection);
        }
        g_clear_error(&error);
        return;
    }
    c->returned = TRUE;
    g_clear_handle_id(&c->timeout_id, g_source_remove);
    ssh_record(t->service, t->actor, t->vm->owner, t->vm->name, t->vm->node, error, c->detail);
    if (error)
        g_task_return_error(task, error);
    else
        g_task_return_pointer(task, connection, g_object_unref);
}

static gboolean
on_connect_timeout(gpointer user_data)
{
    Connect *c = user_data;

    c->timeout_id = 0;
    c->timed_out = TRUE;
    g_cancellable_cancel(c->cancellable);
    /* Answer now: a cancelled connect may end only when the kernel gives up on it. */
    connect_return(c->task, NULL,
                   g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT,
                               "vm %s: no answer from %s port %d in %d s (is it still booting?)",
                               c->target->label, c->target->address, WIRT_SSH_PORT,
                               WIRT_SSH_CONNECT_SECONDS));
    return G_SOURCE_REMOVE;
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GTask) task = user_data;
    Connect *c = g_task_get_task_data(task);
    g_autoptr(GError) local = NULL;
    GSocketConnection *connection =
        g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &local);

    if (connection || c->returned) { /* connected, or too late: the timeout answered */
        connect_return(task, connection, NULL);
        return;
    }
    if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        connect_return(
            task, NULL,
            g_error_new(WIRT_ERROR, WIRT_ERROR_FAILED, "vm %s: ssh: cancelled", c->target->label));
    else
        connect_return(task, NULL,
                       g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT,
                                   "vm %s: cannot connect to %s port %d: %s (is sshd up yet?)",
                                   c->target->label, c->target->address, WIRT_SSH_PORT,
                                   local->message));
}

static void
address_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer task_data,
               GCancellable *cancellable G_GNUC_UNUSED)
{
    Connect *c = task_data;
    GError *error = NULL;
    g_autoptr(WirtAddrList) list =
        wirt_virt_vm_addresses(c->target->conn, c->target->vm->uuid,
                               WIRT_ADDR_SOURCE_LEASE | WIRT_ADDR_SOURCE_ARP, &error);
    const WirtAddr *addr = list ? wirt_addr_list_pick_ssh(list) : NULL;

    if (!list) {
        g_task_return_error(task, error);
        return;
    }
    if (!addr) {
        g_task_return_new_error(task, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                                "vm %s: no address yet (no DHCP lease or ARP entry: is it "
                                "still booting, is its network up?)",
                                c->target->label);
        return;
    }
    g_task_return_pointer(task, g_strdup(addr->ip), g_free);
}

static void
on_address_found(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GTask) task = user_data;
    Connect *c = g_task_get_task_data(task);
    GError *error = NULL;
    g_autofree char *address = g_task_propagate_pointer(G_TASK(res), &error);
    g_autoptr(GSocketClient) client = NULL;
    g_autoptr(GSocketAddress) target = NULL;

    if (!address) {
        if (g_error_matches(error, WIRT_ERROR, WIRT_ERROR_CONFLICT) &&
            g_str_has_prefix(error->message, "domain ")) {
            /* wirt_virt_vm_addresses()'s "not running" names the uuid: name the VM. */
            g_clear_error(&error);
            error = g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT, "vm %s: not running",
                                c->target->label);
        }
        connect_return(task, NULL, error);
        return;
    }
    c->target->address = g_strdup(address);
    c->detail = g_strdup_printf(strchr(address, ':') ? "open [%s]:%d" : "open %s:%d", address,
                                WIRT_SSH_PORT);
    target = g_inet_socket_address_new_from_string(address, WIRT_SSH_PORT);
    client = g_socket_client_new();
    /* Straight to the guest: no proxy from wirtd's environment may stand between (and
     * GIO's libproxy resolver keeps a thread and memory of its own). */
    g_socket_client_set_enable_proxy(client, FALSE);
    /* No g_socket_client_set_timeout(): it would stay on the socket and cut idle sessions. */
    c->task = task;
    c->timeout_id = g_timeout_add_seconds(WIRT_SSH_CONNECT_SECONDS, on_connect_timeout, c);
    g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(target), c->cancellable,
                                  on_connected, g_steal_pointer(&task));
}

/**
 * wirt_service_ssh_connect_async:
 * @target: (transfer full): from wirt_service_ssh_prepare()
 * @cancellable: (nullable): cancels the attempt (the client went away)
 *
 * Finish with wirt_service_ssh_connect_finish().
 */
void
wirt_service_ssh_connect_async(WirtService *service G_GNUC_UNUSED, WirtSshTarget *target,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    g_autoptr(GTask) worker = NULL;
    Connect *c = g_new0(Connect, 1);

    c->target = target;
    c->cancellable = cancellable ? g_object_ref(cancellable) : g_cancellable_new();
    g_task_set_task_data(task, c, connect_free);
    g_task_set_source_tag(task, wirt_service_ssh_connect_async);
    worker = g_task_new(NULL, NULL, on_address_found, task); /* @task's ref moves in */
    g_task_set_task_data(worker, c, NULL);
    g_task_run_in_thread(worker, address_thread);
}

/**
 * wirt_service_ssh_connect_finish:
 * Returns: (transfer full) (nullable): the connection to the VM's port 22, or
 * %NULL with @error (CONFLICT: not running, no address yet, port closed).
 */
GSocketConnection *
wirt_service_ssh_connect_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}
