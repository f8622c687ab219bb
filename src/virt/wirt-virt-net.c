/* wirt-virt-net.c: wirt's networks as libvirt networks (see wirt-virt-net.h).
 *
 * The list is read back from libvirt each time (virConnectListAllNetworks and
 * each network's XML), so nothing is kept in wirtd that libvirt could contradict.
 * A network whose name starts with "wirt-" but has no wirt metadata is not ours
 * and is ignored, like every other libvirt network.
 */
#include "wirt-virt-net.h"
#include "wirt-virt-private.h"

#include <arpa/inet.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "core/wirt-error.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNetwork, virNetworkFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

#define NET_PREFIX "wirt-"

/**
 * wirt_virt_net_free:
 * @net: (nullable) (transfer full): a network
 */
void
wirt_virt_net_free(WirtVirtNet *net)
{
    if (!net)
        return;
    g_free(net->libvirt_name);
    g_free(net->owner);
    g_free(net->name);
    g_free(net->subnet);
    g_free(net->bridge);
    g_free(net);
}

static void
net_free_cb(gpointer data)
{
    wirt_virt_net_free(data);
}

typedef struct {
    WirtVirtNet *net;
    gboolean have_meta;
    int depth;
    gboolean in_metadata;
    char *address;
    char *netmask;
    int prefix;
} ParseState;

static const char *
attr(const char **names, const char **values, const char *key)
{
    for (int i = 0; names[i]; i++)
        if (g_str_equal(names[i], key))
            return values[i];
    return NULL;
}

static void
on_start(GMarkupParseContext *context G_GNUC_UNUSED, const char *element, const char **names,
         const char **values, gpointer user_data, GError **error G_GNUC_UNUSED)
{
    ParseState *st = user_data;
    const char *local = strchr(element, ':') ? strchr(element, ':') + 1 : element;

    st->depth++;
    if (st->depth == 2 && g_str_equal(element, "name") && !st->net->libvirt_name)
        st->net->libvirt_name = g_strdup(""); /* filled by on_text */
    if (st->depth == 2 && g_str_equal(element, "metadata"))
        st->in_metadata = TRUE;
    if (st->in_metadata && st->depth == 3 && g_str_equal(local, "net")) {
        const char *ns = NULL, *mode = attr(names, values, "mode");

        for (int i = 0; names[i]; i++)
            if (g_str_has_prefix(names[i], "xmlns"))
                ns = values[i];
        if (g_strcmp0(ns, WIRT_NET_META_NS) == 0 && attr(names, values, "name")) {
            st->have_meta = TRUE;
            g_free(st->net->owner);
            g_free(st->net->name);
            st->net->owner = g_strdup(attr(names, values, "owner"));
            st->net->name = g_strdup(attr(names, values, "name"));
            if (!mode || !wirt_net_mode_from_string(mode, &st->net->mode))
                st->net->mode = WIRT_NET_ISOLATED;
        }
    }
    if (st->depth == 2 && g_str_equal(element, "bridge") && !st->net->bridge)
        st->net->bridge = g_strdup(attr(names, values, "name"));
    if (st->depth == 2 && g_str_equal(element, "ip") && !st->address &&
        g_strcmp0(attr(names, values, "family"), "ipv6") != 0) {
        const char *prefix = attr(names, values, "prefix");
        guint64 number = 0;

        st->address = g_strdup(attr(names, values, "address"));
        st->netmask = g_strdup(attr(names, values, "netmask"));
        st->prefix = prefix && g_ascii_string_to_unsigned(prefix, 10, 0, 32, &number, NULL)
                         ? (int)number
                         : -1;
    }
    if (st->depth == 3 && g_str_equal(element, "dhcp"))
        st->net->dhcp = TRUE;
}

static void
on_end(GMarkupParseContext *context G_GNUC_UNUSED, const char *element, gpointer user_data,
       GError **error G_GNUC_UNUSED)
{
    ParseState *st = user_data;

    if (st->depth == 2 && g_str_equal(element, "metadata"))
        st->in_metadata = FALSE;
    st->depth--;
}

static void
on_text(GMarkupParseContext *context, const char *text, gsize len, gpointer user_data,
        GError **error G_GNUC_UNUSED)
{
    ParseState *st = user_data;

    if (st->depth == 2 && g_str_equal(g_markup_parse_context_get_element(context), "name") &&
        st->net->libvirt_name && !*st->net->libvirt_name) {
        g_free(st->net->libvirt_name);
        st->net->libvirt_name = g_strstrip(g_strndup(text, len));
    }
}

/* "10.77.0.1" + "255.255.255.0" (or a prefix) -> "10.77.0.0/24". */
static char *
subnet_of(const char *address, const char *netmask, int prefix)
{
    struct in_addr addr, mask;
    guint32 a, m;
    char buf[INET_ADDRSTRLEN];

    if (!address || inet_pton(AF_INET, address, &addr) != 1)
        return NULL;
    if (netmask) {
        if (inet_pton(AF_INET, netmask, &mask) != 1)
            return NULL;
        m = ntohl(mask.s_addr);
        prefix = 0;
        while (prefix < 32 && (m & (0x80000000u >> prefix)))
            prefix++;
    }
    if (prefix < 0 || prefix > 32)
        return NULL;
    m = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    a = ntohl(addr.s_addr) & m;
    addr.s_addr = htonl(a);
    if (!inet_ntop(AF_INET, &addr, buf, sizeof buf))
        return NULL;
    return g_strdup_printf("%s/%d", buf, prefix);
}

/**
 * wirt_virt_net_parse:
 * @xml: a <network> document as virNetworkGetXMLDesc() gives it
 * Returns: (transfer full) (nullable): the network, or %NULL when @xml is not a wirt
 * network (no wirt metadata, a name without "wirt-", or not XML at all).
 */
WirtVirtNet *
wirt_virt_net_parse(const char *xml)
{
    static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
    g_autoptr(WirtVirtNet) net = g_new0(WirtVirtNet, 1);
    ParseState st = {.net = net, .prefix = -1};
    g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new(&parser, 0, &st, NULL);
    gboolean ok = g_markup_parse_context_parse(context, xml, -1, NULL) &&
                  g_markup_parse_context_end_parse(context, NULL);

    net->subnet = subnet_of(st.address, st.netmask, st.prefix);
    g_free(st.address);
    g_free(st.netmask);
    if (!ok || !st.have_meta || !net->libvirt_name ||
        !g_str_has_prefix(net->libvirt_name, NET_PREFIX))
        return NULL;
    return g_steal_pointer(&net);
}

/**
 * wirt_virt_net_list:
 * Returns: (transfer container) (element-type WirtVirtNet) (nullable): the host's wirt
 * networks, or %NULL with @error set.
 */
GPtrArray *
wirt_virt_net_list(WirtConn *conn, GError **error)
{
    virConnectPtr virt = wirt_conn_get_virt(conn);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(net_free_cb);
    virNetworkPtr *nets = NULL;
    int n = virConnectListAllNetworks(virt, &nets, 0);

    if (n < 0) {
        wirt_conn_set_error(conn, error, "cannot list networks");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const char *name = virNetworkGetName(nets[i]);
        g_autofree char *xml = NULL;
        WirtVirtNet *net;

        if (name && g_str_has_prefix(name, NET_PREFIX) &&
            (xml = virNetworkGetXMLDesc(nets[i], 0)) && (net = wirt_virt_net_parse(xml))) {
            net->active = virNetworkIsActive(nets[i]) == 1;
            g_ptr_array_add(out, net);
        }
        virNetworkFree(nets[i]);
    }
    free(nets);
    return g_steal_pointer(&out);
}

static gboolean
last_error_is(int code)
{
    const virError *verr = virGetLastError();

    return verr && verr->code == code;
}

/**
 * wirt_virt_net_create:
 * @libvirt_name: the name in @xml
 * @xml: from wirt_net_xml_build()
 * @may_exist: an existing network of that name is fine (and started if need be)
 * Returns: %TRUE when the network is defined, running and autostarted; else %FALSE
 * with @error set (CONFLICT: it exists already).
 */
gboolean
wirt_virt_net_create(WirtConn *conn, const char *libvirt_name, const char *xml, gboolean may_exist,
                     GError **error)
{
    virConnectPtr virt = wirt_conn_get_virt(conn);
    g_autoptr(virNetwork) net = virNetworkLookupByName(virt, libvirt_name);
    g_autofree char *what = NULL;

    if (!net && !last_error_is(VIR_ERR_NO_NETWORK)) {
        what = g_strdup_printf("cannot look up network %s", libvirt_name);
        wirt_conn_set_error(conn, error, "%s", what);
        return FALSE;
    }
    if (net && !may_exist) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "network %s exists already",
                    libvirt_name);
        return FALSE;
    }
    if (!net) {
        if (!(net = virNetworkDefineXML(virt, xml))) {
            what = g_strdup_printf("cannot define network %s", libvirt_name);
            wirt_conn_set_error(conn, error, "%s", what);
            return FALSE;
        }
    }
    if (virNetworkIsActive(net) != 1 && virNetworkCreate(net) < 0) {
        what = g_strdup_printf("cannot start network %s", libvirt_name);
        wirt_conn_set_error(conn, error, "%s", what);
        /* A network that cannot run (a subnet the host uses already) is not kept. */
        if (!may_exist)
            virNetworkUndefine(net);
        return FALSE;
    }
    if (virNetworkSetAutostart(net, 1) < 0) {
        what = g_strdup_printf("cannot mark network %s autostart", libvirt_name);
        wirt_conn_set_error(conn, error, "%s", what);
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_virt_net_delete:
 * Returns: %TRUE when the network is gone; else %FALSE with @error set (NOT_FOUND).
 */
gboolean
wirt_virt_net_delete(WirtConn *conn, const char *libvirt_name, GError **error)
{
    virConnectPtr virt = wirt_conn_get_virt(conn);
    g_autoptr(virNetwork) net = virNetworkLookupByName(virt, libvirt_name);
    g_autofree char *what = NULL;

    if (!net) {
        if (last_error_is(VIR_ERR_NO_NETWORK)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "network %s: not found",
                        libvirt_name);
            return FALSE;
        }
        what = g_strdup_printf("cannot look up network %s", libvirt_name);
        wirt_conn_set_error(conn, error, "%s", what);
        return FALSE;
    }
    if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0) {
        what = g_strdup_printf("cannot stop network %s", libvirt_name);
        wirt_conn_set_error(conn, error, "%s", what);
        return FALSE;
    }
    if (virNetworkIsPersistent(net) == 1 && virNetworkUndefine(net) < 0) {
        what = g_strdup_printf("cannot undefine network %s", libvirt_name);
        wirt_conn_set_error(conn, error, "%s", what);
        return FALSE;
    }
    return TRUE;
}

/* Whether a domain XML has <source network='NAME'/> (libvirt writes single quotes). */
static gboolean
xml_uses(const char *xml, const char *libvirt_name)
{
    g_autofree char *escaped = g_markup_escape_text(libvirt_name, -1);
    g_autofree char *single = g_strdup_printf("network='%s'", escaped);
    g_autofree char *dbl = g_strdup_printf("network=\"%s\"", escaped);

    return xml && (strstr(xml, single) || strstr(xml, dbl));
}

/**
 * wirt_virt_net_user:
 * Returns: (transfer full) (nullable): a domain using @libvirt_name, or %NULL (none, or an
 * error: check @error).
 */
char *
wirt_virt_net_user(WirtConn *conn, const char *libvirt_name, GError **error)
{
    virConnectPtr virt = wirt_conn_get_virt(conn);
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(virt, &doms, 0);
    char *found = NULL;

    if (n < 0) {
        wirt_conn_set_error(conn, error, "cannot list domains");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        g_autoptr(virDomain) dom = doms[i];

        if (found)
            continue;
        for (int pass = 0; pass < 2 && !found; pass++) {
            unsigned int flags = pass ? VIR_DOMAIN_XML_INACTIVE : 0;
            g_autofree char *xml = NULL;

            if (pass && virDomainIsPersistent(dom) != 1)
                break;
            xml = virDomainGetXMLDesc(dom, flags);
            if (xml_uses(xml, libvirt_name))
                found = g_strdup(virDomainGetName(dom));
        }
    }
    free(doms);
    return found;
}
