/* wirt-virt-private.h: what the files of src/virt share (not for other layers). */
#pragma once

#include <libvirt/libvirt.h>

#include "wirt-virt.h"

G_BEGIN_DECLS

virConnectPtr wirt_conn_get_virt(WirtConn *conn);
void wirt_conn_set_error(WirtConn *conn, GError **error, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
int wirt_virt_last_error_code(void);

/* wirt-virt.c */
const char *wirt_conn_get_node(WirtConn *conn);
/* (transfer full): a fresh snapshot of @dom (state, sizes, autostart, wirt metadata). */
WirtVm *wirt_virt_snapshot(WirtConn *conn, virDomainPtr dom, GError **error);

/* wirt-virt-create.c */
char *wirt_virt_vm_volume_name(const char *domain, gboolean seed);
const char *wirt_virt_domain_type(WirtConn *conn, const char *wanted);
WirtVm *wirt_virt_define_box_vm(WirtConn *conn, const WirtVmSpec *spec, const WirtMeta *meta,
                                GError **error);
void wirt_virt_vm_release_addresses(WirtConn *conn, const char *xml);

G_END_DECLS
