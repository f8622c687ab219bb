/* wirt-http.h: the HTTP/JSON API (docs/api.md) on a unix socket, authenticated
 * by the peer's credentials. A handler only authenticates, parses, calls the
 * service and replies: it never decides policy or calls libvirt. */
#pragma once

#include "core/wirt-model.h"
#include "service/wirt-service.h"

G_BEGIN_DECLS

typedef struct _WirtHttp WirtHttp;

/* One row of the route table. Every route names the policy action it needs,
 * so `wirtd --print-routes` and the route-walk test cover each of them. */
typedef struct {
    const char *method;
    const char *pattern;      /* "/1.0/vms/{name}/state" */
    WirtAction action;        /* WIRT_ACTION_LAST: no VM action (whoami, quota) */
    const char *example_body; /* a valid body for the route-walk test, or NULL */
} WirtHttpRouteInfo;

const WirtHttpRouteInfo *wirt_http_route_table(gsize *out_n);

WirtHttp *wirt_http_new(WirtService *service, GError **error);
gboolean wirt_http_listen_unix(WirtHttp *http, const char *path, GError **error);
/* Every [http] listen= address, with TLS unless allow-plain-http (loopback only). */
gboolean wirt_http_listen_tcp(WirtHttp *http, GError **error);
void wirt_http_free(WirtHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtHttp, wirt_http_free)

G_END_DECLS
