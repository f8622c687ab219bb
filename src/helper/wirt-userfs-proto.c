/* wirt-userfs-proto.c: framing of the messages between wirtd and wirt-userfs. */
#include "wirt-userfs-proto.h"

#include <errno.h>
#include <sys/socket.h>

#include "core/wirt-error.h"

GBytes *
wirt_userfs_encode(const char *op, GVariant *args)
{
    g_autoptr(GVariant) msg = g_variant_ref_sink(g_variant_new("(s@a{sv})", op, args));

    return g_variant_get_data_as_bytes(msg);
}

gboolean
wirt_userfs_decode(const guint8 *data, gsize len, char **out_op, GVariant **out_args,
                   GError **error)
{
    g_autoptr(GBytes) bytes = g_bytes_new(data, len);
    g_autoptr(GVariant) msg =
        g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE("(sa{sv})"), bytes, FALSE));

    /* Untrusted bytes: GVariant never reads outside them, and a malformed
     * message reads as defaults; the normal-form check refuses it outright. */
    if (!g_variant_is_normal_form(msg)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "userfs: malformed message (%zu bytes)",
                    len);
        return FALSE;
    }
    g_variant_get(msg, "(s@a{sv})", out_op, out_args);
    return TRUE;
}

int
wirt_userfs_recv(int fd, guint8 **out_data, gsize *out_len)
{
    ssize_t size;
    g_autofree guint8 *buf = NULL;

    *out_data = NULL;
    *out_len = 0;
    do
        size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
    while (size < 0 && errno == EINTR);
    if (size < 0)
        return -1;
    if (size > WIRT_USERFS_MSG_MAX) {
        (void)recv(fd, NULL, 0, 0); /* drop it */
        errno = EMSGSIZE;
        return -1;
    }
    buf = g_malloc(size ? (gsize)size : 1);
    do
        size = recv(fd, buf, (gsize)size, 0);
    while (size < 0 && errno == EINTR);
    if (size < 0)
        return -1;
    if (size == 0) {
        /* EOF, or an empty datagram (never sent): either way the peer is done. */
        return 0;
    }
    *out_data = g_steal_pointer(&buf);
    *out_len = (gsize)size;
    return 1;
}
