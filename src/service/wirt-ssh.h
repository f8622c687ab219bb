/* wirt-ssh.h: `wirt ssh`'s way in (issue 3): a TCP connection from wirtd to a
 * running VM's port 22, for its owner only (policy WIRT_ACTION_SSH), recorded
 * in the history. The HTTP layer relays it over a websocket (docs/api.md,
 * "GET /1.0/vms/{name}/ssh").
 *
 * wirtd dials from its own network namespace, so only VMs of the host wirtd
 * runs on are reachable: a VM on a remote libvirt host is refused with a clear
 * message (CONFLICT) until wirtd can tunnel through that host. */
#pragma once

#include "wirt-service.h"

G_BEGIN_DECLS

#define WIRT_SSH_PORT 22
#define WIRT_SSH_CONNECT_SECONDS 10

typedef struct _WirtSshTarget WirtSshTarget;

/* Main loop, no libvirt: policy, state and host checks. A refusal is recorded in
 * the history. @owner NULL: the actor's own VM. (transfer full) */
WirtSshTarget *wirt_service_ssh_prepare(WirtService *service, const WirtActor *actor,
                                        const char *owner, const char *name, GError **error);
void wirt_ssh_target_free(WirtSshTarget *target);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtSshTarget, wirt_ssh_target_free)

/* Finds the VM's address (lease, then ARP; in a worker) and connects to its port 22;
 * takes @target. The outcome is recorded in the history ("open ADDRESS:22"). */
void wirt_service_ssh_connect_async(WirtService *service, WirtSshTarget *target,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
/* (transfer full): the connection, or NULL with the error. */
GSocketConnection *wirt_service_ssh_connect_finish(GAsyncResult *result, GError **error);

G_END_DECLS
