/* wirt-http-ssh.c: GET /1.0/vms/{name}/ssh, a websocket carrying the bytes of a
 * TCP connection to the VM's port 22 (`wirt ssh-proxy`, ssh's ProxyCommand), and
 * the addresses in GET /1.0/vms/{name}.
 *
 * Order of checks: Origin (cross-site websocket hijacking, as /1.0/events),
 * then policy and state in the service (so that someone else's VM answers 404
 * exactly like a missing one, before anything else is said), then the upgrade
 * itself; only then does wirtd look up the address and connect.
 *
 * Flow control. libsoup's SoupWebsocketConnection queues outgoing frames
 * without bound and reads incoming ones as fast as they come, so a relay built
 * on it buffers a whole stream when one side stalls (docs/benchmarks.md: 564 MB
 * RSS). Here libsoup does the handshake only; the relay takes the connection
 * (soup_server_message_steal_connection()) and frames binary messages itself
 * (RFC 6455: server frames unmasked, client frames masked), with one bounded
 * queue per direction: the guest's socket is read only while fewer than
 * RELAY_HIGH bytes wait for the client, and the client's frames are read only
 * while fewer than RELAY_HIGH bytes wait for the guest. At most about
 * 2 x (RELAY_HIGH + RELAY_CHUNK + RELAY_MAX_FRAME) bytes are held per session.
 */
#include "wirt-http-private.h"

#include <string.h>

#include "core/wirt-api.h"
#include "service/wirt-addresses.h"
#include "service/wirt-ssh.h"

#define RELAY_CHUNK (64 * 1024)      /* one read of the guest's socket, one frame */
#define RELAY_MAX_FRAME (256 * 1024) /* the largest client frame accepted (1009 beyond) */
#define RELAY_HIGH (256 * 1024)      /* bytes queued for one side before its source waits */
#define RELAY_CLOSE_WAIT_SECONDS 5   /* for the client's close frame after ours */
#define RELAY_SESSIONS_PER_USER 16   /* open and opening sessions per uid */

enum {
    OP_CONTINUATION = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xa,
};

typedef struct _Relay Relay;

/* One output stream and the frames or bytes waiting for it; written one at a time. */
typedef struct {
    Relay *relay;
    GOutputStream *out;
    GQueue queue; /* GBytes* */
    gsize queued;
    gboolean writing;
} Writer;

struct _Relay {
    guint refs; /* one for being open, one per async operation in flight */
    uid_t uid;
    GIOStream *ws_io; /* the client's connection, after the upgrade */
    GSocketConnection *tcp;
    GCancellable *cancellable;
    Writer to_client;
    Writer to_guest;
    GByteArray *in;       /* the client's bytes not yet parsed into frames */
    guint8 *tcp_buf;      /* RELAY_CHUNK + room for a frame header in front */
    guint8 *ws_buf;       /* RELAY_CHUNK */
    gboolean tcp_reading; /* a read of the guest's socket is in flight */
    gboolean ws_reading;
    gboolean close_sent;     /* our close frame is queued: read nothing more from the guest */
    gboolean close_received; /* the client's close frame came: end once ours is written */
    gboolean done;           /* torn down: in-flight operations only drop their refs */
    guint close_wait_id;
};

static GList *relays;   /* Relay*: open sessions */
static GList *pendings; /* SshPending*: sessions being opened */

static void relay_kick(Relay *relay);
static void relay_teardown(Relay *relay);

static void
bytes_unref_cb(gpointer data)
{
    g_bytes_unref(data);
}

static Relay *
relay_ref(Relay *relay)
{
    relay->refs++;
    return relay;
}

static void
relay_unref(Relay *relay)
{
    if (--relay->refs > 0)
        return;
    g_clear_handle_id(&relay->close_wait_id, g_source_remove);
    g_queue_clear_full(&relay->to_client.queue, bytes_unref_cb);
    g_queue_clear_full(&relay->to_guest.queue, bytes_unref_cb);
    if (relay->ws_io)
        g_io_stream_close(relay->ws_io, NULL, NULL);
    if (relay->tcp)
        g_io_stream_close(G_IO_STREAM(relay->tcp), NULL, NULL);
    g_clear_object(&relay->ws_io);
    g_clear_object(&relay->tcp);
    g_clear_object(&relay->cancellable);
    g_byte_array_unref(relay->in);
    g_free(relay->tcp_buf);
    g_free(relay->ws_buf);
    g_free(relay);
}

/* --------------------------------------------------------------- writers */

static void writer_next(Writer *w);

static void
on_written(GObject *source, GAsyncResult *res, gpointer user_data)
{
    Writer *w = user_data;
    Relay *relay = w->relay;
    g_autoptr(GError) error = NULL;
    GBytes *head;

    w->writing = FALSE;
    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
        relay_teardown(relay);
        relay_unref(relay);
        return;
    }
    if (!relay->done) {
        head = g_queue_pop_head(&w->queue);
        w->queued -= g_bytes_get_size(head);
        g_bytes_unref(head);
        if (relay->close_received && w == &relay->to_client && !w->queue.length)
            relay_teardown(relay); /* our answer to the client's close is out */
        writer_next(w);
        relay_kick(relay);
    }
    relay_unref(relay);
}

static void
writer_next(Writer *w)
{
    GBytes *head = g_queue_peek_head(&w->queue);
    gsize len = 0;
    const void *data;

    if (w->writing || !head || w->relay->done)
        return;
    data = g_bytes_get_data(head, &len);
    w->writing = TRUE;
    g_output_stream_write_all_async(w->out, data, len, G_PRIORITY_DEFAULT, w->relay->cancellable,
                                    on_written, w);
    relay_ref(w->relay);
}

static void
writer_push(Writer *w, GBytes *bytes)
{
    w->queued += g_bytes_get_size(bytes);
    g_queue_push_tail(&w->queue, bytes);
    writer_next(w);
}

/* Fills @header (at most 10 bytes) for an unmasked final frame of @len bytes;
 * returns the header's size. */
static gsize
frame_header(guint8 *header, guint8 opcode, gsize len)
{
    header[0] = 0x80 | opcode;
    if (len < 126) {
        header[1] = (guint8)len;
        return 2;
    }
    if (len <= 0xffff) {
        header[1] = 126;
        header[2] = (guint8)(len >> 8);
        header[3] = (guint8)len;
        return 4;
    }
    header[1] = 127;
    for (int i = 0; i < 8; i++)
        header[2 + i] = (guint8)((guint64)len >> (56 - 8 * i));
    return 10;
}

/* Queues one unmasked frame for the client. */
static void
send_frame(Relay *relay, guint8 opcode, const guint8 *payload, gsize len)
{
    guint8 *frame = g_malloc(10 + len);
    gsize n = frame_header(frame, opcode, len);

    if (len)
        memcpy(frame + n, payload, len);
    writer_push(&relay->to_client, g_bytes_new_take(frame, n + len));
}

static gboolean
on_close_wait(gpointer user_data)
{
    Relay *relay = user_data;

    relay->close_wait_id = 0;
    relay_teardown(relay);
    return G_SOURCE_REMOVE;
}

/* Sends our close frame once, then waits a little for the client's. */
static void
send_close(Relay *relay, gushort code, const char *reason)
{
    guint8 payload[125];
    gsize len = 2;

    if (relay->close_sent)
        return;
    relay->close_sent = TRUE;
    payload[0] = (guint8)(code >> 8);
    payload[1] = (guint8)code;
    if (reason) {
        len += MIN(strlen(reason), sizeof(payload) - 2);
        memcpy(payload + 2, reason, len - 2);
    }
    send_frame(relay, OP_CLOSE, payload, len);
    relay->close_wait_id = g_timeout_add_seconds(RELAY_CLOSE_WAIT_SECONDS, on_close_wait, relay);
}

/* --------------------------------------------------------- guest -> client */

static void
on_tcp_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
    Relay *relay = user_data;
    g_autoptr(GError) error = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

    relay->tcp_reading = FALSE;
    if (!relay->done) {
        if (n > 0) {
            /* The chunk was read 10 bytes into the buffer: put the header right before it. */
            guint8 header[10];
            gsize h = frame_header(header, OP_BINARY, (gsize)n);

            memcpy(relay->tcp_buf + 10 - h, header, h);
            writer_push(&relay->to_client, g_bytes_new(relay->tcp_buf + 10 - h, h + (gsize)n));
            relay_kick(relay);
        } else if (n == 0) {
            send_close(relay, SOUP_WEBSOCKET_CLOSE_NORMAL, "the guest closed the connection");
        } else {
            send_close(relay, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "the guest connection failed");
        }
    }
    relay_unref(relay);
}

/* ---------------------------------------------------------- client -> guest */

/* Parses every whole frame in relay->in. FALSE when the session ended. */
static gboolean
parse_frames(Relay *relay)
{
    while (!relay->done && relay->in->len >= 2) {
        const guint8 *p = relay->in->data;
        guint8 opcode = p[0] & 0x0f;
        gboolean fin = (p[0] & 0x80) != 0;
        guint64 len = p[1] & 0x7f;
        gsize head = 2;
        guint8 *payload;

        if ((p[0] & 0x70) || !(p[1] & 0x80)) {
            /* RSV bits without an extension, or an unmasked client frame (RFC 6455 5.1). */
            send_close(relay, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "bad frame");
            return FALSE;
        }
        if (len == 126) {
            if (relay->in->len < 4)
                return TRUE;
            len = ((guint64)p[2] << 8) | p[3];
            head = 4;
        } else if (len == 127) {
            if (relay->in->len < 10)
                return TRUE;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | p[2 + i];
            head = 10;
        }
        if (len > RELAY_MAX_FRAME || (opcode >= OP_CLOSE && (len > 125 || !fin))) {
            send_close(relay, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "frame too big");
            return FALSE;
        }
        if (relay->in->len < head + 4 + len)
            return TRUE;
        payload = relay->in->data + head + 4;
        for (guint64 i = 0; i < len; i++)
            payload[i] ^= p[head + (i & 3)];

        switch (opcode) {
        case OP_BINARY:
        case OP_CONTINUATION:
            if (len)
                writer_push(&relay->to_guest, g_bytes_new(payload, (gsize)len));
            break;
        case OP_PING:
            send_frame(relay, OP_PONG, payload, (gsize)len);
            break;
        case OP_PONG:
            break;
        case OP_CLOSE:
            relay->close_received = TRUE;
            if (relay->close_sent) {
                relay_teardown(relay);
            } else {
                /* Echo the client's code; the session ends once the echo is written. */
                relay->close_sent = TRUE;
                send_frame(relay, OP_CLOSE, payload, len >= 2 ? 2 : 0);
            }
            return FALSE;
        case OP_TEXT:
        default:
            send_close(relay, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA, "binary messages only");
            return FALSE;
        }
        g_byte_array_remove_range(relay->in, 0, (guint)(head + 4 + len));
    }
    return TRUE;
}

static void
on_ws_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
    Relay *relay = user_data;
    g_autoptr(GError) error = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

    relay->ws_reading = FALSE;
    if (!relay->done) {
        if (n <= 0) {
            relay_teardown(relay); /* the client went away */
        } else {
            g_byte_array_append(relay->in, relay->ws_buf, (guint)n);
            if (parse_frames(relay))
                relay_kick(relay);
        }
    }
    relay_unref(relay);
}

/* Starts the reads the queues have room for. */
static void
relay_kick(Relay *relay)
{
    if (relay->done)
        return;
    if (!relay->tcp_reading && !relay->close_sent && relay->to_client.queued < RELAY_HIGH) {
        relay->tcp_reading = TRUE;
        g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(relay->tcp)),
                                  relay->tcp_buf + 10, RELAY_CHUNK, G_PRIORITY_DEFAULT,
                                  relay->cancellable, on_tcp_read, relay_ref(relay));
    }
    if (!relay->ws_reading && relay->to_guest.queued < RELAY_HIGH &&
        relay->to_client.queued < RELAY_HIGH) {
        relay->ws_reading = TRUE;
        g_input_stream_read_async(g_io_stream_get_input_stream(relay->ws_io), relay->ws_buf,
                                  RELAY_CHUNK, G_PRIORITY_DEFAULT, relay->cancellable, on_ws_read,
                                  relay_ref(relay));
    }
}

/* Ends the session: cancels what is in flight; the last ref closes both sides. */
static void
relay_teardown(Relay *relay)
{
    if (relay->done)
        return;
    relay->done = TRUE;
    relays = g_list_remove(relays, relay);
    g_clear_handle_id(&relay->close_wait_id, g_source_remove);
    g_cancellable_cancel(relay->cancellable);
    relay_unref(relay); /* the "open" ref */
}

static void
relay_start(uid_t uid, GIOStream *ws_io, GSocketConnection *tcp)
{
    Relay *relay = g_new0(Relay, 1);

    relay->refs = 1;
    relay->uid = uid;
    relay->ws_io = ws_io;
    relay->tcp = tcp;
    relay->cancellable = g_cancellable_new();
    relay->in = g_byte_array_new();
    relay->tcp_buf = g_malloc(RELAY_CHUNK + 10);
    relay->ws_buf = g_malloc(RELAY_CHUNK);
    relay->to_client.relay = relay;
    relay->to_client.out = g_io_stream_get_output_stream(ws_io);
    relay->to_guest.relay = relay;
    relay->to_guest.out = g_io_stream_get_output_stream(G_IO_STREAM(tcp));
    g_socket_set_keepalive(g_socket_connection_get_socket(tcp), TRUE);
    relays = g_list_prepend(relays, relay);
    relay_kick(relay);
}

/* ------------------------------------------------------------ the route */

typedef struct {
    SoupServerMessage *msg;
    uid_t uid;
    GCancellable *cancellable;
    GSocketConnection *tcp; /* connected, until the upgrade is written */
    gboolean finished;      /* the client went away */
} SshPending;

static void
pending_free(SshPending *p)
{
    pendings = g_list_remove(pendings, p);
    g_signal_handlers_disconnect_by_data(p->msg, p);
    g_object_unref(p->msg);
    g_clear_object(&p->cancellable);
    if (p->tcp)
        g_io_stream_close(G_IO_STREAM(p->tcp), NULL, NULL);
    g_clear_object(&p->tcp);
    g_free(p);
}

static guint
sessions_of(uid_t uid)
{
    guint n = 0;

    for (GList *l = relays; l; l = l->next)
        n += ((Relay *)l->data)->uid == uid;
    for (GList *l = pendings; l; l = l->next)
        n += ((SshPending *)l->data)->uid == uid;
    return n;
}

static void
on_upgrade_written(SoupServerMessage *msg, gpointer user_data)
{
    SshPending *p = user_data;
    GIOStream *io = soup_server_message_steal_connection(msg);

    relay_start(p->uid, io, g_steal_pointer(&p->tcp));
    pending_free(p);
}

static void
on_msg_finished(SoupServerMessage *msg G_GNUC_UNUSED, gpointer user_data)
{
    SshPending *p = user_data;

    /* Before the upgrade: an error answer went out, or the client left while we
     * were connecting (then the connect is cancelled and its callback frees). */
    p->finished = TRUE;
    g_cancellable_cancel(p->cancellable);
    if (p->tcp)
        pending_free(p); /* connected, but the upgrade never went out */
}

static void
on_ssh_connected(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    SshPending *p = user_data;
    g_autoptr(GError) error = NULL;
    GSocketConnection *tcp = wirt_service_ssh_connect_finish(res, &error);

    if (p->finished) {
        if (tcp) {
            g_io_stream_close(G_IO_STREAM(tcp), NULL, NULL);
            g_object_unref(tcp);
        }
        pending_free(p);
        return;
    }
    if (!tcp) {
        wirt_http_reply_error(p->msg, error);
        soup_server_message_unpause(p->msg);
        pending_free(p);
        return;
    }
    p->tcp = tcp;
    /* No extensions: our own framing speaks plain RFC 6455. */
    soup_websocket_server_process_handshake(p->msg, NULL, NULL, NULL, NULL);
    g_signal_connect(p->msg, "wrote-informational", G_CALLBACK(on_upgrade_written), p);
    soup_server_message_unpause(p->msg);
}

/**
 * wirt_http_ssh_handle:
 * @req: GET /1.0/vms/{name}/ssh[?owner=OWNER]
 *
 * 403 for a foreign Origin; 404/403 by policy SSH; 409 when the VM does not
 * run, has no address yet or its port 22 does not answer, or the caller already
 * has RELAY_SESSIONS_PER_USER sessions; 400 without a websocket upgrade; else
 * 101 and the byte stream.
 */
void
wirt_http_ssh_handle(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtSshTarget) target = NULL;
    SshPending *p;

    if (!wirt_http_origin_allowed(req)) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_FORBIDDEN, WIRT_ERROR_DENIED,
                                     "websocket Origin not allowed");
        return;
    }
    if (!(target = wirt_service_ssh_prepare(req->service, req->actor, wirt_http_query(req, "owner"),
                                            req->name, &error))) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    if (!soup_websocket_server_check_handshake(req->msg, NULL, NULL, NULL, &error)) {
        g_autofree char *message = g_strdup_printf("/1.0/vms/%s/ssh needs a websocket upgrade: %s",
                                                   req->name, error->message);
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
                                     message);
        return;
    }
    if (sessions_of(req->actor->uid) >= RELAY_SESSIONS_PER_USER) {
        g_autofree char *message =
            g_strdup_printf("ssh: %s already has %d sessions open (the limit)", req->actor->user,
                            RELAY_SESSIONS_PER_USER);
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_CONFLICT, WIRT_ERROR_CONFLICT, message);
        return;
    }
    p = g_new0(SshPending, 1);
    p->msg = g_object_ref(req->msg);
    p->uid = req->actor->uid;
    p->cancellable = g_cancellable_new();
    pendings = g_list_prepend(pendings, p);
    g_signal_connect(req->msg, "finished", G_CALLBACK(on_msg_finished), p);
    soup_server_message_pause(req->msg);
    wirt_service_ssh_connect_async(req->service, g_steal_pointer(&target), p->cancellable,
                                   on_ssh_connected, p);
}

/**
 * wirt_http_ssh_close_all:
 *
 * Ends every ssh session (wirtd is stopping).
 */
void
wirt_http_ssh_close_all(void)
{
    gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    g_autoptr(GList) connected = NULL;

    while (relays)
        relay_teardown(relays->data);
    /* Sessions still being opened: cancel their connects, whose callbacks free them (the
     * main loop has stopped: run it here for a moment); one already connected but not yet
     * upgraded has no callback to come. */
    for (GList *l = pendings; l; l = l->next) {
        SshPending *p = l->data;

        p->finished = TRUE;
        g_cancellable_cancel(p->cancellable);
        if (p->tcp)
            connected = g_list_prepend(connected, p);
    }
    for (GList *l = connected; l; l = l->next)
        pending_free(l->data);
    while (pendings && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

/* ----------------------------------------------- GET /1.0/vms/{name} */

typedef struct {
    SoupServerMessage *msg;
    WirtVm *vm;
} VmGet;

static void
on_addresses(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    VmGet *get = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtAddrList) list = wirt_service_vm_addresses_finish(res, &error);
    g_autoptr(JsonNode) node = wirt_api_vm_to_json(get->vm);

    /* The VM's view does not fail for want of addresses: they are left out. */
    if (list)
        json_object_set_member(json_node_get_object(node), "addresses",
                               wirt_addr_list_to_json(list));
    wirt_http_reply_json(get->msg, SOUP_STATUS_OK, node);
    soup_server_message_unpause(get->msg);
    g_object_unref(get->msg);
    wirt_vm_unref(get->vm);
    g_free(get);
}

/**
 * wirt_http_vm_reply_with_addresses:
 * @vm: (transfer none): the VM the caller may view
 *
 * Answers GET /1.0/vms/{name}: a running VM's JSON carries "addresses", asked
 * of libvirt in a worker (lease, agent, ARP); any other VM is answered at once.
 */
void
wirt_http_vm_reply_with_addresses(WirtHttpRequest *req, WirtVm *vm)
{
    VmGet *get;

    if (vm->state != WIRT_VM_STATE_RUNNING) {
        wirt_http_reply_vm(req->msg, SOUP_STATUS_OK, vm);
        return;
    }
    get = g_new0(VmGet, 1);
    get->msg = g_object_ref(req->msg);
    get->vm = wirt_vm_ref(vm);
    soup_server_message_pause(req->msg);
    wirt_service_vm_addresses_async(req->service, vm, on_addresses, get);
}
