/* wirt-virt-private.h: what the files of src/virt share (not for other layers). */
#pragma once

#include <libvirt/libvirt.h>

#include "wirt-virt.h"

G_BEGIN_DECLS

virConnectPtr wirt_conn_get_virt(WirtConn *conn);
void wirt_conn_set_error(WirtConn *conn, GError **error, const char *what);

G_END_DECLS
