/* wirt-http-boxes.c: /1.0/boxes (docs/api.md, "Boxes").
 *
 *   GET    /1.0/boxes               the boxes the caller may see (?owner= filters, "-": shared)
 *   GET    /1.0/boxes/NAME          one box
 *   POST   /1.0/boxes/NAME          upload a box: the body is the .box file itself
 *   DELETE /1.0/boxes/NAME          remove a box
 *
 * An upload's body can be many GiB, so it is never held in memory. The
 * dispatcher's early handler (wirt-http.c, at got-headers) hands the request
 * to wirt_http_boxes_prepare(), which turns off libsoup's accumulation of the
 * body, authenticates and dispatches at once, so the service's worker starts
 * reading while the body still arrives. Each got-chunk is queued in a Feed; the
 * worker pulls from it through a blocking GInputStream (FeedStream). The queue
 * is bounded: above FEED_HIGH bytes the message is paused (libsoup stops
 * reading the socket, so TCP pushes back on the client) and the worker
 * unpauses it from the main loop once it has drained the queue below FEED_LOW.
 *
 * libsoup writes the answer only after the whole body was read: an upload the
 * service refused early (policy, a malformed box) reads and drops the rest of
 * the body, then answers.
 */
#include "wirt-http-private.h"

#include <string.h>

#include "core/wirt-api.h"

#define UPLOAD_KEY "wirt-box-upload"
#define FEED_HIGH (8 * 1024 * 1024)
#define FEED_LOW (2 * 1024 * 1024)
/* Room in the body for the tar headers and small entries around box.img. */
#define UPLOAD_SLACK (G_GUINT64_CONSTANT(16) * 1024 * 1024)

/* ------------------------------------------------------------------ feed */

/* The queue between the main loop (producer) and one worker (consumer). */
typedef struct {
    gint refs;
    GMutex lock;
    GCond cond;      /* the reader waits here for bytes */
    GQueue chunks;   /* GBytes*, oldest first */
    gsize head_used; /* bytes of the head chunk already read */
    gsize queued;    /* bytes in @chunks not yet read */
    guint64 received;
    gboolean eof;
    gboolean discard;       /* nobody reads any more: drop what comes */
    char *error;            /* the upload broke off (client gone) */
    gsize want;             /* bytes the waiting reader asked for; 0 when none waits */
    gboolean paused;        /* the message is paused because the queue is full */
    gboolean unpause_due;   /* an idle to unpause it is scheduled */
    SoupServerMessage *msg; /* main loop only; cleared when the message finishes */
} Feed;

static Feed *
feed_new(SoupServerMessage *msg)
{
    Feed *feed = g_new0(Feed, 1);

    feed->refs = 1;
    g_mutex_init(&feed->lock);
    g_cond_init(&feed->cond);
    g_queue_init(&feed->chunks);
    feed->msg = msg ? g_object_ref(msg) : NULL;
    return feed;
}

static Feed *
feed_ref(Feed *feed)
{
    g_atomic_int_inc(&feed->refs);
    return feed;
}

static void
bytes_unref_cb(gpointer data)
{
    g_bytes_unref(data);
}

static void
feed_unref(Feed *feed)
{
    if (!feed || !g_atomic_int_dec_and_test(&feed->refs))
        return;
    g_queue_clear_full(&feed->chunks, bytes_unref_cb);
    g_mutex_clear(&feed->lock);
    g_cond_clear(&feed->cond);
    g_free(feed->error);
    g_clear_object(&feed->msg);
    g_free(feed);
}

/* Main loop: the worker drained the queue; let libsoup read the socket again. */
static gboolean
feed_unpause_idle(gpointer data)
{
    Feed *feed = data;
    gboolean unpause;

    g_mutex_lock(&feed->lock);
    feed->unpause_due = FALSE;
    unpause = feed->paused && feed->msg;
    feed->paused = FALSE;
    g_mutex_unlock(&feed->lock);
    if (unpause)
        soup_server_message_unpause(feed->msg);
    return G_SOURCE_REMOVE;
}

static void
feed_unref_cb(gpointer data)
{
    feed_unref(data);
}

/* Called with the lock held, from any thread. */
static void
feed_schedule_unpause_locked(Feed *feed)
{
    if (feed->paused && !feed->unpause_due) {
        feed->unpause_due = TRUE;
        g_idle_add_full(G_PRIORITY_DEFAULT, feed_unpause_idle, feed_ref(feed), feed_unref_cb);
    }
}

/* Main loop: one chunk of the body. */
static void
feed_push(Feed *feed, GBytes *chunk)
{
    gboolean pause = FALSE;

    g_mutex_lock(&feed->lock);
    feed->received += g_bytes_get_size(chunk);
    if (!feed->discard) {
        g_queue_push_tail(&feed->chunks, g_bytes_ref(chunk));
        feed->queued += g_bytes_get_size(chunk);
        /* libsoup hands out 8 KiB at a time: waking the reader for each would cost a
         * futex round trip per chunk, so it sleeps until its whole read is there. */
        if (feed->want && feed->queued >= feed->want)
            g_cond_signal(&feed->cond);
        if (feed->queued > FEED_HIGH && !feed->paused)
            pause = feed->paused = TRUE;
    }
    g_mutex_unlock(&feed->lock);
    if (pause)
        soup_server_message_pause(feed->msg);
}

/* Main loop: the body ended (@error NULL) or broke off. */
static void
feed_end(Feed *feed, const char *error)
{
    g_mutex_lock(&feed->lock);
    if (!feed->eof && !feed->error) {
        if (error)
            feed->error = g_strdup(error);
        else
            feed->eof = TRUE;
    }
    g_cond_broadcast(&feed->cond);
    g_mutex_unlock(&feed->lock);
}

/* Main loop: the reader is done; drop what is queued and whatever still comes. */
static void
feed_discard(Feed *feed)
{
    g_mutex_lock(&feed->lock);
    feed->discard = TRUE;
    g_queue_clear_full(&feed->chunks, bytes_unref_cb);
    feed->queued = 0;
    feed->head_used = 0;
    feed_schedule_unpause_locked(feed);
    g_cond_broadcast(&feed->cond);
    g_mutex_unlock(&feed->lock);
}

/* Worker: blocks until there are bytes, the end, or an error. */
static gssize
feed_read(Feed *feed, guint8 *buf, gsize count, GError **error)
{
    gsize done = 0;

    g_mutex_lock(&feed->lock);
    while (feed->queued < count && !feed->eof && !feed->error && !feed->discard) {
        feed->want = count;
        /* The queue may be full below @count: let libsoup read on. */
        feed_schedule_unpause_locked(feed);
        g_cond_wait(&feed->cond, &feed->lock);
    }
    feed->want = 0;
    if (!feed->queued && (feed->error || feed->discard)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "%s",
                    feed->error ? feed->error : "the upload was abandoned");
        g_mutex_unlock(&feed->lock);
        return -1;
    }
    while (done < count && feed->queued) {
        GBytes *head = g_queue_peek_head(&feed->chunks);
        gsize size = 0;
        const guint8 *data = g_bytes_get_data(head, &size);
        gsize n = MIN(count - done, size - feed->head_used);

        memcpy(buf + done, data + feed->head_used, n);
        done += n;
        feed->head_used += n;
        feed->queued -= n;
        if (feed->head_used == size) {
            g_bytes_unref(g_queue_pop_head(&feed->chunks));
            feed->head_used = 0;
        }
    }
    if (feed->queued < FEED_LOW)
        feed_schedule_unpause_locked(feed);
    g_mutex_unlock(&feed->lock);
    return (gssize)done;
}

/* A blocking GInputStream on a Feed, for the box reader in the service's worker. */
#define FEED_TYPE_STREAM (feed_stream_get_type())
G_DECLARE_FINAL_TYPE(FeedStream, feed_stream, FEED, STREAM, GInputStream)

struct _FeedStream {
    GInputStream parent;
    Feed *feed;
};

G_DEFINE_TYPE(FeedStream, feed_stream, G_TYPE_INPUT_STREAM)

static gssize
feed_stream_read(GInputStream *stream, void *buffer, gsize count,
                 GCancellable *cancellable G_GNUC_UNUSED, GError **error)
{
    return feed_read(FEED_STREAM(stream)->feed, buffer, count, error);
}

static gboolean
feed_stream_close(GInputStream *stream G_GNUC_UNUSED, GCancellable *cancellable G_GNUC_UNUSED,
                  GError **error G_GNUC_UNUSED)
{
    return TRUE;
}

static void
feed_stream_finalize(GObject *object)
{
    feed_unref(FEED_STREAM(object)->feed);
    G_OBJECT_CLASS(feed_stream_parent_class)->finalize(object);
}

static void
feed_stream_class_init(FeedStreamClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = feed_stream_finalize;
    G_INPUT_STREAM_CLASS(klass)->read_fn = feed_stream_read;
    G_INPUT_STREAM_CLASS(klass)->close_fn = feed_stream_close;
}

static void
feed_stream_init(FeedStream *self G_GNUC_UNUSED)
{
}

static GInputStream *
feed_stream_new(Feed *feed)
{
    FeedStream *self = g_object_new(FEED_TYPE_STREAM, NULL);

    self->feed = feed_ref(feed);
    return G_INPUT_STREAM(self);
}

/* ---------------------------------------------------------------- uploads */

/* One upload, kept on its message (main loop only). */
typedef struct {
    Feed *feed;
    gboolean started;   /* the service reads the feed */
    gboolean body_done; /* got-body: libsoup waits for our answer */
    gboolean finished;  /* the message is gone: never touch it again */
    gboolean answered;  /* the service has answered (node or error) */
    JsonNode *node;
    GError *error;
} Upload;

static void
upload_free(gpointer data)
{
    Upload *up = data;

    feed_discard(up->feed);
    feed_unref(up->feed);
    g_clear_pointer(&up->node, json_node_unref);
    g_clear_error(&up->error);
    g_free(up);
}

static void
upload_reply(SoupServerMessage *msg, Upload *up)
{
    if (up->node)
        wirt_http_reply_json(msg, SOUP_STATUS_CREATED, up->node);
    else
        wirt_http_reply_error(msg, up->error);
}

static void
on_upload_chunk(SoupServerMessage *msg G_GNUC_UNUSED, GBytes *chunk, gpointer user_data)
{
    Upload *up = user_data;

    if (up->started && !up->answered)
        feed_push(up->feed, chunk);
}

static void
on_upload_finished(SoupServerMessage *msg, gpointer user_data)
{
    Upload *up = user_data;
    g_autofree char *why = NULL;

    up->finished = TRUE;
    why = g_strdup_printf("the upload ended after %" G_GUINT64_FORMAT " bytes (the client went "
                          "away)",
                          up->feed->received);
    feed_end(up->feed, why);
    g_signal_handlers_disconnect_by_data(msg, up);
    g_mutex_lock(&up->feed->lock);
    up->feed->paused = FALSE;
    g_mutex_unlock(&up->feed->lock);
    g_clear_object(&up->feed->msg);
}

/**
 * wirt_http_boxes_is_upload:
 * @msg: a request whose headers have been read
 * @path: its path
 * Returns: %TRUE for POST /1.0/boxes/NAME, whose body is streamed, not buffered.
 */
gboolean
wirt_http_boxes_is_upload(SoupServerMessage *msg, const char *path)
{
    const char *rest;

    if (!g_str_equal(soup_server_message_get_method(msg), "POST") ||
        !g_str_has_prefix(path, "/1.0/boxes/"))
        return FALSE;
    rest = path + strlen("/1.0/boxes/");
    return *rest && !strchr(rest, '/');
}

/**
 * wirt_http_boxes_prepare:
 * @msg: an upload (wirt_http_boxes_is_upload()), at got-headers
 * @max_box_gib: [vm] max-box-gib, to refuse a body that cannot be a box within it
 * Returns: %TRUE when the body will be streamed to the upload handler; %FALSE when
 * @msg has been answered already (411, 413).
 */
gboolean
wirt_http_boxes_prepare(SoupServerMessage *msg, guint max_box_gib)
{
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    goffset length = soup_message_headers_get_content_length(headers);
    guint64 cap = (guint64)max_box_gib * (G_GUINT64_CONSTANT(1) << 30) + UPLOAD_SLACK;
    Upload *up;

    /* Whatever happens, the body is never held in memory. */
    soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
    if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CHUNKED) {
        wirt_http_reply_error_status(msg, SOUP_STATUS_LENGTH_REQUIRED, WIRT_ERROR_INVALID,
                                     "box uploads need a Content-Length");
        return FALSE;
    }
    if (length > 0 && (guint64)length > cap) {
        g_autofree char *message =
            g_strdup_printf("box upload of %" G_GOFFSET_FORMAT " bytes is over the limit of "
                            "%u GiB ([vm] max-box-gib) plus 16 MiB",
                            length, max_box_gib);
        wirt_http_reply_error_status(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, WIRT_ERROR_INVALID,
                                     message);
        return FALSE;
    }
    up = g_new0(Upload, 1);
    up->feed = feed_new(msg);
    g_object_set_data_full(G_OBJECT(msg), UPLOAD_KEY, up, upload_free);
    g_signal_connect(msg, "got-chunk", G_CALLBACK(on_upload_chunk), up);
    g_signal_connect(msg, "finished", G_CALLBACK(on_upload_finished), up);
    return TRUE;
}

/**
 * wirt_http_boxes_body_done:
 * @msg: any request, at got-body
 * Returns: %TRUE when @msg is an upload: it is answered now when the service has
 * answered, else paused until it does. %FALSE for every other request.
 */
gboolean
wirt_http_boxes_body_done(SoupServerMessage *msg)
{
    Upload *up = g_object_get_data(G_OBJECT(msg), UPLOAD_KEY);

    if (!up)
        return FALSE;
    up->body_done = TRUE;
    feed_end(up->feed, NULL);
    if (up->answered) {
        upload_reply(msg, up);
    } else if (!up->started) {
        /* Not dispatched to the upload handler (cannot happen: early dispatch answers). */
        wirt_http_reply_error_status(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, WIRT_ERROR_FAILED,
                                     "the upload was not started");
    } else {
        soup_server_message_pause(msg);
    }
    return TRUE;
}

static void
on_add_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(SoupServerMessage) msg = user_data;
    Upload *up = g_object_get_data(G_OBJECT(msg), UPLOAD_KEY);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = wirt_service_box_finish(res, &error);

    if (!up || up->finished)
        return; /* the client went away: the service has cleaned up */
    up->answered = TRUE;
    up->node = g_steal_pointer(&node);
    up->error = g_steal_pointer(&error);
    if (up->body_done) {
        upload_reply(msg, up);
        soup_server_message_unpause(msg);
    } else {
        feed_discard(up->feed); /* read and drop the rest, then answer at got-body */
    }
}

/* ------------------------------------------------------- the direct path */

/* A caller on the unix socket that sent "Expect: 100-continue" (wirt box add does)
 * has not sent a byte of the body yet when the headers arrive. Its connection is
 * taken from libsoup then (as a websocket upgrade takes it), and the service's
 * worker reads the body straight from the socket into the box reader's buffer,
 * whose box.img bytes go to libvirt from there: no main-loop round trip, no 8 KiB
 * chunk copies, no queue, no thread of our own, one copy in user space (libvirt's).
 * A pump thread that read the socket into a Feed only cost CPU: it had filled the
 * queue long before the worker could take more (docs/benchmarks.md). The answer is
 * written by hand (HTTP/1.1, Content-Length, Connection: close), after whatever
 * part of the body the service did not read has been read and dropped, so the
 * client always gets to read it. */

/* A GInputStream that ends after @remaining bytes of its base stream. */
#define LIMIT_TYPE_STREAM (limit_stream_get_type())
G_DECLARE_FINAL_TYPE(LimitStream, limit_stream, LIMIT, STREAM, GFilterInputStream)

struct _LimitStream {
    GFilterInputStream parent;
    guint64 length;
    guint64 remaining;
};

G_DEFINE_TYPE(LimitStream, limit_stream, G_TYPE_FILTER_INPUT_STREAM)

static gssize
limit_stream_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                  GError **error)
{
    LimitStream *self = LIMIT_STREAM(stream);
    GInputStream *base = g_filter_input_stream_get_base_stream(G_FILTER_INPUT_STREAM(stream));
    gssize n;

    if (self->remaining == 0)
        return 0;
    n = g_input_stream_read(base, buffer, MIN(count, self->remaining), cancellable, error);
    if (n > 0)
        self->remaining -= (guint64)n;
    else if (n == 0)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                    "the upload ended after %" G_GUINT64_FORMAT " bytes (the client went away)",
                    self->length - self->remaining);
    return n == 0 ? -1 : n;
}

static void
limit_stream_class_init(LimitStreamClass *klass)
{
    G_INPUT_STREAM_CLASS(klass)->read_fn = limit_stream_read;
}

static void
limit_stream_init(LimitStream *self G_GNUC_UNUSED)
{
}

typedef struct {
    GIOStream *io;
    LimitStream *body; /* the service's worker reads it, then the answer thread drops the rest */
    guint status;
    char *answer; /* JSON */
} Direct;

static void
direct_free(gpointer data)
{
    Direct *d = data;

    g_clear_object(&d->body);
    g_clear_object(&d->io);
    g_free(d->answer);
    g_free(d);
}

/* Worker: drop the unread rest of the body, write the answer, close. */
static void
direct_answer_thread(GTask *task G_GNUC_UNUSED, gpointer source G_GNUC_UNUSED, gpointer task_data,
                     GCancellable *cancellable G_GNUC_UNUSED)
{
    Direct *d = task_data;
    GOutputStream *out = g_io_stream_get_output_stream(d->io);
    g_autofree char *head = NULL;
    g_autofree guint8 *scratch = g_malloc(64 * 1024);
    gsize len = strlen(d->answer);

    /* The client reads the answer only once it has written the whole body. */
    while (g_input_stream_read(G_INPUT_STREAM(d->body), scratch, 64 * 1024, NULL, NULL) > 0)
        ;
    head = g_strdup_printf("HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                           "Cache-Control: no-store\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n",
                           d->status, soup_status_get_phrase(d->status), len);
    if (g_output_stream_write_all(out, head, strlen(head), NULL, NULL, NULL))
        g_output_stream_write_all(out, d->answer, len, NULL, NULL, NULL);
    g_io_stream_close(d->io, NULL, NULL);
}

static void
on_direct_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    Direct *d = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = wirt_service_box_finish(res, &error);
    g_autoptr(GTask) task = g_task_new(NULL, NULL, NULL, NULL);

    if (node) {
        d->status = SOUP_STATUS_CREATED;
        d->answer = wirt_api_to_string(node, TRUE);
    } else {
        g_autoptr(JsonNode) err = wirt_api_error_to_json(error);
        WirtError code = error->domain == WIRT_ERROR ? (WirtError)error->code : WIRT_ERROR_FAILED;

        d->status = wirt_error_http_status(code);
        d->answer = wirt_api_to_string(err, TRUE);
    }
    g_task_set_task_data(task, d, direct_free);
    g_task_run_in_thread(task, direct_answer_thread);
}

/* Takes the connection when the direct path applies; FALSE leaves @req to libsoup. */
static gboolean
try_direct(WirtHttpRequest *req)
{
    SoupServerMessage *msg = req->msg;
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    GSocket *socket = soup_server_message_get_socket(msg);
    goffset length = soup_message_headers_get_content_length(headers);
    Direct *d;
    GOutputStream *out;
    g_autoptr(GInputStream) stream = NULL;
    g_autoptr(GError) error = NULL;
    static const char proceed[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (!socket || g_socket_get_family(socket) != G_SOCKET_FAMILY_UNIX ||
        !(soup_message_headers_get_expectations(headers) & SOUP_EXPECTATION_CONTINUE) ||
        soup_message_headers_get_encoding(headers) != SOUP_ENCODING_CONTENT_LENGTH || length <= 0)
        return FALSE;
    /* Refuse now (policy, name, a box being uploaded…), before the client sends the body:
     * libsoup answers the Expect with this final status instead of 100 Continue. */
    if (!wirt_service_box_add_check(req->service, req->actor, wirt_http_query(req, "owner"),
                                    req->name, &error)) {
        wirt_http_reply_error(msg, error);
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
                                     "close");
        return TRUE;
    }
    d = g_new0(Direct, 1);
    d->io = soup_server_message_steal_connection(msg);
    if (!d->io) {
        direct_free(d);
        return FALSE;
    }
    /* A stolen message never finishes: drop the libsoup path's state (it holds the message). */
    g_signal_handlers_disconnect_by_data(msg, g_object_get_data(G_OBJECT(msg), UPLOAD_KEY));
    g_object_set_data(G_OBJECT(msg), UPLOAD_KEY, NULL);
    out = g_io_stream_get_output_stream(d->io);
    if (!g_output_stream_write_all(out, proceed, strlen(proceed), NULL, NULL, NULL)) {
        g_io_stream_close(d->io, NULL, NULL);
        direct_free(d);
        return TRUE; /* the client went away; nothing to answer */
    }
    d->body = g_object_new(LIMIT_TYPE_STREAM, "base-stream", g_io_stream_get_input_stream(d->io),
                           "close-base-stream", FALSE, NULL);
    d->body->length = (guint64)length;
    d->body->remaining = (guint64)length;
    stream = g_object_ref(G_INPUT_STREAM(d->body));
    wirt_service_box_add_async(req->service, req->actor, wirt_http_query(req, "owner"), req->name,
                               stream, NULL, on_direct_done, d);
    return TRUE;
}

static void
handle_add(WirtHttpRequest *req)
{
    Upload *up = g_object_get_data(G_OBJECT(req->msg), UPLOAD_KEY);
    g_autoptr(GInputStream) stream = NULL;

    if (!up) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, WIRT_ERROR_FAILED,
                                     "box upload not prepared");
        return;
    }
    if (try_direct(req))
        return;
    up->started = TRUE;
    stream = feed_stream_new(up->feed);
    wirt_service_box_add_async(req->service, req->actor, wirt_http_query(req, "owner"), req->name,
                               stream, NULL, on_add_done, g_object_ref(req->msg));
}

/* ------------------------------------------------------------ the others */

static void
on_box_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(SoupServerMessage) msg = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = wirt_service_box_finish(res, &error);

    wirt_http_reply_node_or_error(msg, node, error);
    soup_server_message_unpause(msg);
}

static gpointer
pause_msg(WirtHttpRequest *req)
{
    soup_server_message_pause(req->msg);
    return g_object_ref(req->msg);
}

static void
handle_list(WirtHttpRequest *req)
{
    wirt_service_box_list_async(req->service, req->actor, wirt_http_query(req, "owner"),
                                on_box_done, pause_msg(req));
}

static void
handle_get(WirtHttpRequest *req)
{
    wirt_service_box_get_async(req->service, req->actor, wirt_http_query(req, "owner"), req->name,
                               on_box_done, pause_msg(req));
}

static void
handle_remove(WirtHttpRequest *req)
{
    wirt_service_box_remove_async(req->service, req->actor, wirt_http_query(req, "owner"),
                                  req->name, on_box_done, pause_msg(req));
}

/* ------------------------------------------------------------------ table */

static const WirtHttpRoute routes[] = {
    {{"GET", "/1.0/boxes", WIRT_ACTION_BOX_VIEW, NULL}, handle_list},
    {{"GET", "/1.0/boxes/{name}", WIRT_ACTION_BOX_VIEW, NULL}, handle_get},
    {{"POST", "/1.0/boxes/{name}", WIRT_ACTION_BOX_ADD, NULL}, handle_add},
    {{"DELETE", "/1.0/boxes/{name}", WIRT_ACTION_BOX_REMOVE, NULL}, handle_remove},
};

/**
 * wirt_http_boxes_routes:
 * @out_n: (out): the number of routes
 * Returns: (transfer none): the /1.0/boxes routes, for the dispatcher in wirt-http.c.
 */
const WirtHttpRoute *
wirt_http_boxes_routes(gsize *out_n)
{
    *out_n = G_N_ELEMENTS(routes);
    return routes;
}
