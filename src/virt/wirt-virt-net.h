/* wirt-virt-net.h: wirt's networks as libvirt networks (issue 3, E12).
 *
 * libvirt is the only record: a network is "wirt-OWNER.NAME" (a user's) or
 * "wirt-NAME" (an admins' network from the config), with owner, name and mode
 * in <metadata><net xmlns=WIRT_NET_META_NS/>. libvirt's own networks (such as
 * "default") are never listed, started or touched.
 *
 * Every function here does blocking RPCs: call it from a GTask worker.
 */
#pragma once

#include <glib.h>

#include "core/wirt-net.h"
#include "wirt-virt.h"

G_BEGIN_DECLS

/* One wirt network as a host's libvirt reports it. */
typedef struct {
    char *libvirt_name; /* "wirt-alice.lab" */
    char *owner;        /* (nullable): NULL for an admins' network */
    char *name;         /* the short name */
    WirtNetMode mode;
    char *subnet; /* "10.77.0.0/24", from <ip address netmask|prefix> */
    char *bridge; /* (nullable) */
    gboolean dhcp;
    gboolean active;
} WirtVirtNet;

void wirt_virt_net_free(WirtVirtNet *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtVirtNet, wirt_virt_net_free)

/* Any thread. Parses a network's XML; NULL when it is not a wirt network. */
WirtVirtNet *wirt_virt_net_parse(const char *xml);

/* (transfer container) (element-type WirtVirtNet): every wirt network of the host. */
GPtrArray *wirt_virt_net_list(WirtConn *conn, GError **error);
/* Defines @xml, starts it and marks it autostart; on a failure to start, undefines it
 * again. CONFLICT when a network of that name exists already. With @may_exist (admins'
 * networks, defined on demand), an existing network is started if it is not running. */
gboolean wirt_virt_net_create(WirtConn *conn, const char *libvirt_name, const char *xml,
                              gboolean may_exist, GError **error);
/* Destroys (if running) and undefines; NOT_FOUND when there is no such network. */
gboolean wirt_virt_net_delete(WirtConn *conn, const char *libvirt_name, GError **error);
/* (transfer full) (nullable): the name of a domain of the host whose live or persistent
 * config has an interface on @libvirt_name, or NULL (also on errors, with @error set). */
char *wirt_virt_net_user(WirtConn *conn, const char *libvirt_name, GError **error);

G_END_DECLS
