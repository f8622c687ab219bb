/* wirt-service-private.h: what wirt-service.c lends the service's own modules
 * (wirt-addresses.c, wirt-ssh.c); not for other layers. */
#pragma once

#include "wirt-service.h"

G_BEGIN_DECLS

typedef struct _WirtAddresses WirtAddresses;

/* resolve(): finds @owner's (NULL: the actor's) VM @name and checks @action on it;
 * not-found and not-yours read alike. (transfer full) */
WirtVm *wirt_service_resolve(WirtService *service, const WirtActor *actor, const char *owner,
                             const char *name, WirtAction action, GError **error);
/* "web" for the actor's own VM, "bob/web" for another's. (transfer full) */
char *wirt_service_make_label(const WirtActor *actor, const char *owner, const char *name);
/* Tells the event watchers that may view @vm that its addresses changed
 * (WIRT_VM_CHANGE_ADDRESSES; the daemon's own unfiltered watches are skipped). */
void wirt_service_notify_addresses(WirtService *service, WirtVm *vm);
/* (transfer none): the address watcher the service owns. */
WirtAddresses *wirt_service_get_addresses(WirtService *service);

G_END_DECLS
