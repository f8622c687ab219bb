/* wirt-http-private.h: what route modules of src/http share (not for other layers).
 *
 * A route module (wirt-http.c's /1.0 routes, wirt-http-virt.c's seed-001 /virt
 * routes) exports a table of WirtHttpRoute; the dispatcher in wirt-http.c
 * authenticates the caller, matches the path, fills a WirtHttpRequest and calls
 * the handler. Handlers only parse, call the service and reply.
 */
#pragma once

#include <libsoup/soup.h>

#include "core/wirt-error.h"
#include "wirt-http.h"

G_BEGIN_DECLS

typedef struct {
    WirtHttp *self;
    WirtService *service;
    SoupServerMessage *msg;
    const WirtActor *actor;
    const char *owner;   /* {owner} from the path, or NULL */
    const char *name;    /* {name} from the path, or NULL */
    const char *command; /* {command} from the path, or NULL */
    GHashTable *query;
} WirtHttpRequest;

typedef void (*WirtHttpHandler)(WirtHttpRequest *req);

typedef struct {
    WirtHttpRouteInfo info;
    WirtHttpHandler handler;
} WirtHttpRoute;

/* seed 001's XML interface (wirt-http-virt.c). */
const WirtHttpRoute *wirt_http_virt_routes(gsize *out_n);

/* /1.0/boxes (wirt-http-boxes.c). Box uploads stream their body: the early
 * handler calls wirt_http_boxes_prepare() and dispatches at once, and the
 * got-body handler gives the message to wirt_http_boxes_body_done(). */
const WirtHttpRoute *wirt_http_boxes_routes(gsize *out_n);
gboolean wirt_http_boxes_is_upload(SoupServerMessage *msg, const char *path);
gboolean wirt_http_boxes_prepare(SoupServerMessage *msg, guint max_box_gib);
gboolean wirt_http_boxes_body_done(SoupServerMessage *msg);

/* /1.0/networks (wirt-http-net.c). */
const WirtHttpRoute *wirt_http_net_routes(gsize *out_n);

/* wirt-http-ssh.c: GET /1.0/vms/{name}/ssh (a websocket to the VM's port 22), the
 * addresses in GET /1.0/vms/{name}, and closing the sessions when wirtd stops. */
void wirt_http_ssh_handle(WirtHttpRequest *req);
void wirt_http_vm_reply_with_addresses(WirtHttpRequest *req, WirtVm *vm);
void wirt_http_ssh_close_all(void);
/* The Origin check of every websocket route (wirt-http.c). */
gboolean wirt_http_origin_allowed(WirtHttpRequest *req);

/* Replies. Every error has the one JSON shape of docs/api.md. */
void wirt_http_reply_json(SoupServerMessage *msg, guint status, JsonNode *node);
void wirt_http_reply_error(SoupServerMessage *msg, const GError *error);
void wirt_http_reply_error_status(SoupServerMessage *msg, guint status, WirtError code,
                                  const char *message);
void wirt_http_reply_vm(SoupServerMessage *msg, guint status, const WirtVm *vm);
void wirt_http_reply_node_or_error(SoupServerMessage *msg, JsonNode *node, const GError *error);
/* Pauses @msg until a wirt_service_*_async() completes; pass wirt_http_on_vm_done
 * as its callback and this as its user_data. */
gpointer wirt_http_pause_for(SoupServerMessage *msg, guint success_status);
void wirt_http_on_vm_done(GObject *source, GAsyncResult *res, gpointer user_data);

/* Request bodies: JSON objects of at most WIRT_API_BODY_MAX bytes with only @allowed members. */
JsonObject *wirt_http_read_body(WirtHttpRequest *req, const char *const *allowed, GError **error);
gboolean wirt_http_get_string_member(JsonObject *obj, const char *key, gboolean required,
                                     const char **out, GError **error);
gboolean wirt_http_get_int_member(JsonObject *obj, const char *key, gint64 min, gint64 max,
                                  gint64 *inout, GError **error);
gboolean wirt_http_get_bool_member(JsonObject *obj, const char *key, gboolean required,
                                   gboolean *inout, GError **error);
const char *wirt_http_query(WirtHttpRequest *req, const char *key);

G_END_DECLS
