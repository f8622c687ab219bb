/* wirt-userfs-proto.h: the messages between wirtd (src/spool) and wirt-userfs.
 *
 * One message per SOCK_SEQPACKET datagram: a GVariant "(sa{sv})" in normal
 * form: an operation name and its named arguments. Both sides check every
 * field's type on receipt (g_variant_lookup with a format), so a confused or
 * compromised peer gets a refusal, not a crash.
 *
 * wirtd -> wirt-userfs
 *   attach   uid u, gid u, groups au, user s, home s: watch this member's trees, scan them
 *   detach   uid u
 *   rescan   (nothing): scan every attached member again (the safety net)
 *   info     uid u, items a(sayay): (VM, status.json, settings.json) to write into
 *            info/vm/VM/ (an empty one is removed)
 *   append   uid u, log s ("history"|"vm"), vm s, line s
 *   done     uid u, layout s ("wirt"|"legacy"), vm s, taken s, action s, ok b, message s
 * wirt-userfs -> wirtd
 *   command  uid u, layout s, vm s, action s, taken s, mtime x (ns), data ay, error s ("" = ok)
 *   problem  uid u, message s: something the member should be told (bad name, symlink, ...)
 *   tree     uid u: ~/DIR appeared (or was first seen): fill its info/
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WIRT_USERFS_MSG_MAX (2 * 1024 * 1024)
#define WIRT_USERFS_TAKEN_PREFIX ".wirt-taken."

/* (transfer full): the wire bytes of one message; @args (a{sv}) is sunk. */
GBytes *wirt_userfs_encode(const char *op, GVariant *args);
/* Parses one datagram. (transfer full) @out_args is an a{sv}. */
gboolean wirt_userfs_decode(const guint8 *data, gsize len, char **out_op, GVariant **out_args,
                            GError **error);
/* Receives one datagram from a SOCK_SEQPACKET fd: 1 = got one, 0 = EOF, -1 = error
 * (errno EAGAIN when non-blocking and nothing is there). (transfer full) @out_data. */
int wirt_userfs_recv(int fd, guint8 **out_data, gsize *out_len);

G_END_DECLS
