/* wirt-util.c: small helpers shared by every part of wirt. */
#include "wirt-util.h"

#include <errno.h>
#include <string.h>

#include "core/wirt-error.h"

/**
 * wirt_util_parse_uint64:
 * @text: decimal digits only, no sign, no spaces
 * @min: smallest accepted value
 * @max: largest accepted value
 * @out_value: (out): set only on success
 * Returns: %TRUE, or %FALSE with a %WIRT_ERROR_INVALID @error naming the value.
 */
gboolean
wirt_util_parse_uint64(const char *text, guint64 min, guint64 max, guint64 *out_value,
                       GError **error)
{
    guint64 value = 0;
    g_autoptr(GError) local = NULL;

    if (!text || !g_ascii_string_to_unsigned(text, 10, min, max, &value, &local)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "'%s' is not a whole number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                    text ? text : "", min, max);
        return FALSE;
    }
    *out_value = value;
    return TRUE;
}

/**
 * wirt_util_write_all:
 * @fd: an open file descriptor
 * @buf: the bytes to write
 * @len: how many
 * Returns: %TRUE when every byte was written, or %FALSE with @error set.
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
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "write failed: %s",
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
 * Returns: (transfer full): the current UTC time as ISO 8601 with milliseconds.
 */
char *
wirt_util_iso8601_now(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();

    return g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ") /* %f is microseconds */;
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
