/* wirt-net.h: libvirt networks for wirt (MISSION V4, E12; issue 3), as pure data.
 *
 * A network is named by its owner and a short name like a VM ("alice" + "lab" ->
 * libvirt network "wirt-alice.lab"); admins' networks from the config have no owner
 * ("wirt-lab"). The bridge name is derived from the libvirt name (a hash: the kernel
 * allows 15 bytes). Addresses are IPv4 for now.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WIRT_NET_META_NS "https://wirt.dev/xmlns/net/1"

typedef enum {
    WIRT_NET_ISOLATED, /* no <forward>: guests reach each other and the host only */
    WIRT_NET_NAT,      /* <forward mode='nat'/> */
    WIRT_NET_ROUTE,    /* <forward mode='route'/> */
    WIRT_NET_DIRECT,   /* macvtap on a host device (a "public network"); admins' only */
} WirtNetMode;

const char *wirt_net_mode_to_string(WirtNetMode mode);
gboolean wirt_net_mode_from_string(const char *text, WirtNetMode *out_mode);

/* A fixed address: a DHCP host reservation (static addressing, `--ip`). */
typedef struct {
    char *mac;  /* "52:54:00:12:34:56" */
    char *ip;   /* inside the subnet, not the gateway */
    char *name; /* (nullable) the VM's name, for dnsmasq's host name */
} WirtNetHost;

typedef struct {
    char *owner; /* NULL: an admin's network from the config */
    char *name;  /* the short name (VM-name grammar) */
    WirtNetMode mode;
    char *subnet; /* "10.77.0.0/24": the host takes .1, DHCP hands out .2 .. last-1 */
    gboolean dhcp;
    GPtrArray *hosts;  /* WirtNetHost*, may be NULL */
    char *device;      /* DIRECT: the host's interface ("eth0") */
    char *direct_mode; /* DIRECT: bridge (default), vepa, private or passthrough */
} WirtNetSpec;

void wirt_net_host_free(WirtNetHost *host);
void wirt_net_spec_clear(WirtNetSpec *spec);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtNetSpec, wirt_net_spec_clear)

/* "10.77.0.0/24" -> network and prefix (8..30, no host bits set). */
gboolean wirt_net_parse_subnet(const char *text, guint32 *out_network, guint *out_prefix,
                               GError **error);
/* "52:54:00:ab:cd:ef": six lowercase or uppercase hex pairs, unicast, not all zero. */
gboolean wirt_net_mac_validate(const char *mac, GError **error);
/* A random MAC in QEMU's 52:54:00 range. */
char *wirt_net_mac_generate(void);
/* "wirt-OWNER.NAME" or "wirt-NAME". */
char *wirt_net_libvirt_name(const char *owner, const char *name);
/* "wbr" + 12 hex digits of a hash of the libvirt name: 15 bytes, as the kernel allows. */
char *wirt_net_bridge_name(const char *libvirt_name);
/* The <host mac name ip/> element of one reservation for virNetworkUpdate(), after the
 * checks wirt_net_xml_build() makes (a free address of @subnet, a MAC, a VM name). */
char *wirt_net_host_xml(const WirtNetHost *host, const char *subnet, GError **error);
/* A host interface name for a DIRECT network: 1 to 15 of letters, digits, '.', '_', '-'. */
gboolean wirt_net_device_validate(const char *device, GError **error);
/* bridge, vepa, private or passthrough (libvirt's macvtap modes); NULL is fine (bridge). */
gboolean wirt_net_direct_mode_validate(const char *mode, GError **error);
/* The <network> XML, or INVALID with a reason. */
char *wirt_net_xml_build(const WirtNetSpec *spec, GError **error);

G_END_DECLS
