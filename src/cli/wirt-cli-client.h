/* wirt-cli-client.h: sends wirt's requests to wirtd over its unix socket (libsoup-3). */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "wirt-cli-request.h"

G_BEGIN_DECLS

typedef struct _WirtCliClient WirtCliClient;

WirtCliClient *wirt_cli_client_new(const char *socket_path);
void wirt_cli_client_free(WirtCliClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtCliClient, wirt_cli_client_free)

JsonNode *wirt_cli_client_send(WirtCliClient *client, const WirtCliRequest *request,
                               GError **error);
JsonNode *wirt_cli_client_parse_answer(guint status, const char *data, gsize len, GError **error);

/* Called as the body goes out: bytes written so far, of @total. */
typedef void (*WirtCliProgressFunc)(guint64 done, guint64 total, gpointer user_data);
JsonNode *wirt_cli_client_upload(WirtCliClient *client, const WirtCliRequest *request,
                                 GInputStream *body, guint64 length, WirtCliProgressFunc progress,
                                 gpointer user_data, GError **error);

void wirt_cli_client_websocket_async(WirtCliClient *client, const char *path,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
SoupWebsocketConnection *wirt_cli_client_websocket_finish(WirtCliClient *client,
                                                          GAsyncResult *result, GError **error);

G_END_DECLS
