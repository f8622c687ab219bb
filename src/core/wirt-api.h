/* wirt-api.h: JSON codecs of the HTTP API, shared by wirtd and the wirt CLI. */
#pragma once

#include <json-glib/json-glib.h>

#include "wirt-config.h"
#include "wirt-error.h"
#include "wirt-model.h"
#include "wirt-quota.h"

G_BEGIN_DECLS

#define WIRT_API_VERSION "1.0"
#define WIRT_API_BODY_MAX (64 * 1024)

JsonNode *wirt_api_vm_to_json(const WirtVm *vm);
/* The same object as compact JSON text appended to @out, without building a
 * tree: lists of thousands of VMs are written this way (json-glib's tree cost
 * ~8 ms per 1,000 VMs). */
void wirt_api_vm_append_json(GString *out, const WirtVm *vm);
void wirt_api_append_json_string(GString *out, const char *value);
JsonNode *wirt_api_usage_to_json(const WirtUsage *usage);
JsonNode *wirt_api_quota_to_json(const WirtQuota *quota);
/* {"error":{"code":…,"status":…,"message":…}} from a GError (any domain: non-WIRT is "failed"). */
JsonNode *wirt_api_error_to_json(const GError *error);
/* The reverse, for clients: sets @error from an error body; FALSE if it is not one. */
gboolean wirt_api_error_from_json(JsonNode *node, GError **error);
/* Parses a request body that must be a JSON object of at most WIRT_API_BODY_MAX bytes. */
JsonObject *wirt_api_parse_object(const char *data, gsize len, GError **error);
char *wirt_api_to_string(JsonNode *node, gboolean pretty);

G_END_DECLS
