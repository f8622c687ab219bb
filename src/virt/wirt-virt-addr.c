/* wirt-virt-addr.c: a running VM's addresses from libvirt's three sources.
 *
 * One virDomainInterfaceAddresses() call per source asked for; the answers are
 * merged by wirt_addr_list_add(), which also checks each entry (the agent's
 * answer is the guest's word). The agent source fails whenever the domain has
 * no guest agent channel or the agent does not answer: that is not an error.
 */
#include "wirt-virt-addr.h"

#include <stdlib.h>

#include "core/wirt-error.h"
#include "wirt-virt-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

static const struct {
    WirtAddrSource source;
    unsigned int virt_source;
} sources_table[] = {
    {WIRT_ADDR_SOURCE_LEASE, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE},
    {WIRT_ADDR_SOURCE_ARP, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP},
    {WIRT_ADDR_SOURCE_AGENT, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT},
};

/* Adds every address of one answer; malformed or surplus entries are skipped. */
static void
add_answer(WirtAddrList *list, WirtAddrSource source, virDomainInterfacePtr *ifaces, int n)
{
    for (int i = 0; i < n; i++) {
        const virDomainInterface *iface = ifaces[i];

        for (unsigned int j = 0; j < iface->naddrs; j++) {
            const virDomainIPAddress *ip = &iface->addrs[j];

            if (ip->prefix > 128)
                continue;
            /* A bad entry from the guest spoils neither the others nor the answer. */
            (void)wirt_addr_list_add(list, source, iface->hwaddr, ip->addr, ip->prefix, NULL);
        }
    }
}

/**
 * wirt_virt_vm_addresses:
 * @conn: a connection taken on the main loop
 * @uuid: the domain
 * @sources: the WirtAddrSource bits to ask (one RPC each)
 *
 * Worker: blocking RPCs. The guest agent's failure is ignored; the lease and ARP
 * sources fail only together with the domain (gone, not running, host down).
 * Returns: (transfer full) (nullable): the merged addresses (maybe none), or
 * %NULL with %WIRT_ERROR_CONFLICT when the domain does not run, NOT_FOUND when it
 * is gone, or what libvirt said.
 */
WirtAddrList *
wirt_virt_vm_addresses(WirtConn *conn, const char *uuid, guint sources, GError **error)
{
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(wirt_conn_get_virt(conn), uuid);
    g_autoptr(WirtAddrList) list = wirt_addr_list_new();
    g_autoptr(GError) first_error = NULL;
    gboolean any = FALSE;
    int active;

    if (!dom) {
        g_autofree char *what = g_strdup_printf("vm %s: cannot look it up", uuid);
        wirt_conn_set_error(conn, error, "%s", what);
        return NULL;
    }
    if ((active = virDomainIsActive(dom)) < 0) {
        g_autofree char *what = g_strdup_printf("vm %s: cannot read its state", uuid);
        wirt_conn_set_error(conn, error, "%s", what);
        return NULL;
    }
    if (!active) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "domain %s: not running", uuid);
        return NULL;
    }
    for (gsize s = 0; s < G_N_ELEMENTS(sources_table); s++) {
        virDomainInterfacePtr *ifaces = NULL;
        int n;

        if (!(sources & sources_table[s].source))
            continue;
        n = virDomainInterfaceAddresses(dom, &ifaces, sources_table[s].virt_source, 0);
        if (n < 0) {
            if (sources_table[s].source != WIRT_ADDR_SOURCE_AGENT && !first_error) {
                g_autofree char *what =
                    g_strdup_printf("vm %s: cannot read its addresses (%s)", uuid,
                                    wirt_addr_source_to_string(sources_table[s].source));
                wirt_conn_set_error(conn, &first_error, "%s", what);
            }
            continue;
        }
        any = TRUE;
        add_answer(list, sources_table[s].source, ifaces, n);
        for (int i = 0; i < n; i++)
            virDomainInterfaceFree(ifaces[i]);
        free(ifaces);
    }
    if (!any && first_error) {
        g_propagate_error(error, g_steal_pointer(&first_error));
        return NULL;
    }
    return g_steal_pointer(&list);
}
