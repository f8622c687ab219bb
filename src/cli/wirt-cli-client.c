/* wirt-cli-client.c: one SoupSession whose every connection goes to wirtd's unix socket.
 *
 * wirtd identifies the caller by the socket's peer credentials, so the client sends no
 * identity of its own. Proxies are switched off: an http_proxy variable must never
 * send a local request somewhere else. */
#include "wirt-cli-client.h"

#include <gio/gunixsocketaddress.h>
#include <string.h>

#include "core/wirt-api.h"
#include "core/wirt-error.h"
#include "wirt-build-config.h"

struct _WirtCliClient {
    char *socket_path;
    SoupSession *session;
};

/**
 * wirt_cli_client_new:
 * @socket_path: wirtd's unix socket; nothing connects until the first request
 * Returns: (transfer full): a client, never %NULL.
 */
WirtCliClient *
wirt_cli_client_new(const char *socket_path)
{
    WirtCliClient *client = g_new0(WirtCliClient, 1);
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(socket_path);

    client->socket_path = g_strdup(socket_path);
    client->session = soup_session_new_with_options("remote-connectable", address, "proxy-resolver",
                                                    NULL, "user-agent", "wirt/" WIRT_VERSION,
                                                    "timeout", 0, "idle-timeout", 0, NULL);
    return client;
}

/**
 * wirt_cli_client_free:
 * @client: (transfer full) (nullable): a client
 */
void
wirt_cli_client_free(WirtCliClient *client)
{
    if (!client)
        return;
    g_clear_object(&client->session);
    g_free(client->socket_path);
    g_free(client);
}

/* The code an answer without wirt's error body gets, by HTTP status. */
static WirtError
code_for_status(guint status)
{
    switch (status) {
    case SOUP_STATUS_BAD_REQUEST:
    case SOUP_STATUS_METHOD_NOT_ALLOWED:
    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
        return WIRT_ERROR_INVALID;
    case SOUP_STATUS_UNAUTHORIZED:
        return WIRT_ERROR_UNAUTHORIZED;
    case SOUP_STATUS_FORBIDDEN:
        return WIRT_ERROR_DENIED;
    case SOUP_STATUS_NOT_FOUND:
        return WIRT_ERROR_NOT_FOUND;
    case SOUP_STATUS_CONFLICT:
        return WIRT_ERROR_CONFLICT;
    case SOUP_STATUS_SERVICE_UNAVAILABLE:
        return WIRT_ERROR_HOST_DOWN;
    default:
        return WIRT_ERROR_FAILED;
    }
}

/* The error for an answer that carries nothing but its status. */
static void
set_status_error(guint status, GError **error)
{
    g_set_error(error, WIRT_ERROR, code_for_status(status), "wirtd answered HTTP %u %s", status,
                soup_status_get_phrase(status) ? soup_status_get_phrase(status) : "");
}

/**
 * wirt_cli_client_parse_answer:
 * @status: the HTTP status wirtd answered
 * @data: (array length=len) (nullable): the answer's body
 * @len: its length
 * @error: on an error status, set from wirt's error body ({"error":{"code",…}}), or from
 * @status alone when the body is not one; %WIRT_ERROR_FAILED for a 2xx body that is not JSON
 *
 * Pure, so that the mapping of answers to errors is tested without a server.
 * Returns: (transfer full) (nullable): the answer's JSON (a null node for an empty 2xx body),
 * or %NULL with @error set.
 */
JsonNode *
wirt_cli_client_parse_answer(guint status, const char *data, gsize len, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    JsonNode *root = NULL;
    gboolean success = SOUP_STATUS_IS_SUCCESSFUL(status);

    if (len > G_MAXSSIZE) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd's answer is too large");
        return NULL;
    }
    if (len > 0 && json_parser_load_from_data(parser, data, (gssize)len, &local))
        root = json_parser_get_root(parser);

    if (success) {
        if (len == 0)
            return json_node_new(JSON_NODE_NULL);
        if (!root) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd sent malformed JSON: %s",
                        local ? local->message : "empty document");
            return NULL;
        }
        return json_node_copy(root);
    }

    g_clear_error(&local);
    if (root) {
        (void)wirt_api_error_from_json(root, &local);
        if (local) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
    }
    set_status_error(status, error);
    return NULL;
}

/* Turns a transport failure into one message that names the socket. */
static void
set_transport_error(WirtCliClient *client, const GError *cause, GError **error)
{
    if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                    "cannot connect to %s: no such socket (is wirtd running?)",
                    client->socket_path);
    else if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                    "cannot connect to %s: connection refused (is wirtd running?)",
                    client->socket_path);
    else if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "cannot connect to %s: permission denied (is your user in wirtd's "
                    "user-group?)",
                    client->socket_path);
    else
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                    "cannot talk to wirtd at %s: %s (is wirtd running?)", client->socket_path,
                    cause->message);
}

/**
 * wirt_cli_client_send:
 * @client: a client
 * @request: (transfer none): the request; its body, if any, is sent as application/json
 * @error: set from wirtd's error answer (the server's code), or to %WIRT_ERROR_HOST_DOWN
 * naming the socket when wirtd cannot be reached
 *
 * Blocks until wirtd answers: actions answer when they are done.
 * Returns: (transfer full) (nullable): the answer's JSON, or %NULL with @error set.
 */
JsonNode *
wirt_cli_client_send(WirtCliClient *client, const WirtCliRequest *request, GError **error)
{
    g_autofree char *url = g_strconcat("http://localhost", request->path, NULL);
    g_autoptr(SoupMessage) message = soup_message_new(request->method, url);
    g_autoptr(GBytes) answer = NULL;
    g_autoptr(GError) local = NULL;
    gsize len = 0;
    const char *data = NULL;

    if (!message) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "cannot build a request for %s",
                    request->path);
        return NULL;
    }
    soup_message_headers_replace(soup_message_get_request_headers(message), "Accept",
                                 "application/json");
    if (request->body) {
        g_autoptr(GBytes) body = g_bytes_new(request->body, strlen(request->body));
        soup_message_set_request_body_from_bytes(message, "application/json", body);
    }
    if (!(answer = soup_session_send_and_read(client->session, message, NULL, &local))) {
        set_transport_error(client, local, error);
        return NULL;
    }
    data = g_bytes_get_data(answer, &len);
    return wirt_cli_client_parse_answer(soup_message_get_status(message), data, len, error);
}

typedef struct {
    guint64 done;
    guint64 total;
    WirtCliProgressFunc func;
    gpointer user_data;
} Progress;

static void
on_wrote_body_data(SoupMessage *message G_GNUC_UNUSED, guint chunk, gpointer user_data)
{
    Progress *p = user_data;

    p->done += chunk;
    if (p->func)
        p->func(p->done, p->total, p->user_data);
}

/**
 * wirt_cli_client_upload:
 * @client: a client
 * @request: (transfer none): the request (its body, if any, is ignored)
 * @body: (transfer none): what to send, read as it is sent (never held whole in memory)
 * @length: how many bytes @body holds (the Content-Length)
 * @progress: (nullable): called as the body goes out
 * @user_data: passed to @progress
 * @error: as for wirt_cli_client_send()
 *
 * Blocks until wirtd answers, which it does once it has read and checked the whole body.
 * Returns: (transfer full) (nullable): the answer's JSON, or %NULL with @error set.
 */
JsonNode *
wirt_cli_client_upload(WirtCliClient *client, const WirtCliRequest *request, GInputStream *body,
                       guint64 length, WirtCliProgressFunc progress, gpointer user_data,
                       GError **error)
{
    g_autofree char *url = g_strconcat("http://localhost", request->path, NULL);
    g_autoptr(SoupMessage) message = soup_message_new(request->method, url);
    g_autoptr(GBytes) answer = NULL;
    g_autoptr(GError) local = NULL;
    Progress p = {0, length, progress, user_data};
    gsize len = 0;
    const char *data = NULL;

    if (!message) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "cannot build a request for %s",
                    request->path);
        return NULL;
    }
    soup_message_headers_replace(soup_message_get_request_headers(message), "Accept",
                                 "application/json");
    soup_message_set_request_body(message, "application/octet-stream", body, (gssize)length);
    /* wirtd answers a refusal before the body is sent, and on its unix socket reads an
     * expected body straight from the socket (docs/api.md, "Boxes"). */
    soup_message_headers_set_expectations(soup_message_get_request_headers(message),
                                          SOUP_EXPECTATION_CONTINUE);
    g_signal_connect(message, "wrote-body-data", G_CALLBACK(on_wrote_body_data), &p);
    answer = soup_session_send_and_read(client->session, message, NULL, &local);
    g_signal_handlers_disconnect_by_data(message, &p);
    if (!answer) {
        set_transport_error(client, local, error);
        return NULL;
    }
    data = g_bytes_get_data(answer, &len);
    return wirt_cli_client_parse_answer(soup_message_get_status(message), data, len, error);
}

static void
on_websocket_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(GTask) task = user_data;
    g_autoptr(GError) local = NULL;
    SoupWebsocketConnection *ws =
        soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &local);

    if (ws)
        g_task_return_pointer(task, ws, g_object_unref);
    else
        g_task_return_error(task, g_steal_pointer(&local));
}

/**
 * wirt_cli_client_websocket_async:
 * @client: a client; it must outlive the operation
 * @path: the route to upgrade, e.g. "/1.0/events"
 * @cancellable: (nullable): cancels the connection attempt
 * @callback: called on the thread-default main context when the upgrade is done or failed
 * @user_data: passed to @callback
 *
 * Opens a websocket (ws://localhost@path) to wirtd over the client's unix socket; finish
 * with wirt_cli_client_websocket_finish().
 */
void
wirt_cli_client_websocket_async(WirtCliClient *client, const char *path, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
    g_autofree char *url = g_strconcat("ws://localhost", path, NULL);
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    g_autoptr(SoupMessage) message = soup_message_new("GET", url);

    g_task_set_source_tag(task, wirt_cli_client_websocket_async);
    if (!message) {
        g_task_return_new_error(task, WIRT_ERROR, WIRT_ERROR_INVALID,
                                "cannot build a request for %s", path);
        return;
    }
    /* The task keeps the message: when the upgrade is refused, its status is all that
     * is left (libsoup reads no body for a failed handshake). */
    g_task_set_task_data(task, g_object_ref(message), g_object_unref);
    soup_session_websocket_connect_async(client->session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                         cancellable, on_websocket_connected,
                                         g_steal_pointer(&task));
}

/**
 * wirt_cli_client_websocket_finish:
 * @client: the client given to wirt_cli_client_websocket_async()
 * @result: the result passed to the callback
 * @error: set to %G_IO_ERROR_CANCELLED when cancelled; to the code that belongs to the HTTP
 * status when wirtd refused the upgrade; to %WIRT_ERROR_HOST_DOWN naming the socket when
 * wirtd cannot be reached; else to %WIRT_ERROR_FAILED
 * Returns: (transfer full) (nullable): the open websocket, or %NULL with @error set.
 */
SoupWebsocketConnection *
wirt_cli_client_websocket_finish(WirtCliClient *client, GAsyncResult *result, GError **error)
{
    GTask *task = G_TASK(result);
    SoupMessage *message = g_task_get_task_data(task);
    guint status = message ? soup_message_get_status(message) : 0;
    g_autoptr(GError) local = NULL;
    SoupWebsocketConnection *ws = g_task_propagate_pointer(task, &local);

    if (ws)
        return ws;
    if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED) || local->domain == WIRT_ERROR) {
        g_propagate_error(error, g_steal_pointer(&local));
    } else if (status >= 300) {
        set_status_error(status, error);
    } else if (status >= 100) {
        /* 101 with a bad handshake, or a 2xx answer instead of the upgrade */
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                    "wirtd did not upgrade to a websocket (HTTP %u): %s", status, local->message);
    } else {
        set_transport_error(client, local, error);
    }
    return NULL;
}
