/* wirt-cli-format.h: turns wirtd's JSON answers into the text wirt prints (no I/O). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A table with a header line and columns aligned with two spaces between them. */
typedef struct _WirtCliTable WirtCliTable;

WirtCliTable *wirt_cli_table_new(const char *const *headers);
void wirt_cli_table_free(WirtCliTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtCliTable, wirt_cli_table_free)
void wirt_cli_table_add_row(WirtCliTable *table, const char *const *cells);
void wirt_cli_table_render(const WirtCliTable *table, GString *out);

char *wirt_cli_format_sanitize(const char *text);
char *wirt_cli_format_memory(guint64 mib);
char *wirt_cli_format_vm_ref(const char *owner, const char *name, gboolean qualify);

gboolean wirt_cli_format_vms(JsonNode *vms, const char *user, gboolean admin, GString *out,
                             GError **error);
gboolean wirt_cli_format_object(JsonNode *object, GString *out, GError **error);
gboolean wirt_cli_format_pools(JsonNode *pools, GString *out, GError **error);
gboolean wirt_cli_format_nodes(JsonNode *nodes, GString *out, GError **error);
gboolean wirt_cli_format_quota(JsonNode *quota, GString *out, GError **error);
gboolean wirt_cli_format_history(JsonNode *records, const char *user, gboolean admin, GString *out,
                                 GError **error);
gboolean wirt_cli_format_token_created(JsonNode *token, GString *out, GError **error);
gboolean wirt_cli_format_tokens(JsonNode *tokens, gboolean show_user, GString *out, GError **error);
gboolean wirt_cli_format_boxes(JsonNode *boxes, GString *out, GError **error);
char *wirt_cli_format_bytes(guint64 bytes);
gboolean wirt_cli_format_event(JsonNode *event, const char *user, gboolean admin, GString *out,
                               GError **error);

const char *wirt_cli_format_member_string(JsonObject *object, const char *key);

G_END_DECLS
