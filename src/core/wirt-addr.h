/* wirt-addr.h: a running VM's addresses, merged from libvirt's sources (issue 3).
 *
 * libvirt answers virDomainInterfaceAddresses() once per source: the network's
 * DHCP leases, the guest agent, the host's ARP table. Each answer lists
 * interfaces (MAC) and their addresses; wirt merges them per MAC and address,
 * and each address says which sources reported it. Pure: no libvirt, no I/O.
 *
 * The guest agent's answer is the guest's own word (Proxmox CVE-2024-21545 came
 * from trusting it): every entry is checked here (MAC and address syntax,
 * prefix range, a cap on the count), and wirt_addr_list_pick_ssh() never dials
 * an address that only the agent reported.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The most addresses one VM may report in all (more are ignored). */
#define WIRT_ADDR_MAX 64

typedef enum {
    WIRT_ADDR_SOURCE_LEASE = 1 << 0, /* the libvirt network's DHCP leases (host side) */
    WIRT_ADDR_SOURCE_AGENT = 1 << 1, /* the QEMU guest agent (the guest's word) */
    WIRT_ADDR_SOURCE_ARP = 1 << 2,   /* the host's neighbour table */
} WirtAddrSource;

#define WIRT_ADDR_SOURCES_ALL                                                                      \
    (WIRT_ADDR_SOURCE_LEASE | WIRT_ADDR_SOURCE_AGENT | WIRT_ADDR_SOURCE_ARP)

typedef enum {
    WIRT_ADDR_FAMILY_IPV4,
    WIRT_ADDR_FAMILY_IPV6,
} WirtAddrFamily;

typedef struct {
    char *mac;    /* (nullable) lowercase "52:54:00:…"; NULL when the source gave none */
    char *ip;     /* canonical text form (inet_ntop) */
    guint prefix; /* 0: unknown (ARP reports none) */
    WirtAddrFamily family;
    guint sources; /* WirtAddrSource bits */
} WirtAddr;

typedef struct _WirtAddrList WirtAddrList;

/* "lease", "agent", "arp" for one bit; NULL for anything else. */
const char *wirt_addr_source_to_string(WirtAddrSource source);

WirtAddrList *wirt_addr_list_new(void);
void wirt_addr_list_free(WirtAddrList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtAddrList, wirt_addr_list_free)

gboolean wirt_addr_list_add(WirtAddrList *list, WirtAddrSource source, const char *mac,
                            const char *ip, guint prefix, GError **error);
guint wirt_addr_list_length(const WirtAddrList *list);
/* (transfer none): the @index'th address, in the list's sorted order. */
const WirtAddr *wirt_addr_list_get(const WirtAddrList *list, guint index);
gboolean wirt_addr_list_equal(const WirtAddrList *a, const WirtAddrList *b);
WirtAddrList *wirt_addr_list_copy(const WirtAddrList *list);
JsonNode *wirt_addr_list_to_json(const WirtAddrList *list);
const WirtAddr *wirt_addr_list_pick_ssh(const WirtAddrList *list);

G_END_DECLS
