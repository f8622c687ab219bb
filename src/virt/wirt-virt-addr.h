/* wirt-virt-addr.h: a running VM's addresses from libvirt (virDomainInterfaceAddresses). */
#pragma once

#include "core/wirt-addr.h"
#include "wirt-virt.h"

G_BEGIN_DECLS

WirtAddrList *wirt_virt_vm_addresses(WirtConn *conn, const char *uuid, guint sources,
                                     GError **error);

G_END_DECLS
