/* wirt-history.h: the audit record: one JSON object per line. */
#pragma once

#include <json-glib/json-glib.h>

#include "wirt-model.h"

G_BEGIN_DECLS

typedef struct {
    char *time;  /* ISO 8601 UTC */
    char *actor; /* user name */
    guint uid;
    char *door;  /* cli, http, files, daemon */
    char *owner; /* VM owner, may be NULL */
    char *vm;    /* VM short name, may be NULL */
    char *node;  /* host, may be NULL */
    char *action;
    gboolean ok;
    char *error;  /* message, NULL when ok */
    char *detail; /* optional: e.g. "memory=512 vcpus=1" */
} WirtHistoryRecord;

void wirt_history_record_clear(WirtHistoryRecord *rec);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtHistoryRecord, wirt_history_record_clear)

/* One line, no trailing newline, no embedded newline. */
char *wirt_history_record_to_line(const WirtHistoryRecord *rec);
JsonNode *wirt_history_record_to_json(const WirtHistoryRecord *rec);
gboolean wirt_history_record_from_line(const char *line, WirtHistoryRecord *out_rec,
                                       GError **error);

G_END_DECLS
