/* wirt-util.c: small helpers shared by every part of wirt. */
#include "wirt-util.h"

#include <grp.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>

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

/**
 * wirt_util_random_bytes:
 * @buf: (out caller-allocates): where to put them
 * @len: how many
 *
 * Fills @buf from the kernel's CSPRNG, retrying on EINTR.
 */
void
wirt_util_random_bytes(guint8 *buf, gsize len)
{
    gsize got = 0;

    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            g_error("getrandom: %s", g_strerror(errno)); /* no randomness: nothing safe to do */
        got += (gsize)n;
    }
}

/**
 * wirt_util_random_token:
 * @n_bytes: how much randomness (32 for 256 bits)
 * Returns: (transfer full): unpadded base64url text; wipe it with wirt_util_secure_free().
 */
char *
wirt_util_random_token(gsize n_bytes)
{
    g_autofree guint8 *raw = g_malloc(n_bytes);
    char *text;

    wirt_util_random_bytes(raw, n_bytes);
    text = g_base64_encode(raw, n_bytes);
    explicit_bzero(raw, n_bytes);
    g_strdelimit(text, "+", '-');
    g_strdelimit(text, "/", '_');
    g_strdelimit(text, "=", '\0');
    return text;
}

/**
 * wirt_util_secret_equal:
 * @a: (nullable): a secret
 * @b: (nullable): another
 * Returns: %TRUE when both are set and equal, compared in constant time for
 * strings of the same length.
 */
gboolean
wirt_util_secret_equal(const char *a, const char *b)
{
    gsize len;
    unsigned char diff = 0;

    if (!a || !b || (len = strlen(a)) != strlen(b))
        return FALSE;
    for (gsize i = 0; i < len; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/**
 * wirt_util_group_ids:
 * Returns: (transfer full) (element-type guint32): @user's groups, however many there are
 * (getgrouplist() says when its buffer is too small; four tries at growing sizes).
 */
GArray *
wirt_util_group_ids(const char *user, guint32 primary)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(guint32));
    g_autofree gid_t *gids = NULL;
    int n = 64;

    for (int tries = 0; tries < 4; tries++) {
        g_free(gids);
        gids = g_new(gid_t, n);
        if (getgrouplist(user, (gid_t)primary, gids, &n) >= 0)
            break;
        n = MAX(n, 64) * 2;
        if (tries == 3)
            n = 0;
    }
    for (int i = 0; i < n; i++) {
        guint32 g = gids[i];
        g_array_append_val(out, g);
    }
    return out;
}
