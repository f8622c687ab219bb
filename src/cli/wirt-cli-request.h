/* wirt-cli-request.h: the HTTP request each wirt command makes, built without I/O. */
#pragma once

#include <glib.h>

#include "wirt-cli-args.h"

G_BEGIN_DECLS

typedef struct {
    const char *method; /* a static string: "GET", "POST", "PUT", "DELETE" */
    char *path;         /* absolute and escaped, with its query: "/1.0/vms/web/state?owner=bob" */
    char *body;         /* compact JSON, or NULL for no body */
} WirtCliRequest;

WirtCliRequest *wirt_cli_request_new(const char *method, const char *path, const char *body);
void wirt_cli_request_free(WirtCliRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtCliRequest, wirt_cli_request_free)

WirtCliRequest *wirt_cli_request_build(const WirtCliArgs *args);
WirtCliRequest *wirt_cli_request_whoami(void);

G_END_DECLS
