/* wirt-events.c: the event fan-out half of bench/http (which compiles it into a temporary
 * folder). Run as root.
 *
 *   wirt-events fanout SOCKET CLIENTS USERS VM OWNER FIRST_ACTION CHANGES PAUSE_MS PID
 *       Opens CLIENTS websockets on SOCKET's /1.0/events, all in this one process
 *       (non-blocking sockets, one epoll). USERS is a comma-separated list of user names:
 *       client i connects as USERS[i % n] (the socket's peer credentials are the effective
 *       uid at connect(), so the process sets its euid around each connect and goes back to
 *       root). Once every client has its "hello", it changes the state of OWNER's VM as root,
 *       CHANGES times: PUT /1.0/vms/VM/state?owner=OWNER with FIRST_ACTION, then the other
 *       one of start/destroy, alternately. For each change and each client it takes the time
 *       from just before the PUT's first byte is written until that client has read the
 *       {"type":"vm"} message that shows the VM in its new state; it waits PAUSE_MS between
 *       changes. Then, the streams still open, it reads the memory figures of the server's
 *       process PID (/proc/PID/status). Prints one line of key=value pairs (times in ms).
 *   wirt-events streams SOCKET USER COUNT
 *       Opens COUNT websockets as USER at once and prints how many were upgraded and how
 *       many were refused (with the refusals' HTTP status): the per-user stream limit.
 *
 * Timing: each epoll wake-up first reads every ready socket and stamps each with the time
 * its read returned, and only then parses what was read, so one client's parsing is not
 * charged to the next. The clients still share one process and the machine's CPUs with
 * wirtd: the last of 500 sockets is read a little after the first, as a real fan-out's
 * 500 network clients would not be. Plain POSIX sockets, no websocket library, for the
 * same reason as bench/wirt-bench.c: nothing hidden between the wire and the clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "wirt-events"
#include "bench-util.h"

#define HEADER_MAX (16 * 1024)
#define FRAME_MAX (1024 * 1024)
#define CONNECT_TIMEOUT_MS 60000
#define CHANGE_TIMEOUT_MS 10000
#define MAX_EVENTS 256

static const char upgrade_request[] = "GET /1.0/events HTTP/1.1\r\n"
                                      "Host: localhost\r\n"
                                      "Upgrade: websocket\r\n"
                                      "Connection: Upgrade\r\n"
                                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      "Sec-WebSocket-Version: 13\r\n"
                                      "\r\n";

typedef struct {
    int fd;
    uid_t uid;
    GByteArray *in;       /* bytes read and not yet parsed */
    GByteArray *message;  /* a fragmented message being put together */
    gboolean upgraded;    /* the 101 answer was read */
    gboolean hello;       /* the {"type":"hello"} message was read */
    gboolean closed;      /* EOF, error, close frame or refused upgrade */
    guint status;         /* the upgrade answer's HTTP status */
    gint64 read_ns;       /* when the last read of this wake-up returned (CLOCK_MONOTONIC) */
    gboolean pending;     /* read in this wake-up, not parsed yet */
    gint64 got_ns;        /* this change: when the expected message was read, or 0 */
    gint64 server_us;     /* this change: the message's "time" (wall clock, µs) */
    guint events;         /* {"type":"vm"} messages of this change */
    guint64 events_total; /* all {"type":"vm"} messages */
} Client;

/* The PUT that changes the VM's state, on its own connection. */
typedef struct {
    int fd;
    GByteArray *in;
    gboolean done;
    guint status;
    gint64 done_ns;
} Put;

typedef struct {
    Client *clients;
    guint n_clients;
    Put put;
    int epfd;
    const char *vm;       /* the VM whose change the clients wait for */
    const char *owner;    /* its owner */
    const char *expected; /* the state it is changing to, or NULL between changes */
} Ctx;

static guint
parse_count(const char *text, const char *what, guint min, guint max)
{
    guint64 value = 0;

    if (!g_ascii_string_to_unsigned(text, 10, min, max, &value, NULL))
        die("%s: '%s' is not a number from %u to %u", what, text, min, max);
    return (guint)value;
}

static uid_t
uid_of(const char *user)
{
    struct passwd *pw = getpwnam(user);

    if (!pw)
        die("no user %s", user);
    return pw->pw_uid;
}

/* Connects to the unix socket with @uid as the effective uid, which is what the server reads
 * as the peer's credentials (SO_PEERCRED), then goes back to root. Returns a blocking fd. */
static int
connect_as(const char *path, uid_t uid)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd, rc, saved;

    if (strlen(path) >= sizeof(addr.sun_path))
        die("socket path too long: %s", path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        die("socket: %s", g_strerror(errno));
    if (uid != 0 && seteuid(uid) < 0)
        die("seteuid %u: %s", (guint)uid, g_strerror(errno));
    rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    saved = errno;
    if (uid != 0 && seteuid(0) < 0)
        die("seteuid 0: %s", g_strerror(errno));
    if (rc < 0)
        die("connect %s as uid %u: %s", path, (guint)uid, g_strerror(saved));
    return fd;
}

static void
write_all(int fd, const void *data, gsize len)
{
    const guint8 *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            g_usleep(100);
            continue;
        }
        if (n <= 0)
            die("write: %s", g_strerror(errno));
        p += n;
        len -= (gsize)n;
    }
}

static void
set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        die("fcntl: %s", g_strerror(errno));
}

static void
watch_fd(Ctx *ctx, int fd, guint32 tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

    if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl: %s", g_strerror(errno));
}

/* Reads everything the socket has now; FALSE on EOF or error. */
static gboolean
drain(int fd, GByteArray *buf)
{
    guint8 chunk[16384];

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n > 0) {
            g_byte_array_append(buf, chunk, (guint)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return TRUE;
        return FALSE;
    }
}

static gssize
header_end(const GByteArray *buf)
{
    for (gsize i = 0; i + 3 < buf->len; i++) {
        if (memcmp(buf->data + i, "\r\n\r\n", 4) == 0)
            return (gssize)(i + 4);
    }
    return -1;
}

static guint
status_of(const GByteArray *buf)
{
    if (buf->len < 12 || memcmp(buf->data, "HTTP/1.", 7) != 0)
        return 0;
    return (guint)g_ascii_strtoull((const char *)buf->data + 9, NULL, 10);
}

static void
client_close(Ctx *ctx, Client *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->closed = TRUE;
}

/* A ping from the server: answer with a pong carrying the same payload, masked as RFC 6455
 * requires of clients (wirtd counts unanswered messages and drops silent clients). */
static void
send_pong(Client *c, const guint8 *payload, gsize len)
{
    guint8 frame[2 + 4 + 125];
    guint32 key = g_random_int();
    guint8 mask[4];

    if (len > 125)
        return;
    memcpy(mask, &key, 4);
    frame[0] = 0x8A;
    frame[1] = (guint8)(0x80 | len);
    memcpy(frame + 2, mask, 4);
    for (gsize i = 0; i < len; i++)
        frame[6 + i] = payload[i] ^ mask[i % 4];
    if (write(c->fd, frame, 6 + len) < 0 && errno != EAGAIN)
        fprintf(stderr, "wirt-events: pong: %s\n", g_strerror(errno));
}

static gint64
iso8601_us(const char *text)
{
    g_autoptr(GDateTime) dt = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;

    if (!dt)
        return 0;
    return g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
}

static void
on_message(Ctx *ctx, Client *c, const guint8 *data, gsize len)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *obj, *vm;
    const char *type;

    if (!json_parser_load_from_data(parser, (const char *)data, (gssize)len, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
        die("a message that is not a JSON object: %.*s", (int)MIN(len, 200), data);
    obj = json_node_get_object(json_parser_get_root(parser));
    type = json_object_get_string_member_with_default(obj, "type", "");
    if (g_str_equal(type, "hello")) {
        c->hello = TRUE;
        return;
    }
    if (!g_str_equal(type, "vm"))
        return;
    c->events++;
    c->events_total++;
    if (!ctx->expected || c->got_ns || !json_object_has_member(obj, "vm") ||
        !JSON_NODE_HOLDS_OBJECT(json_object_get_member(obj, "vm")))
        return;
    vm = json_object_get_object_member(obj, "vm");
    if (g_strcmp0(json_object_get_string_member_with_default(vm, "name", ""), ctx->vm) != 0 ||
        g_strcmp0(json_object_get_string_member_with_default(vm, "owner", ""), ctx->owner) != 0 ||
        g_strcmp0(json_object_get_string_member_with_default(vm, "state", ""), ctx->expected) != 0)
        return;
    c->got_ns = c->read_ns;
    c->server_us = iso8601_us(json_object_get_string_member_with_default(obj, "time", NULL));
}

/* Parses what the client has read: the upgrade answer, then whole frames. */
static void
client_parse(Ctx *ctx, Client *c)
{
    if (!c->upgraded) {
        gssize end = header_end(c->in);

        if (end < 0) {
            if (c->in->len > HEADER_MAX)
                die("an upgrade answer without end");
            return;
        }
        c->status = status_of(c->in);
        if (c->status != 101) {
            client_close(ctx, c);
            return;
        }
        c->upgraded = TRUE;
        g_byte_array_remove_range(c->in, 0, (guint)end);
    }
    for (;;) {
        const guint8 *p = c->in->data;
        gsize have = c->in->len, head = 2;
        guint64 len;
        guint8 opcode, mask[4] = {0};
        gboolean fin, masked;

        if (have < 2)
            return;
        fin = (p[0] & 0x80) != 0;
        opcode = p[0] & 0x0F;
        masked = (p[1] & 0x80) != 0;
        len = p[1] & 0x7F;
        if (len == 126) {
            if (have < 4)
                return;
            len = ((guint64)p[2] << 8) | p[3];
            head = 4;
        } else if (len == 127) {
            if (have < 10)
                return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | p[2 + i];
            head = 10;
        }
        if (len > FRAME_MAX)
            die("a %" G_GUINT64_FORMAT "-byte frame", len);
        if (masked) {
            if (have < head + 4)
                return;
            memcpy(mask, p + head, 4);
            head += 4;
        }
        if (have < head + len)
            return;
        {
            g_autofree guint8 *payload = g_memdup2(p + head, (gsize)len);

            if (masked)
                for (gsize i = 0; i < len; i++)
                    payload[i] ^= mask[i % 4];
            g_byte_array_remove_range(c->in, 0, (guint)(head + len));
            switch (opcode) {
            case 0x0: /* continuation */
            case 0x1: /* text */
            case 0x2: /* binary */
                g_byte_array_append(c->message, payload, (guint)len);
                if (fin) {
                    on_message(ctx, c, c->message->data, c->message->len);
                    g_byte_array_set_size(c->message, 0);
                }
                break;
            case 0x8: /* close */
                client_close(ctx, c);
                return;
            case 0x9: /* ping */
                send_pong(c, payload, (gsize)len);
                break;
            default: /* pong and the reserved ones */
                break;
            }
        }
    }
}

static void
put_parse(Put *put)
{
    gssize end = header_end(put->in);
    guint64 length = 0;
    const char *cl;
    g_autofree char *headers = NULL;

    if (end < 0)
        return;
    headers = g_ascii_strdown((const char *)put->in->data, end);
    if ((cl = strstr(headers, "\r\ncontent-length:")))
        length = g_ascii_strtoull(cl + 17, NULL, 10);
    if (put->in->len < (gsize)end + length)
        return;
    put->status = status_of(put->in);
    put->done = TRUE;
    put->done_ns = now_ns(CLOCK_MONOTONIC);
}

/* One epoll round: read every ready socket (stamping each), then parse them. Returns FALSE
 * when the wait timed out. */
static gboolean
pump(Ctx *ctx, int timeout_ms)
{
    struct epoll_event events[MAX_EVENTS];
    int n;

    do
        n = epoll_wait(ctx->epfd, events, MAX_EVENTS, timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        die("epoll_wait: %s", g_strerror(errno));
    for (int i = 0; i < n; i++) {
        guint32 tag = events[i].data.u32;

        if (tag == ctx->n_clients) {
            Put *put = &ctx->put;
            gboolean alive = drain(put->fd, put->in);

            put_parse(put);
            if (!put->done && !alive) { /* closed early: whatever status it had */
                put->status = status_of(put->in);
                put->done = TRUE;
                put->done_ns = now_ns(CLOCK_MONOTONIC);
            }
            if (put->done) {
                epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, put->fd, NULL);
                close(put->fd);
                put->fd = -1;
            }
            continue;
        }
        {
            Client *c = &ctx->clients[tag];
            gboolean alive = drain(c->fd, c->in);

            c->read_ns = now_ns(CLOCK_MONOTONIC);
            c->pending = TRUE;
            if (!alive) {
                client_parse(ctx, c); /* what came before the end still counts */
                c->pending = FALSE;
                client_close(ctx, c);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        guint32 tag = events[i].data.u32;
        Client *c;

        if (tag == ctx->n_clients)
            continue;
        c = &ctx->clients[tag];
        if (c->pending && !c->closed)
            client_parse(ctx, c);
        c->pending = FALSE;
    }
    return n > 0;
}

static int
cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of @v (sorted here), in ms. */
static double
pct_ms(GArray *v, double q)
{
    gsize rank;

    if (v->len == 0)
        return NAN;
    qsort(v->data, v->len, sizeof(gint64), cmp_i64);
    rank = (gsize)ceil(q * (double)v->len);
    return (double)g_array_index(v, gint64, MAX(rank, 1) - 1) / 1e6;
}

static Ctx *
open_clients(const char *sock, guint n, const uid_t *uids, guint n_uids, gint64 *out_ms)
{
    Ctx *ctx = g_new0(Ctx, 1);
    gint64 start = now_ns(CLOCK_MONOTONIC),
           deadline = start + CONNECT_TIMEOUT_MS * G_GINT64_CONSTANT(1000000);

    ctx->n_clients = n;
    ctx->clients = g_new0(Client, n);
    ctx->put.fd = -1;
    ctx->put.in = g_byte_array_new();
    if ((ctx->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1: %s", g_strerror(errno));
    for (guint i = 0; i < n; i++) {
        Client *c = &ctx->clients[i];

        c->uid = uids[i % n_uids];
        c->in = g_byte_array_new();
        c->message = g_byte_array_new();
        c->fd = connect_as(sock, c->uid);
        write_all(c->fd, upgrade_request, strlen(upgrade_request));
        set_nonblocking(c->fd);
        watch_fd(ctx, c->fd, i);
        /* Keep up with the answers while connecting, so none waits in a full buffer. */
        pump(ctx, 0);
    }
    for (;;) {
        guint ready = 0, closed = 0;

        for (guint i = 0; i < n; i++) {
            ready += ctx->clients[i].hello && !ctx->clients[i].closed;
            closed += ctx->clients[i].closed;
        }
        if (ready + closed == n)
            break;
        if (now_ns(CLOCK_MONOTONIC) > deadline)
            die("%u of %u websockets had no hello after %d ms", n - ready - closed, n,
                CONNECT_TIMEOUT_MS);
        pump(ctx, 100);
    }
    *out_ms = (now_ns(CLOCK_MONOTONIC) - start) / 1000000;
    return ctx;
}

static int
cmd_streams(const char *sock, const char *user, guint count)
{
    uid_t uid = uid_of(user);
    gint64 ms = 0;
    Ctx *ctx = open_clients(sock, count, &uid, 1, &ms);
    guint upgraded = 0, refused = 0;
    g_autoptr(GString) statuses = g_string_new(NULL);

    for (guint i = 0; i < count; i++) {
        Client *c = &ctx->clients[i];

        if (c->hello && !c->closed) {
            upgraded++;
        } else {
            refused++;
            g_string_append_printf(statuses, "%s%u", statuses->len ? "," : "", c->status);
        }
    }
    printf("user=%s streams=%u upgraded=%u refused=%u refused_status=%s\n", user, count, upgraded,
           refused, statuses->len ? statuses->str : "-");
    return 0;
}

/* A /proc/PID/status figure ("VmRSS" → its value in kB), or -1. */
static gint64
proc_status(const char *status, const char *key)
{
    g_autofree char *needle = g_strdup_printf("\n%s:", key);
    const char *at = status ? strstr(status, needle) : NULL;

    return at ? (gint64)g_ascii_strtoull(at + strlen(needle), NULL, 10) : -1;
}

static int
cmd_fanout(const char *sock, guint n, const char *users_csv, const char *vm, const char *owner,
           const char *first_action, guint changes, guint pause_ms, const char *pid)
{
    g_autofree char *status_path = g_strdup_printf("/proc/%s/status", pid);
    g_autofree char *status = NULL;
    g_auto(GStrv) users = g_strsplit(users_csv, ",", -1);
    guint n_users = g_strv_length(users);
    g_autofree uid_t *uids = g_new0(uid_t, MAX(n_users, 1));
    g_autoptr(GArray) client_ns = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GArray) last_ns = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GArray) first_ns = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GArray) put_ns = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GArray) stamp_ns = g_array_new(FALSE, FALSE, sizeof(gint64));
    guint64 missing = 0, extra = 0;
    gboolean start = g_str_equal(first_action, "start");
    gint64 connect_ms = 0;
    Ctx *ctx;

    if (!start && !g_str_equal(first_action, "destroy"))
        die("FIRST_ACTION must be start or destroy");
    if (n_users == 0)
        die("no users");
    for (guint i = 0; i < n_users; i++)
        uids[i] = uid_of(users[i]);
    ctx = open_clients(sock, n, uids, n_users, &connect_ms);
    for (guint i = 0; i < n; i++) {
        if (ctx->clients[i].closed)
            die("websocket %u (uid %u) was refused: HTTP %u", i, (guint)ctx->clients[i].uid,
                ctx->clients[i].status);
    }
    ctx->vm = vm;
    ctx->owner = owner;

    for (guint k = 0; k < changes; k++, start = !start) {
        const char *action = start ? "start" : "destroy";
        g_autofree char *body = g_strdup_printf("{\"action\":\"%s\"}", action);
        g_autofree char *request = g_strdup_printf(
            "PUT /1.0/vms/%s/state?owner=%s HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
            vm, owner, strlen(body), body);
        gint64 t0, t0_real_us, deadline, last = 0, first = G_MAXINT64;
        guint got = 0;

        for (guint i = 0; i < n; i++) {
            ctx->clients[i].got_ns = 0;
            ctx->clients[i].events = 0;
        }
        ctx->expected = start ? "running" : "shutoff";
        g_byte_array_set_size(ctx->put.in, 0);
        ctx->put.done = FALSE;
        ctx->put.fd = connect_as(sock, 0);
        t0_real_us = now_ns(CLOCK_REALTIME) / 1000;
        t0 = now_ns(CLOCK_MONOTONIC);
        write_all(ctx->put.fd, request, strlen(request));
        set_nonblocking(ctx->put.fd);
        watch_fd(ctx, ctx->put.fd, n);
        deadline = t0 + CHANGE_TIMEOUT_MS * G_GINT64_CONSTANT(1000000);
        for (;;) {
            got = 0;
            for (guint i = 0; i < n; i++)
                got += ctx->clients[i].got_ns != 0;
            if (got == n && ctx->put.done)
                break;
            if (now_ns(CLOCK_MONOTONIC) > deadline)
                break;
            pump(ctx, 50);
        }
        if (!ctx->put.done)
            die("change %u (%s): no answer to the PUT in %d ms", k + 1, action, CHANGE_TIMEOUT_MS);
        if (ctx->put.status != 200)
            die("change %u: PUT %s answered %u: %.*s", k + 1, action, ctx->put.status,
                (int)MIN(ctx->put.in->len, 400), ctx->put.in->data);
        {
            gint64 put = ctx->put.done_ns - t0;
            g_array_append_val(put_ns, put);
        }
        for (guint i = 0; i < n; i++) {
            Client *c = &ctx->clients[i];
            gint64 d;

            if (c->closed)
                die("websocket %u closed during change %u", i, k + 1);
            if (!c->got_ns) {
                missing++;
                continue;
            }
            d = c->got_ns - t0;
            g_array_append_val(client_ns, d);
            last = MAX(last, d);
            first = MIN(first, d);
            if (c->server_us) {
                gint64 s = (c->server_us - t0_real_us) * 1000;
                g_array_append_val(stamp_ns, s);
            }
        }
        if (got > 0) {
            g_array_append_val(last_ns, last);
            g_array_append_val(first_ns, first);
        }
        /* Let anything else this change causes arrive, and count it. */
        ctx->expected = NULL;
        {
            gint64 until = now_ns(CLOCK_MONOTONIC) + (gint64)pause_ms * 1000000;
            gint64 left;

            while ((left = until - now_ns(CLOCK_MONOTONIC)) > 0)
                pump(ctx, (int)MAX(left / 1000000, 1));
        }
        for (guint i = 0; i < n; i++)
            extra += ctx->clients[i].events > 1 ? ctx->clients[i].events - 1 : 0;
    }

    if (!g_file_get_contents(status_path, &status, NULL, NULL))
        die("cannot read %s", status_path);
    printf("rss_kib=%" G_GINT64_FORMAT " anon_kib=%" G_GINT64_FORMAT " file_kib=%" G_GINT64_FORMAT
           " hwm_kib=%" G_GINT64_FORMAT " threads=%" G_GINT64_FORMAT " ",
           proc_status(status, "VmRSS"), proc_status(status, "RssAnon"),
           proc_status(status, "RssFile"), proc_status(status, "VmHWM"),
           proc_status(status, "Threads"));
    printf("clients=%u users=%u connect_ms=%" G_GINT64_FORMAT " changes=%u received=%u"
           " missing=%" G_GUINT64_FORMAT " extra=%" G_GUINT64_FORMAT,
           n, n_users, connect_ms, changes, client_ns->len, missing, extra);
    printf(" client_p50_ms=%.2f client_p99_ms=%.2f client_max_ms=%.2f", pct_ms(client_ns, 0.5),
           pct_ms(client_ns, 0.99), pct_ms(client_ns, 1.0));
    printf(" first_p50_ms=%.2f last_p50_ms=%.2f last_p99_ms=%.2f last_max_ms=%.2f",
           pct_ms(first_ns, 0.5), pct_ms(last_ns, 0.5), pct_ms(last_ns, 0.99),
           pct_ms(last_ns, 1.0));
    printf(" put_p50_ms=%.2f put_max_ms=%.2f stamp_p50_ms=%.2f stamp_p99_ms=%.2f\n",
           pct_ms(put_ns, 0.5), pct_ms(put_ns, 1.0), pct_ms(stamp_ns, 0.5), pct_ms(stamp_ns, 0.99));
    return 0;
}

static void G_GNUC_NORETURN
usage(void)
{
    fputs("usage: wirt-events fanout SOCKET CLIENTS USERS VM OWNER FIRST_ACTION CHANGES "
          "PAUSE_MS PID\n"
          "       wirt-events streams SOCKET USER COUNT\n",
          stderr);
    exit(2);
}

int
main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (geteuid() != 0)
        die("run as root (it connects as several users)");
    if (argc == 11 && g_str_equal(argv[1], "fanout"))
        return cmd_fanout(argv[2], parse_count(argv[3], "CLIENTS", 1, 100000), argv[4], argv[5],
                          argv[6], argv[7], parse_count(argv[8], "CHANGES", 1, 100000),
                          parse_count(argv[9], "PAUSE_MS", 0, 600000), argv[10]);
    if (argc == 5 && g_str_equal(argv[1], "streams"))
        return cmd_streams(argv[2], argv[3], parse_count(argv[4], "COUNT", 1, 100000));
    usage();
}
