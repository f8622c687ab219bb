/* wirt-util.h: small helpers shared by every part of wirt (no libvirt, no libsoup). */
#pragma once

#include <glib.h>
#include <unistd.h>

G_BEGIN_DECLS

/* GLib 2.74 has no g_autofd: g_auto(WirtFd) fd = -1; closes on scope exit. */
typedef int WirtFd;
static inline void
wirt_fd_close(WirtFd fd)
{
    if (fd >= 0)
        close(fd);
}
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(WirtFd, wirt_fd_close, -1)

gboolean wirt_util_parse_uint64(const char *text, guint64 min, guint64 max, guint64 *out_value,
                                GError **error);
gboolean wirt_util_write_all(int fd, const char *buf, gsize len, GError **error);
char *wirt_util_iso8601_now(void);
void wirt_util_secure_free(char *secret);
/* getrandom(2) bytes; aborts only if the kernel cannot give any (never on Linux >= 3.17). */
void wirt_util_random_bytes(guint8 *buf, gsize len);
/* @n_bytes random bytes as unpadded base64url: a session id, a CSRF token, a secret. */
char *wirt_util_random_token(gsize n_bytes);
/* Equality of two secrets that does not stop at the first differing byte. */
gboolean wirt_util_secret_equal(const char *a, const char *b);
/* Every group id of @user (NSS getgrouplist), @primary included: (transfer full) an
 * array of guint32; empty when NSS gives nothing. */
GArray *wirt_util_group_ids(const char *user, guint32 primary);

G_END_DECLS
