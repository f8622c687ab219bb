/* wirt-spool.h: the files API front door (MISSION F1-F6) in wirtd.
 *
 * wirtd never touches a home folder itself: it runs [files] helpers=N
 * wirt-userfs processes and talks to them over a socket. This side finds the
 * members (NSS, re-read every rescan-seconds), spreads them over the helpers,
 * runs the commands they hand in through the one service path (policy, quota,
 * libvirt, history) one VM at a time in file order, and sends back what to
 * write: status.json and settings.json on every change of a member's VM from
 * any front door, the history line and the VM's log line of every action.
 */
#pragma once

#include "service/wirt-service.h"

G_BEGIN_DECLS

typedef struct _WirtSpool WirtSpool;

/* Starts the helpers and the member scan. @helper_path: the wirt-userfs binary. */
WirtSpool *wirt_spool_new(WirtService *service, const char *helper_path, GError **error);
void wirt_spool_free(WirtSpool *spool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtSpool, wirt_spool_free)

/* How many members are watched (for logs and tests). */
guint wirt_spool_count_members(WirtSpool *spool);

G_END_DECLS
