/* wirt-cli-events.c: `wirt events`: print wirtd's live events until interrupted.
 *
 * The stream is a websocket on /1.0/events (docs/api.md): a hello message, then one JSON
 * text message per VM change. Each message is turned into text by a pure function
 * (wirt_cli_events_take_message(), unit-tested) and written and flushed at once, so a pipe
 * sees every event as it happens. The loop ends on SIGINT/SIGTERM or after --count VM
 * events (we close with 1000, exit 0), or when wirtd closes the stream: 1000 is a normal
 * end (exit 0); any other code, or a connection that just drops, is an error (exit 7). */
#include "wirt-cli-events.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>

#include "core/wirt-api.h"
#include "core/wirt-error.h"
#include "wirt-cli-format.h"
#include "wirt-cli-request.h"

/**
 * wirt_cli_events_view_clear:
 * @view: a view whose members are owned; they are freed and zeroed
 */
void
wirt_cli_events_view_clear(WirtCliEventsView *view)
{
    g_clear_pointer(&view->user, g_free);
}

/* The member @key when it is a JSON value of @type, else NULL: the server's input must not
 * reach json-glib's type assertions. */
static JsonNode *
member_value(JsonObject *object, const char *key, GType type)
{
    JsonNode *node = json_object_get_member(object, key);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != type)
        return NULL;
    return node;
}

static gboolean
unexpected_event(GError **error, const char *what)
{
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd sent an unexpected event (%s)", what);
    return FALSE;
}

/**
 * wirt_cli_events_take_message:
 * @view: the stream's state; the hello message updates its user and admin, and every VM
 * event counts in its vm_events
 * @data: (array length=len): one text message from the stream
 * @len: its length
 * @out: where to append what to print: for a VM event, one line (table: see
 * wirt_cli_format_event(); json: the message as compact JSON); for the hello, nothing; for
 * messages of other types, their JSON line with --format json and nothing in a table
 * @error: set to %WIRT_ERROR_FAILED when the message is not a JSON object or a VM event
 * has no VM
 *
 * Pure: the unit tests feed it the server's messages.
 * Returns: %TRUE when the message was understood.
 */
gboolean
wirt_cli_events_take_message(WirtCliEventsView *view, const char *data, gsize len, GString *out,
                             GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    JsonNode *root = NULL;
    JsonObject *object = NULL;
    JsonNode *node = NULL;
    const char *type = NULL;

    if (len > G_MAXSSIZE || !json_parser_load_from_data(parser, data, (gssize)len, &local)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "wirtd sent a malformed event: %s",
                    local ? local->message : "too large");
        return FALSE;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return unexpected_event(error, "not an object");
    object = json_node_get_object(root);
    node = member_value(object, "type", G_TYPE_STRING);
    type = node ? json_node_get_string(node) : NULL;

    if (g_strcmp0(type, "hello") == 0) {
        if ((node = member_value(object, "user", G_TYPE_STRING))) {
            g_free(view->user);
            view->user = g_strdup(json_node_get_string(node));
        }
        if ((node = member_value(object, "admin", G_TYPE_BOOLEAN)))
            view->admin = json_node_get_boolean(node);
        return TRUE;
    }
    if (g_strcmp0(type, "vm") == 0) {
        node = json_object_get_member(object, "vm");
        if (!node || !JSON_NODE_HOLDS_OBJECT(node))
            return unexpected_event(error, "a VM event without a VM");
        view->vm_events++;
    } else if (view->format == WIRT_CLI_FORMAT_TABLE) {
        return TRUE; /* a message type this wirt does not know: nothing to show */
    }
    if (view->format == WIRT_CLI_FORMAT_JSON) {
        /* Re-serialized, so it is one line whatever the server's layout: json-glib escapes
         * every control character inside strings. */
        g_autofree char *line = wirt_api_to_string(root, FALSE);
        g_string_append_printf(out, "%s\n", line);
        return TRUE;
    }
    return wirt_cli_format_event(root, view->user, view->admin, out, error);
}

/* One run of `wirt events`. */
typedef struct {
    GMainLoop *loop;
    GCancellable *cancellable; /* the connection attempt */
    WirtCliClient *client;
    WirtCliEventsView view;
    guint64 count; /* stop after this many VM events; 0: never */
    FILE *out;
    SoupWebsocketConnection *ws;
    GError *error;     /* why the run failed; NULL: exit 0 */
    char *ws_error;    /* the last error libsoup reported on the stream, for the message */
    gboolean stopping; /* we end the stream: its close is ours, and nothing more is printed */
} EventsRun;

static void
events_run_quit(EventsRun *run)
{
    g_main_loop_quit(run->loop);
}

/* Ends the stream from our side. The loop goes on until the close handshake is done
 * ("closed"); libsoup gives up waiting for the server's answer after a few seconds. */
static void
events_run_stop(EventsRun *run, gushort code)
{
    run->stopping = TRUE;
    if (!run->ws) {
        g_cancellable_cancel(run->cancellable);
        return;
    }
    switch (soup_websocket_connection_get_state(run->ws)) {
    case SOUP_WEBSOCKET_STATE_OPEN:
        soup_websocket_connection_close(run->ws, code, NULL);
        break;
    case SOUP_WEBSOCKET_STATE_CLOSING:
        break;
    case SOUP_WEBSOCKET_STATE_CLOSED:
        events_run_quit(run);
        break;
    }
}

/* Records the first failure (taking @error) and ends the stream. */
static void
events_run_fail(EventsRun *run, GError *error, gushort code)
{
    g_autoptr(GError) owned = error;

    if (!run->error)
        run->error = g_steal_pointer(&owned);
    events_run_stop(run, code);
}

static void
on_ws_message(SoupWebsocketConnection *ws G_GNUC_UNUSED, gint type G_GNUC_UNUSED, GBytes *message,
              gpointer user_data)
{
    EventsRun *run = user_data;
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    gsize len = 0;
    const char *data = g_bytes_get_data(message, &len);

    if (run->stopping)
        return;
    if (!wirt_cli_events_take_message(&run->view, data, len, text, &error)) {
        events_run_fail(run, g_steal_pointer(&error), SOUP_WEBSOCKET_CLOSE_BAD_DATA);
        return;
    }
    if (text->len > 0 &&
        (fwrite(text->str, 1, text->len, run->out) != text->len || fflush(run->out) != 0)) {
        int saved = errno;
        events_run_fail(run,
                        g_error_new(WIRT_ERROR, WIRT_ERROR_FAILED, "cannot write the output: %s",
                                    g_strerror(saved)),
                        SOUP_WEBSOCKET_CLOSE_NORMAL);
        return;
    }
    if (run->count > 0 && run->view.vm_events >= run->count)
        events_run_stop(run, SOUP_WEBSOCKET_CLOSE_NORMAL);
}

static void
on_ws_error(SoupWebsocketConnection *ws G_GNUC_UNUSED, GError *error, gpointer user_data)
{
    EventsRun *run = user_data;

    g_free(run->ws_error);
    run->ws_error = g_strdup(error->message);
}

/* RFC 6455's words for the codes a server sends, for a close without a reason. */
static const char *
close_code_name(gushort code)
{
    switch (code) {
    case SOUP_WEBSOCKET_CLOSE_GOING_AWAY:
        return "going away (wirtd is stopping?)";
    case SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR:
        return "protocol error";
    case SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA:
        return "unsupported data";
    case SOUP_WEBSOCKET_CLOSE_BAD_DATA:
        return "bad data";
    case SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION:
        return "policy violation";
    case SOUP_WEBSOCKET_CLOSE_TOO_BIG:
        return "message too big";
    case SOUP_WEBSOCKET_CLOSE_SERVER_ERROR:
        return "server error";
    default:
        return "no reason given";
    }
}

static void
on_ws_closed(SoupWebsocketConnection *ws, gpointer user_data)
{
    EventsRun *run = user_data;
    gushort code = soup_websocket_connection_get_close_code(ws);
    const char *reason = soup_websocket_connection_get_close_data(ws);

    if (!run->stopping && code != SOUP_WEBSOCKET_CLOSE_NORMAL) {
        if (code == 0 && run->ws_error)
            run->error =
                g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                            "event stream closed by wirtd: connection lost: %s", run->ws_error);
        else if (code == 0)
            run->error = g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                                     "event stream closed by wirtd: connection lost (did wirtd "
                                     "stop?)");
        else
            run->error =
                g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "event stream closed by wirtd: %u %s",
                            code, reason && reason[0] ? reason : close_code_name(code));
    }
    events_run_quit(run);
}

static void
on_connected(GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer user_data)
{
    EventsRun *run = user_data;
    g_autoptr(GError) error = NULL;

    run->ws = wirt_cli_client_websocket_finish(run->client, result, &error);
    if (!run->ws) {
        /* Cancelled means interrupted while connecting: a normal end. */
        if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
            /* libsoup keeps no body for a refused upgrade, so the server's own message is
             * lost; wirtd refuses with 409 only when the user has too many streams. */
            run->error = g_error_new(error->domain, error->code,
                                     "cannot open the event stream: %s%s", error->message,
                                     g_error_matches(error, WIRT_ERROR, WIRT_ERROR_CONFLICT)
                                         ? " (too many event streams open?)"
                                         : "");
        }
        events_run_quit(run);
        return;
    }
    g_signal_connect(run->ws, "message", G_CALLBACK(on_ws_message), run);
    g_signal_connect(run->ws, "error", G_CALLBACK(on_ws_error), run);
    g_signal_connect(run->ws, "closed", G_CALLBACK(on_ws_closed), run);
    if (run->stopping) /* a signal came while the upgrade was completing */
        events_run_stop(run, SOUP_WEBSOCKET_CLOSE_NORMAL);
}

/* SIGINT/SIGTERM: close the stream cleanly; a second one stops waiting for that. */
static gboolean
on_signal(gpointer user_data)
{
    EventsRun *run = user_data;

    if (run->stopping && run->ws)
        events_run_quit(run);
    else if (!run->stopping)
        events_run_stop(run, SOUP_WEBSOCKET_CLOSE_NORMAL);
    return G_SOURCE_CONTINUE;
}

/**
 * wirt_cli_events_run:
 * @client: a client for wirtd's socket
 * @args: (transfer none): a parsed `wirt events` command line (--format, --count)
 * @user: (nullable): the caller from GET /1.0, for naming VMs until the hello arrives
 * @admin: whether the caller is an admin, likewise
 * @out: where to print the events; each one is flushed at once
 * @error: set when the upgrade is refused (the code that belongs to the HTTP status) or wirtd
 * cannot be reached (%WIRT_ERROR_HOST_DOWN naming the socket); to %WIRT_ERROR_HOST_DOWN
 * when wirtd ends the stream with a close code other than 1000 or the connection drops; to
 * %WIRT_ERROR_FAILED for a malformed message or an output that cannot be written
 *
 * Runs a main loop until SIGINT or SIGTERM (handled only while it runs), until --count VM
 * events were printed, or until wirtd closes the stream.
 * Returns: %TRUE when the stream ended normally.
 */
gboolean
wirt_cli_events_run(WirtCliClient *client, const WirtCliArgs *args, const char *user,
                    gboolean admin, FILE *out, GError **error)
{
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    g_autoptr(WirtCliRequest) request = wirt_cli_request_build(args);
    guint sigint_id = 0;
    guint sigterm_id = 0;
    EventsRun run = {
        .loop = loop,
        .cancellable = cancellable,
        .client = client,
        .view = {.format = args->format, .user = g_strdup(user), .admin = admin},
        .count = args->count,
        .out = out,
    };

    /* The default context: the client's SoupSession belongs to the context that was the
     * thread default when it was made, and libsoup dispatches its I/O there. */
    sigint_id = g_unix_signal_add(SIGINT, on_signal, &run);
    sigterm_id = g_unix_signal_add(SIGTERM, on_signal, &run);
    wirt_cli_client_websocket_async(client, request->path, cancellable, on_connected, &run);
    g_main_loop_run(loop);
    g_clear_handle_id(&sigint_id, g_source_remove);
    g_clear_handle_id(&sigterm_id, g_source_remove);
    if (run.ws) {
        g_signal_handlers_disconnect_by_data(run.ws, &run);
        g_clear_object(&run.ws);
    }
    wirt_cli_events_view_clear(&run.view);
    g_free(run.ws_error);
    if (run.error) {
        g_propagate_error(error, run.error);
        return FALSE;
    }
    return TRUE;
}
