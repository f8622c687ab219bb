/* wirt-audit.c: the history file: append-only JSON lines. */
#include "wirt-audit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/wirt-error.h"
#include "util/wirt-util.h"

struct _WirtAudit {
    char *path;
    int fd;
};

/**
 * wirt_audit_open:
 * @path: the global history file; its directory is created (0750) if missing
 * Returns: (transfer full) (nullable): the writer, or %NULL with @error set.
 */
WirtAudit *
wirt_audit_open(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    WirtAudit *audit;
    int fd;

    if (g_mkdir_with_parents(dir, 0750) < 0) {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot create %s: %s", dir,
                    g_strerror(saved));
        return NULL;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot open history %s: %s", path,
                    g_strerror(saved));
        return NULL;
    }
    audit = g_new0(WirtAudit, 1);
    audit->path = g_strdup(path);
    audit->fd = fd;
    return audit;
}

/**
 * wirt_audit_free:
 * @audit: (nullable): the writer
 */
void
wirt_audit_free(WirtAudit *audit)
{
    if (!audit)
        return;
    if (audit->fd >= 0)
        close(audit->fd);
    g_free(audit->path);
    g_free(audit);
}

/**
 * wirt_audit_append:
 * Returns: %TRUE when the line was written, else %FALSE with @error set.
 */
gboolean
wirt_audit_append(WirtAudit *audit, const WirtHistoryRecord *rec, GError **error)
{
    g_autofree char *line = wirt_history_record_to_line(rec);
    g_autofree char *with_nl = g_strconcat(line, "\n", NULL);

    return wirt_util_write_all(audit->fd, with_nl, strlen(with_nl), error);
}

/**
 * wirt_audit_read:
 * @max_bytes: read at most this much from the end of the file
 * @func: called for each well-formed record; return %FALSE to stop
 * Returns: %TRUE, or %FALSE with @error when the file cannot be read.
 * Malformed lines (a torn last line after a crash) are skipped.
 */
gboolean
wirt_audit_read(WirtAudit *audit, gsize max_bytes,
                gboolean (*func)(const WirtHistoryRecord *rec, gpointer data), gpointer data,
                GError **error)
{
    g_auto(WirtFd) fd = open(audit->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    g_autofree char *buf = NULL;
    gsize want, got = 0;
    off_t start;
    char *line, *next;

    if (fd < 0 || fstat(fd, &st) < 0) {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot read history %s: %s", audit->path,
                    g_strerror(saved));
        return FALSE;
    }
    want = MIN((gsize)st.st_size, max_bytes);
    start = st.st_size - (off_t)want;
    buf = g_malloc(want + 1);
    while (got < want) {
        ssize_t n = pread(fd, buf + got, want - got, start + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (gsize)n;
    }
    buf[got] = '\0';
    line = buf;
    if (start > 0) { /* we began mid-line: skip to the first whole one */
        line = strchr(buf, '\n');
        line = line ? line + 1 : buf + got;
    }
    for (; line && *line; line = next) {
        g_auto(WirtHistoryRecord) rec = {0};

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!wirt_history_record_from_line(line, &rec, NULL))
            continue;
        if (!func(&rec, data))
            break;
    }
    return TRUE;
}
