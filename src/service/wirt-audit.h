/* wirt-audit.h: the history file: append-only JSON lines. */
#pragma once

#include "core/wirt-history.h"

G_BEGIN_DECLS

typedef struct _WirtAudit WirtAudit;

WirtAudit *wirt_audit_open(const char *path, GError **error);
void wirt_audit_free(WirtAudit *audit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtAudit, wirt_audit_free)

/* Appends one line with one write(2) on an O_APPEND fd, so concurrent writers
 * (a second wirtd) never interleave inside a line. */
gboolean wirt_audit_append(WirtAudit *audit, const WirtHistoryRecord *rec, GError **error);
/* Calls @func for each record of the last @max_bytes of the file, oldest first. */
gboolean wirt_audit_read(WirtAudit *audit, gsize max_bytes,
                         gboolean (*func)(const WirtHistoryRecord *rec, gpointer data),
                         gpointer data, GError **error);

G_END_DECLS
