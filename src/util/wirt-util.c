/* wirt-util.c: small helpers shared by every part of wirt. */
#include "wirt-util.h"

#include <errno.h>
#include <string.h>

/**
 * wirt_util_parse_uint64:
 * @text: decimal digits only, no sign, no spaces
 * @min: smallest accepted value
 * @max: largest accepted value
 * @out_value: (out): set only on success
 * Returns: %TRUE, or %FALSE with a %G_NUMBER_PARSER_ERROR @error.
 *
 * util sits below core, so it reports in GLib's own error domains; callers
 * that show the error to someone turn it into a WIRT_ERROR with context.
 */
gboolean
wirt_util_parse_uint64(const char *text, guint64 min, guint64 max, guint64 *out_value,
                       GError **error)
{
    guint64 value = 0;

    if (!g_ascii_string_to_unsigned(text ? text : "", 10, min, max, &value, error))
        return FALSE;
    *out_value = value;
    return TRUE;
}

/**
 * wirt_util_write_all:
 * @fd: an open file descriptor
 * @buf: the bytes to write
 * @len: how many
 * Returns: %TRUE when every byte was written, or %FALSE with a %G_FILE_ERROR @error.
 */
gboolean
wirt_util_write_all(int fd, const char *buf, gsize len, GError **error)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "write failed: %s",
                        g_strerror(saved));
            return FALSE;
        }
        buf += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/**
 * wirt_util_iso8601_now:
 * Returns: (transfer full): the current UTC time as ISO 8601 with microseconds.
 */
char *
wirt_util_iso8601_now(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();

    return g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ"); /* %f: microseconds */
}

/**
 * wirt_util_secure_free:
 * @secret: (transfer full) (nullable): a password or token to wipe, then free
 */
void
wirt_util_secure_free(char *secret)
{
    if (!secret)
        return;
    explicit_bzero(secret, strlen(secret));
    g_free(secret);
}
