/* wirt-networks.h: wirt's networks (issue 3, E12; docs/api.md "Networks").
 *
 * Users' networks are libvirt networks "wirt-OWNER.NAME" that they create and
 * delete within [vm] max-networks-per-user; the admins' networks are the
 * config's [network NAME] sections, libvirt networks "wirt-NAME" defined and
 * started on demand (an admin's `wirt net create NAME`; hidden ones are
 * invisible to users). libvirt is the only record: every list is read back
 * from the hosts. Every function checks policy (net-create, net-view,
 * net-delete) first; another user's network is NOT_FOUND, worded like a
 * missing one. Finish any of them with wirt_service_net_finish(): (transfer
 * full) the network (create, get, delete) or the array of networks (list).
 */
#pragma once

#include "wirt-service.h"

G_BEGIN_DECLS

/* For wirt-networks.c (defined in wirt-service.c). */
WirtHosts *wirt_service_get_hosts(WirtService *service);
void wirt_service_record(WirtService *service, const WirtHistoryRecord *rec);

/* Users: @name is their own network (mode NULL: isolated; @dhcp -1: on). Admins:
 * with @owner, that user's network (as if the user asked, NAT allowed); without, @name
 * must be a [network NAME] of the config, @subnet and @mode must then be NULL (they come
 * from the config) and the network is defined and started on its hosts. @owner from a
 * user: their own name only (anything else is NOT_FOUND by policy). */
void wirt_service_net_create_async(WirtService *service, const WirtActor *actor, const char *owner,
                                   const char *name, const char *subnet, const char *mode, int dhcp,
                                   GAsyncReadyCallback callback, gpointer user_data);
void wirt_service_net_list_async(WirtService *service, const WirtActor *actor,
                                 GAsyncReadyCallback callback, gpointer user_data);
/* @owner (nullable): admins name a user's network with it; users' own network wins
 * over an admins' network of the same name. */
void wirt_service_net_get_async(WirtService *service, const WirtActor *actor, const char *owner,
                                const char *name, GAsyncReadyCallback callback, gpointer user_data);
/* CONFLICT while a VM (any domain of a host) has an interface on it. */
void wirt_service_net_delete_async(WirtService *service, const WirtActor *actor, const char *owner,
                                   const char *name, GAsyncReadyCallback callback,
                                   gpointer user_data);
JsonNode *wirt_service_net_finish(GAsyncResult *result, GError **error);

G_END_DECLS
