/* wirt-bench.c: the measuring half of bench/list (which compiles it into a temporary folder).
 *
 *   wirt-bench http SOCKET PATH COUNT WARMUP
 *       Keeps ONE connection open on the unix socket and sends WARMUP + COUNT sequential
 *       "GET PATH" requests (HTTP/1.1, keep-alive). Each round trip is timed from the first
 *       byte written to the last body byte read; the WARMUP ones are not counted. Every
 *       answer must be 200 with a JSON array of the same length. Prints one line of
 *       key=value pairs (times in ms).
 *   wirt-bench wait SOCKET TIMEOUT_MS PID
 *       Polls the socket with "GET /1.0" until it answers 200, PID dies or the time is up.
 *       Prints ready_realtime_ns=… (CLOCK_REALTIME, comparable with bash's $EPOCHREALTIME).
 *   wirt-bench exec RUNS WARMUP -- COMMAND [ARG…]
 *       Runs COMMAND WARMUP + RUNS times (stdin, stdout and stderr on /dev/null), timing
 *       each run from fork to wait. Every run must exit 0. Prints mean/median/stddev/min/max.
 *       bench/list uses it when hyperfine is not installed.
 *
 * Plain POSIX sockets rather than libsoup: the client must add as little as possible to the
 * round trip it measures, and must not hide a closed keep-alive connection (it counts them).
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "wirt-bench"
#include "bench-util.h"

#define HEADER_MAX (64 * 1024)
#define BODY_MAX (256 * 1024 * 1024)
/* Errors here only end in a message on stderr: one quark, code 0. */
#define BENCH_ERROR (g_quark_from_static_string("wirt-bench-error"))

typedef int BenchFd;
static void
bench_fd_close(BenchFd fd)
{
    if (fd >= 0)
        close(fd);
}
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(BenchFd, bench_fd_close, -1)

/* One HTTP connection with its read buffer (bytes read past one answer stay for the next). */
typedef struct {
    int fd;
    GByteArray *buf;
} Conn;

typedef struct {
    guint status;
    gsize body_len;
    gint64 items;    /* elements of a top-level JSON array, or -1 */
    gboolean closed; /* the server said "Connection: close" */
} Answer;

static int
connect_unix(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_auto(BenchFd) fd = -1;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return -1;
    return g_steal_fd(&fd);
}

static void
conn_close(Conn *conn)
{
    if (conn->fd >= 0)
        close(conn->fd);
    conn->fd = -1;
    g_byte_array_set_size(conn->buf, 0);
}

static gboolean
write_all(int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Appends what the socket has (blocking) to the buffer; FALSE on EOF or error. */
static gboolean
fill(Conn *conn)
{
    guint8 chunk[65536];
    ssize_t n;

    do
        n = read(conn->fd, chunk, sizeof(chunk));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return FALSE;
    g_byte_array_append(conn->buf, chunk, (guint)n);
    return TRUE;
}

/* Index just past "\r\n" found at or after @from, or -1 while the line is incomplete. */
static gssize
find_crlf(const GByteArray *buf, gsize from)
{
    for (gsize i = from; i + 1 < buf->len; i++) {
        if (buf->data[i] == '\r' && buf->data[i + 1] == '\n')
            return (gssize)(i + 2);
    }
    return -1;
}

static gboolean
parse_size(const char *text, guint base, guint64 *out)
{
    g_autofree char *trimmed = g_strstrip(g_strdup(text));

    return g_ascii_string_to_unsigned(trimmed, base, 0, BODY_MAX, out, NULL);
}

/* Counts the elements of a top-level JSON array: its top-level commas plus one, minding strings.
 * Returns -1 when the body is not an array. */
static gint64
count_items(const guint8 *body, gsize len)
{
    gsize i = 0;
    guint depth = 1;
    gboolean in_string = FALSE;
    gint64 commas = 0;

    while (i < len && g_ascii_isspace(body[i]))
        i++;
    if (i == len || body[i++] != '[')
        return -1;
    while (i < len && g_ascii_isspace(body[i]))
        i++;
    if (i < len && body[i] == ']')
        return 0;
    for (; i < len && depth > 0; i++) {
        guint8 c = body[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = FALSE;
        } else if (c == '"') {
            in_string = TRUE;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            depth--;
        } else if (c == ',' && depth == 1) {
            commas++;
        }
    }
    return commas + 1;
}

/* Reads one whole answer (Content-Length or chunked body) and consumes it from the buffer. */
static gboolean
read_answer(Conn *conn, Answer *out, GError **error)
{
    gssize line_end, header_end = -1;
    gsize pos;
    gboolean chunked = FALSE, have_length = FALSE;
    guint64 length = 0;
    g_autoptr(GByteArray) body = g_byte_array_new();
    g_autofree char *status_line = NULL;

    for (;;) {
        for (gsize i = 0; i + 3 < conn->buf->len; i++) {
            if (memcmp(conn->buf->data + i, "\r\n\r\n", 4) == 0) {
                header_end = (gssize)(i + 4);
                break;
            }
        }
        if (header_end >= 0)
            break;
        if (conn->buf->len > HEADER_MAX || !fill(conn)) {
            g_set_error(error, BENCH_ERROR, 0, "connection closed in headers");
            return FALSE;
        }
    }
    line_end = find_crlf(conn->buf, 0);
    status_line = g_strndup((const char *)conn->buf->data, (gsize)line_end - 2);
    if (!g_str_has_prefix(status_line, "HTTP/1.") || strlen(status_line) < 12) {
        g_set_error(error, BENCH_ERROR, 0, "bad status line '%s'", status_line);
        return FALSE;
    }
    out->status = (guint)g_ascii_strtoull(status_line + 9, NULL, 10);
    out->closed = FALSE;
    for (pos = (gsize)line_end; pos < (gsize)header_end - 2; pos = (gsize)line_end) {
        g_autofree char *line = NULL;
        char *colon;

        line_end = find_crlf(conn->buf, pos);
        line = g_strndup((const char *)conn->buf->data + pos, (gsize)line_end - 2 - pos);
        if (!(colon = strchr(line, ':')))
            continue;
        *colon = '\0';
        if (g_ascii_strcasecmp(line, "Content-Length") == 0) {
            if (!parse_size(colon + 1, 10, &length)) {
                g_set_error(error, BENCH_ERROR, 0, "bad Content-Length");
                return FALSE;
            }
            have_length = TRUE;
        } else if (g_ascii_strcasecmp(line, "Transfer-Encoding") == 0) {
            chunked = strstr(colon + 1, "chunked") != NULL;
        } else if (g_ascii_strcasecmp(line, "Connection") == 0) {
            out->closed = strstr(colon + 1, "close") != NULL;
        }
    }
    g_byte_array_remove_range(conn->buf, 0, (guint)header_end);

    if (chunked) {
        for (;;) {
            guint64 size = 0;
            g_autofree char *size_line = NULL;
            char *semi;

            while ((line_end = find_crlf(conn->buf, 0)) < 0) {
                if (!fill(conn)) {
                    g_set_error(error, BENCH_ERROR, 0, "closed in a chunk size");
                    return FALSE;
                }
            }
            size_line = g_strndup((const char *)conn->buf->data, (gsize)line_end - 2);
            if ((semi = strchr(size_line, ';')))
                *semi = '\0';
            if (!parse_size(size_line, 16, &size)) {
                g_set_error(error, BENCH_ERROR, 0, "bad chunk size");
                return FALSE;
            }
            while (conn->buf->len < (gsize)line_end + size + 2) {
                if (!fill(conn)) {
                    g_set_error(error, BENCH_ERROR, 0, "closed in a chunk");
                    return FALSE;
                }
            }
            g_byte_array_append(body, conn->buf->data + line_end, (guint)size);
            g_byte_array_remove_range(conn->buf, 0, (guint)((gsize)line_end + size + 2));
            if (size == 0)
                break; /* no trailers from the servers we measure */
        }
    } else if (have_length) {
        while (conn->buf->len < length) {
            if (!fill(conn)) {
                g_set_error(error, BENCH_ERROR, 0, "closed in the body");
                return FALSE;
            }
        }
        g_byte_array_append(body, conn->buf->data, (guint)length);
        g_byte_array_remove_range(conn->buf, 0, (guint)length);
    } else {
        g_set_error(error, BENCH_ERROR, 0,
                    "answer has neither Content-Length nor chunked encoding");
        return FALSE;
    }
    out->body_len = body->len;
    out->items = count_items(body->data, body->len);
    return TRUE;
}

/* Sends "GET @path" on the connection (reconnecting when it is closed) and reads the answer.
 * *@reconnects counts the connections opened after the first. */
static gboolean
round_trip(Conn *conn, const char *sock, const char *request, Answer *out, guint *reconnects,
           GError **error)
{
    if (conn->fd < 0) {
        if ((conn->fd = connect_unix(sock)) < 0) {
            g_set_error(error, BENCH_ERROR, 0, "connect %s: %s", sock, g_strerror(errno));
            return FALSE;
        }
        if (reconnects)
            (*reconnects)++;
    }
    if (!write_all(conn->fd, request, strlen(request))) {
        g_set_error(error, BENCH_ERROR, 0, "write: %s", g_strerror(errno));
        return FALSE;
    }
    if (!read_answer(conn, out, error))
        return FALSE;
    if (out->closed)
        conn_close(conn);
    return TRUE;
}

static int
cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @v (q in 0..1). */
static double
percentile_ms(const gint64 *v, gsize n, double q)
{
    gsize rank = (gsize)ceil(q * (double)n);

    if (rank < 1)
        rank = 1;
    return (double)v[rank - 1] / 1e6;
}

static void
print_stats(GArray *times)
{
    gint64 *v = (gint64 *)times->data;
    gsize n = times->len;
    double sum = 0, mean, var = 0;

    qsort(v, n, sizeof(gint64), cmp_i64);
    for (gsize i = 0; i < n; i++)
        sum += (double)v[i];
    mean = sum / (double)n;
    for (gsize i = 0; i < n; i++)
        var += ((double)v[i] - mean) * ((double)v[i] - mean);
    printf(" mean_ms=%.3f median_ms=%.3f p50_ms=%.3f p99_ms=%.3f min_ms=%.3f max_ms=%.3f"
           " stddev_ms=%.3f\n",
           mean / 1e6, percentile_ms(v, n, 0.5), percentile_ms(v, n, 0.5),
           percentile_ms(v, n, 0.99), (double)v[0] / 1e6, (double)v[n - 1] / 1e6,
           sqrt(n > 1 ? var / (double)(n - 1) : 0) / 1e6);
}

static guint
parse_count(const char *text, const char *what, guint min)
{
    guint64 value = 0;

    if (!g_ascii_string_to_unsigned(text, 10, min, 10000000, &value, NULL))
        die("%s: '%s' is not a number >= %u", what, text, min);
    return (guint)value;
}

static int
cmd_http(const char *sock, const char *path, guint count, guint warmup)
{
    g_autofree char *request =
        g_strdup_printf("GET %s HTTP/1.1\r\nHost: wirt\r\nAccept: application/json\r\n\r\n", path);
    g_autoptr(GArray) times = g_array_sized_new(FALSE, FALSE, sizeof(gint64), count);
    g_autoptr(GByteArray) buf = g_byte_array_new();
    Conn conn = {.fd = -1, .buf = buf};
    gint64 items = -2;
    gsize bytes = 0;
    guint reconnects = 0;

    for (guint i = 0; i < warmup + count; i++) {
        g_autoptr(GError) error = NULL;
        Answer answer = {0};
        gint64 start = now_ns(CLOCK_MONOTONIC), elapsed;

        if (!round_trip(&conn, sock, request, &answer, &reconnects, &error))
            die("request %u: %s", i + 1, error->message);
        elapsed = now_ns(CLOCK_MONOTONIC) - start;
        if (answer.status != 200)
            die("request %u: GET %s answered %u", i + 1, path, answer.status);
        if (items == -2)
            items = answer.items;
        else if (answer.items != items)
            die("request %u: %" G_GINT64_FORMAT " items, the first answer had %" G_GINT64_FORMAT,
                i + 1, answer.items, items);
        bytes = answer.body_len;
        if (i >= warmup)
            g_array_append_val(times, elapsed);
    }
    conn_close(&conn);
    printf("requests=%u warmup=%u items=%" G_GINT64_FORMAT " bytes=%zu reconnects=%u", count,
           warmup, items, bytes, reconnects - 1);
    print_stats(times);
    return 0;
}

static int
cmd_wait(const char *sock, guint timeout_ms, pid_t pid)
{
    const char *request = "GET /1.0 HTTP/1.1\r\nHost: wirt\r\nConnection: close\r\n\r\n";
    gint64 deadline = now_ns(CLOCK_MONOTONIC) + (gint64)timeout_ms * 1000000;
    g_autoptr(GByteArray) buf = g_byte_array_new();

    while (now_ns(CLOCK_MONOTONIC) < deadline) {
        g_autoptr(GError) error = NULL;
        Conn conn = {.fd = -1, .buf = buf};
        Answer answer = {0};
        gboolean ok = round_trip(&conn, sock, request, &answer, NULL, &error);

        conn_close(&conn);
        if (ok && answer.status == 200) {
            printf("ready_realtime_ns=%" G_GINT64_FORMAT "\n", now_ns(CLOCK_REALTIME));
            return 0;
        }
        if (kill(pid, 0) < 0 && errno == ESRCH)
            die("process %d exited before %s answered", (int)pid, sock);
        g_usleep(2000);
    }
    die("%s did not answer in %u ms", sock, timeout_ms);
}

static int
cmd_exec(guint runs, guint warmup, char **argv)
{
    g_autoptr(GArray) times = g_array_sized_new(FALSE, FALSE, sizeof(gint64), runs);
    g_auto(BenchFd) null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (null_fd < 0)
        die("/dev/null: %s", g_strerror(errno));
    for (guint i = 0; i < warmup + runs; i++) {
        gint64 start = now_ns(CLOCK_MONOTONIC), elapsed;
        int status = 0;
        pid_t pid = fork();

        if (pid < 0)
            die("fork: %s", g_strerror(errno));
        if (pid == 0) {
            dup2(null_fd, 0);
            dup2(null_fd, 1);
            dup2(null_fd, 2);
            execvp(argv[0], argv);
            _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR)
                die("waitpid: %s", g_strerror(errno));
        }
        elapsed = now_ns(CLOCK_MONOTONIC) - start;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("run %u of %s failed (status 0x%x)", i + 1, argv[0], (unsigned)status);
        if (i >= warmup)
            g_array_append_val(times, elapsed);
    }
    printf("runs=%u warmup=%u", runs, warmup);
    print_stats(times);
    return 0;
}

static void G_GNUC_NORETURN
usage(void)
{
    fputs("usage: wirt-bench http SOCKET PATH COUNT WARMUP\n"
          "       wirt-bench wait SOCKET TIMEOUT_MS PID\n"
          "       wirt-bench exec RUNS WARMUP -- COMMAND [ARG...]\n",
          stderr);
    exit(2);
}

int
main(int argc, char **argv)
{
    guint64 pid = 0;

    signal(SIGPIPE, SIG_IGN); /* a closed connection is an error we report, not a death */
    if (argc == 6 && g_str_equal(argv[1], "http"))
        return cmd_http(argv[2], argv[3], parse_count(argv[4], "COUNT", 1),
                        parse_count(argv[5], "WARMUP", 0));
    if (argc == 5 && g_str_equal(argv[1], "wait")) {
        if (!g_ascii_string_to_unsigned(argv[4], 10, 1, G_MAXINT, &pid, NULL))
            die("PID: '%s' is not a process id", argv[4]);
        return cmd_wait(argv[2], parse_count(argv[3], "TIMEOUT_MS", 1), (pid_t)pid);
    }
    if (argc >= 6 && g_str_equal(argv[1], "exec") && g_str_equal(argv[4], "--"))
        return cmd_exec(parse_count(argv[2], "RUNS", 1), parse_count(argv[3], "WARMUP", 0),
                        argv + 5);
    usage();
}
