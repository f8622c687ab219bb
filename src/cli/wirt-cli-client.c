/* wirt-cli-client.c: one SoupSession whose every connection goes to wirtd's unix socket.
 *
 * wirtd identifies the caller by the socket's peer credentials, so the client sends no
 * identity of its own. Proxies are switched off: an http_proxy variable must never
 * send a local request somewhere else. */
#include "wirt-cli-client.h"

#include <errno.h>
#include <gio/gfiledescriptorbased.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include <sys/sendfile.h>

#include "core/wirt-api.h"
#include "core/wirt-error.h"
#include "wirt-build-config.h"

struct _WirtCliClient {
    char *socket_path;
    SoupSession *session; /* made on first use: `wirt box add` never needs one */
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

    client->socket_path = g_strdup(socket_path);
    return client;
}

/* The session, made on first use: `wirt box add` does without one. */
static SoupSession *
client_session(WirtCliClient *client)
{
    if (!client->session) {
        g_autoptr(GSocketAddress) address = g_unix_socket_address_new(client->socket_path);

        client->session = soup_session_new_with_options(
            "remote-connectable", address, "proxy-resolver", NULL, "user-agent",
            "wirt/" WIRT_VERSION, "timeout", 0, "idle-timeout", 0, NULL);
    }
    return client->session;
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
    if (!(answer = soup_session_send_and_read(client_session(client), message, NULL, &local))) {
        set_transport_error(client, local, error);
        return NULL;
    }
    data = g_bytes_get_data(answer, &len);
    return wirt_cli_client_parse_answer(soup_message_get_status(message), data, len, error);
}

/* ---------------------------------------------------------------- uploads */

/* An upload does not go through libsoup: libsoup writes a request body 8 KiB at a time
 * (g_output_stream_splice's buffer), one read and one write per 8 KiB, and that cost a
 * quarter of the upload's throughput (docs/benchmarks.md, "box upload"). The one request
 * is written by hand instead; after wirtd's "100 Continue" the file goes to the socket with
 * sendfile() in UPLOAD_BLOCK steps, so the CLI copies nothing through user space. */

/* Bytes per sendfile() (or read and write): also how often the progress callback runs. */
#define UPLOAD_BLOCK (1024 * 1024)
/* wirtd's answers are small JSON documents; anything larger is not wirtd. */
#define ANSWER_HEAD_MAX (64 * 1024)
#define ANSWER_BODY_MAX (1024 * 1024)

typedef struct {
    guint64 done;
    guint64 total;
    WirtCliProgressFunc func;
    gpointer user_data;
} Progress;

/* Reads one answer's status line and headers. @buf holds what was read and not used yet,
 * before and after: the bytes after the headers stay in it. */
static gboolean
read_answer_head(GInputStream *in, GByteArray *buf, guint *out_status,
                 SoupMessageHeaders **out_headers, GError **error)
{
    g_autofree char *head = NULL;
    g_autoptr(SoupMessageHeaders) headers = NULL;
    guint status = 0;
    gsize head_len = 0;

    for (;;) {
        const char *end = buf->len ? memmem(buf->data, buf->len, "\r\n\r\n", 4) : NULL;
        guint8 chunk[4096];
        gssize n;

        if (end) {
            head_len = (gsize)(end - (const char *)buf->data) + 4;
            break;
        }
        if (buf->len > ANSWER_HEAD_MAX) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                        "wirtd's answer has over %d bytes of headers", ANSWER_HEAD_MAX);
            return FALSE;
        }
        if ((n = g_input_stream_read(in, chunk, sizeof(chunk), NULL, error)) < 0)
            return FALSE;
        if (n == 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                        "the connection closed before an answer");
            return FALSE;
        }
        g_byte_array_append(buf, chunk, (guint)n);
    }
    headers = soup_message_headers_new(SOUP_MESSAGE_HEADERS_RESPONSE);
    /* libsoup's status-line parser runs strtol() on the buffer: it must end in a NUL. */
    head = g_strndup((const char *)buf->data, head_len);
    if (!soup_headers_parse_response(head, (int)head_len, headers, NULL, &status, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd sent a malformed answer");
        return FALSE;
    }
    g_byte_array_remove_range(buf, 0, (guint)head_len);
    *out_status = status;
    *out_headers = g_steal_pointer(&headers);
    return TRUE;
}

/* Reads the answer's body into @buf (which may hold its first bytes already). */
static gboolean
read_answer_body(GInputStream *in, SoupMessageHeaders *headers, GByteArray *buf, GError **error)
{
    SoupEncoding encoding = soup_message_headers_get_encoding(headers);
    goffset length = soup_message_headers_get_content_length(headers);
    guint8 chunk[4096];

    if (encoding == SOUP_ENCODING_NONE) {
        g_byte_array_set_size(buf, 0);
        return TRUE;
    }
    if (encoding != SOUP_ENCODING_CONTENT_LENGTH && encoding != SOUP_ENCODING_EOF) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                    "wirtd sent an answer without a Content-Length");
        return FALSE;
    }
    if (encoding == SOUP_ENCODING_CONTENT_LENGTH && length > ANSWER_BODY_MAX) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd's answer is too large");
        return FALSE;
    }
    while (encoding == SOUP_ENCODING_EOF || buf->len < (gsize)length) {
        gsize want = encoding == SOUP_ENCODING_EOF ? sizeof(chunk)
                                                   : MIN(sizeof(chunk), (gsize)length - buf->len);
        gssize n = g_input_stream_read(in, chunk, want, NULL, error);

        if (n < 0)
            return FALSE;
        if (n == 0 && encoding == SOUP_ENCODING_EOF)
            break;
        if (n == 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                        "the connection closed %u bytes into an answer of %" G_GOFFSET_FORMAT,
                        buf->len, length);
            return FALSE;
        }
        if (buf->len + (gsize)n > ANSWER_BODY_MAX) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd's answer is too large");
            return FALSE;
        }
        g_byte_array_append(buf, chunk, (guint)n);
    }
    if (encoding == SOUP_ENCODING_CONTENT_LENGTH && buf->len > (gsize)length)
        g_byte_array_set_size(buf, (guint)length);
    return TRUE;
}

/* Reads the final answer, skipping interim (1xx) ones. */
static gboolean
read_final_answer(GInputStream *in, GByteArray *buf, guint *out_status, GError **error)
{
    for (;;) {
        g_autoptr(SoupMessageHeaders) headers = NULL;
        guint status = 0;

        if (!read_answer_head(in, buf, &status, &headers, error))
            return FALSE;
        if (SOUP_STATUS_IS_INFORMATIONAL(status))
            continue;
        if (!read_answer_body(in, headers, buf, error))
            return FALSE;
        *out_status = status;
        return TRUE;
    }
}

/* Writes @p->total bytes of @body to @conn, with sendfile() when @body is a file. */
static gboolean
send_body(GSocketConnection *conn, GInputStream *body, Progress *p, GError **error)
{
    GSocket *socket = g_socket_connection_get_socket(conn);
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    int fd = G_IS_FILE_DESCRIPTOR_BASED(body)
                 ? g_file_descriptor_based_get_fd(G_FILE_DESCRIPTOR_BASED(body))
                 : -1;
    g_autofree guint8 *buf = NULL;

    while (p->done < p->total) {
        gsize want = (gsize)MIN(p->total - p->done, UPLOAD_BLOCK);
        gssize n;

        if (fd >= 0) {
            /* GSocket keeps its fd non-blocking, and GLib ignores SIGPIPE process-wide
             * (g_socket_class_init), so a closed socket is EPIPE here, not a signal. */
            n = sendfile(g_socket_get_fd(socket), fd, NULL, want);
            if (n < 0 && errno == EAGAIN) {
                if (!g_socket_condition_wait(socket, G_IO_OUT, NULL, error))
                    return FALSE;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EINVAL || errno == ENOSYS) && p->done == 0) {
                fd = -1; /* a file system without sendfile: copy by hand */
                continue;
            }
            if (n < 0) {
                int saved = errno;
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s",
                            g_strerror(saved));
                return FALSE;
            }
        } else {
            if (!buf)
                buf = g_malloc(UPLOAD_BLOCK);
            n = g_input_stream_read(body, buf, want, NULL, error);
            if (n < 0 ||
                (n > 0 && !g_output_stream_write_all(out, buf, (gsize)n, NULL, NULL, error)))
                return FALSE;
        }
        if (n == 0) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "the file ended after %" G_GUINT64_FORMAT " of its %" G_GUINT64_FORMAT
                        " bytes (did it change?)",
                        p->done, p->total);
            return FALSE;
        }
        p->done += (guint64)n;
        if (p->func)
            p->func(p->done, p->total, p->user_data);
    }
    return TRUE;
}

/* "POST /1.0/boxes/NAME?owner=… HTTP/1.1" and the headers, or NULL for a path that
 * cannot go on a request line. */
static char *
build_upload_head(const WirtCliRequest *request, guint64 length)
{
    for (const char *c = request->path; *c; c++) {
        if ((guchar)*c <= ' ' || (guchar)*c >= 0x7f)
            return NULL;
    }
    if (request->path[0] != '/')
        return NULL;
    return g_strdup_printf("%s %s HTTP/1.1\r\n"
                           "Host: localhost\r\n"
                           "User-Agent: wirt/" WIRT_VERSION "\r\n"
                           "Accept: application/json\r\n"
                           "Content-Type: application/octet-stream\r\n"
                           "Content-Length: %" G_GUINT64_FORMAT "\r\n"
                           "Expect: 100-continue\r\n"
                           "Connection: close\r\n\r\n",
                           request->method, request->path, length);
}

/**
 * wirt_cli_client_upload:
 * @client: a client
 * @request: (transfer none): the request (its body, if any, is ignored)
 * @body: (transfer none): what to send, read as it is sent (never held whole in memory); a
 * file's stream (#GFileDescriptorBased) is sent with sendfile() from its current position
 * @length: how many bytes @body holds (the Content-Length)
 * @progress: (nullable): called as the body goes out
 * @user_data: passed to @progress
 * @error: as for wirt_cli_client_send(); %WIRT_ERROR_INVALID when @body ends early
 *
 * Sends "Expect: 100-continue" on a connection of its own, and the body only after wirtd's
 * "100 Continue": a refusal (policy, a name in use, a size over the limit) comes back
 * before any of it is sent. Blocks until wirtd answers, which it does once it has read and
 * checked the whole body.
 * Returns: (transfer full) (nullable): the answer's JSON, or %NULL with @error set.
 */
JsonNode *
wirt_cli_client_upload(WirtCliClient *client, const WirtCliRequest *request, GInputStream *body,
                       guint64 length, WirtCliProgressFunc progress, gpointer user_data,
                       GError **error)
{
    g_autoptr(GSocketClient) socket_client = g_socket_client_new();
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(client->socket_path);
    g_autoptr(GSocketConnection) conn = NULL;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    g_autoptr(SoupMessageHeaders) headers = NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(GError) send_error = NULL;
    g_autofree char *head = build_upload_head(request, length);
    Progress p = {0, length, progress, user_data};
    GInputStream *in = NULL;
    guint status = 0;

    if (!head) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "cannot build a request for %s",
                    request->path);
        return NULL;
    }
    g_socket_client_set_enable_proxy(socket_client, FALSE);
    if (!(conn = g_socket_client_connect(socket_client, G_SOCKET_CONNECTABLE(address), NULL,
                                         &local)) ||
        !g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), head,
                                   strlen(head), NULL, NULL, &local)) {
        set_transport_error(client, local, error);
        return NULL;
    }
    in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    do {
        g_clear_pointer(&headers, soup_message_headers_unref);
        if (!read_answer_head(in, buf, &status, &headers, &local)) {
            set_transport_error(client, local, error);
            return NULL;
        }
    } while (SOUP_STATUS_IS_INFORMATIONAL(status) && status != SOUP_STATUS_CONTINUE);
    if (status != SOUP_STATUS_CONTINUE) {
        /* A refusal: wirtd answered the Expect instead of reading the body. */
        if (!read_answer_body(in, headers, buf, &local)) {
            set_transport_error(client, local, error);
            return NULL;
        }
    } else if (!send_body(conn, body, &p, &send_error) && send_error->domain == WIRT_ERROR) {
        /* The file shrank: say so, rather than wirtd's "truncated". */
        g_propagate_error(error, g_steal_pointer(&send_error));
        return NULL;
    } else if (!read_final_answer(in, buf, &status, &local)) {
        /* wirtd's answer, had it written one, would say more than the broken pipe. */
        set_transport_error(client, send_error ? send_error : local, error);
        return NULL;
    }
    return wirt_cli_client_parse_answer(status, (const char *)buf->data, buf->len, error);
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
    soup_session_websocket_connect_async(client_session(client), message, NULL, NULL,
                                         G_PRIORITY_DEFAULT, cancellable, on_websocket_connected,
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
