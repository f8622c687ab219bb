/* wirt-service.h: the one action path every front door calls.
 *
 *   resolve the VM -> policy -> quota -> libvirt (in a GTask worker) -> cache -> history
 *
 * Everything here runs on the main loop except the libvirt RPCs, which run in
 * workers. A front door only authenticates, parses, calls this and replies.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "core/wirt-config.h"
#include "core/wirt-history.h"
#include "core/wirt-model.h"
#include "virt/wirt-virt.h"

G_BEGIN_DECLS

typedef struct _WirtService WirtService;

typedef struct {
    gboolean force;     /* stop: power off at once */
    gint timeout;       /* stop: seconds before power-off; < 0 means the config's stop-timeout */
    gboolean enable;    /* autostart */
    guint64 memory_mib; /* configure: 0 = unchanged */
    guint vcpus;        /* configure: 0 = unchanged */
} WirtActionParams;

WirtService *wirt_service_new(const WirtConfig *config, WirtHosts *hosts, GError **error);
void wirt_service_free(WirtService *service);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtService, wirt_service_free)

const WirtConfig *wirt_service_get_config(WirtService *service);

/* Who is uid @uid (NSS: name, groups)? UNAUTHORIZED when unknown, DENIED when
 * neither a member nor an admin. */
WirtActor *wirt_service_actor_for_uid(WirtService *service, uid_t uid, WirtDoor door,
                                      GError **error);
WirtActor *wirt_service_actor_for_name(WirtService *service, const char *user, WirtDoor door,
                                       GError **error);

/* (transfer container) (element-type WirtVm): the VMs @actor may see, refs held;
 * @owner (nullable) filters. */
GPtrArray *wirt_service_list_vms(WirtService *service, const WirtActor *actor, const char *owner,
                                 GError **error);
/* The daemon's own front doors (files API), no policy: @owner's VMs (refs held), one of them. */
GPtrArray *wirt_service_owned_vms(WirtService *service, const char *owner);
WirtVm *wirt_service_owned_vm(WirtService *service, const char *owner, const char *name);
/* (transfer full): the VM, or NOT_FOUND alike for missing and not-yours. @owner NULL = actor. */
WirtVm *wirt_service_get_vm(WirtService *service, const WirtActor *actor, const char *owner,
                            const char *name, GError **error);

void wirt_service_create_async(WirtService *service, const WirtActor *actor, const WirtVmSpec *spec,
                               GAsyncReadyCallback callback, gpointer user_data);
void wirt_service_vm_action_async(WirtService *service, const WirtActor *actor, const char *owner,
                                  const char *name, WirtAction action,
                                  const WirtActionParams *params, GAsyncReadyCallback callback,
                                  gpointer user_data);
void wirt_service_adopt_async(WirtService *service, const WirtActor *actor, const char *node,
                              const char *domain, const char *owner, const char *name,
                              GAsyncReadyCallback callback, gpointer user_data);
/* Finishes any of the three above: (transfer full) the VM after the action. */
WirtVm *wirt_service_finish(GAsyncResult *result, GError **error);

/* Live events: @func is called on the main loop for each change of a VM that
 * @actor may see (the same policy decision as viewing it, taken per event).
 * CONFLICT when the actor already holds WIRT_SERVICE_WATCHES_PER_USER. */
#define WIRT_SERVICE_WATCHES_PER_USER 16
typedef void (*WirtServiceEventFunc)(WirtVmChange change, WirtVm *vm, gpointer user_data);
guint wirt_service_watch_add(WirtService *service, const WirtActor *actor,
                             WirtServiceEventFunc func, gpointer user_data, GError **error);
void wirt_service_watch_remove(WirtService *service, guint id);
/* Every change of every VM, unfiltered: for the daemon's own front doors. */
guint wirt_service_watch_all(WirtService *service, WirtServiceEventFunc func, gpointer user_data);

/* Each history record, after it is written (the files API copies its users' into
 * their ~/wirt/logs). One function at a time. */
typedef void (*WirtServiceRecordFunc)(const WirtHistoryRecord *rec, gpointer user_data);
void wirt_service_set_record_func(WirtService *service, WirtServiceRecordFunc func,
                                  gpointer user_data);

/* Read-only views, answered from the cache and the config. (transfer full) */
JsonNode *wirt_service_whoami(WirtService *service, const WirtActor *actor);
JsonNode *wirt_service_pools(WirtService *service, const WirtActor *actor, GError **error);
JsonNode *wirt_service_nodes(WirtService *service, const WirtActor *actor, GError **error);
JsonNode *wirt_service_quota(WirtService *service, const WirtActor *actor, const char *user,
                             GError **error);
JsonNode *wirt_service_history(WirtService *service, const WirtActor *actor, const char *owner,
                               const char *vm, guint limit, GError **error);

/* seed 001's /virt interface. A VM is OWNER/NAME; OWNER "-" (WIRT_SERVICE_UNOWNED)
 * names an unowned libvirt domain by its domain name, which only admins may see. */
#define WIRT_SERVICE_UNOWNED "-"

/* A libvirt read of one VM (policy VIEW), in a worker; not recorded in history.
 * Finish: (transfer full) the answer as one XML element (wirt_virt_vm_read()). */
void wirt_service_vm_read_async(WirtService *service, const WirtActor *actor, const char *owner,
                                const char *name, WirtVirtRead what, GAsyncReadyCallback callback,
                                gpointer user_data);
char *wirt_service_vm_read_finish(GAsyncResult *result, GError **error);
/* domainReboot (REBOOT) and domainShutdown (STOP as libvirt's virDomainShutdown:
 * the ACPI request only, no wait, no power-off). Finish with wirt_service_finish(). */
void wirt_service_vm_power_async(WirtService *service, const WirtActor *actor, const char *owner,
                                 const char *name, WirtAction action, GAsyncReadyCallback callback,
                                 gpointer user_data);
/* domainAttachDevice / domainDetachDevice (policy ATTACH_DISK, recorded in history):
 * admins' @xml goes to libvirt as sent; users may send only the volume disk of
 * wirt_virt_device_check_user(). Finish with wirt_service_finish(). */
void wirt_service_vm_device_async(WirtService *service, const WirtActor *actor, const char *owner,
                                  const char *name, gboolean attach, const char *xml, gsize len,
                                  GAsyncReadyCallback callback, gpointer user_data);

/* Boxes (docs/boxes.md): libvirt storage volumes named after owner and box, listed
 * from libvirt. @owner as the caller gave it: NULL means the actor's own box for
 * users and a shared box for admins; WIRT_SERVICE_UNOWNED ("-") names a shared box.
 * Every function checks policy (box-add, box-view, box-remove) first; another
 * user's box is NOT_FOUND, worded like a missing one. Finish any of them with
 * wirt_service_box_finish(): (transfer full) the box (add, get, remove) or the
 * array of boxes (list) as JSON. */
#define WIRT_SERVICE_BOX_UPLOADS_MAX 4      /* uploads in flight at once */
#define WIRT_SERVICE_BOX_UPLOADS_PER_USER 2 /* … and per user */

/* Reads the box from @body (blocking reads, in a worker: the caller feeds it) and
 * uploads box.img into a new volume; nothing is kept unless the whole box passed. */
void wirt_service_box_add_async(WirtService *service, const WirtActor *actor, const char *owner,
                                const char *name, GInputStream *body, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
/* The checks of box_add before any byte is read (policy, name, uploads in flight, a
 * host up): for a front door that refuses before the body is sent. A refusal is
 * recorded in history. */
gboolean wirt_service_box_add_check(WirtService *service, const WirtActor *actor, const char *owner,
                                    const char *name, GError **error);
/* @owner (nullable) filters by owner ("-": shared only). */
void wirt_service_box_list_async(WirtService *service, const WirtActor *actor, const char *owner,
                                 GAsyncReadyCallback callback, gpointer user_data);
/* Users without @owner: their own box NAME, else the shared one. */
void wirt_service_box_get_async(WirtService *service, const WirtActor *actor, const char *owner,
                                const char *name, GAsyncReadyCallback callback, gpointer user_data);
/* CONFLICT while it is being uploaded or a VM uses it. */
void wirt_service_box_remove_async(WirtService *service, const WirtActor *actor, const char *owner,
                                   const char *name, GAsyncReadyCallback callback,
                                   gpointer user_data);
JsonNode *wirt_service_box_finish(GAsyncResult *result, GError **error);

G_END_DECLS
