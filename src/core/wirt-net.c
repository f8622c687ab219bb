/* wirt-net.c: libvirt network XML for wirt's networks (see wirt-net.h). */
#include "wirt-net.h"

#include <arpa/inet.h>
#include <string.h>

#include "util/wirt-util.h"
#include "wirt-error.h"
#include "wirt-names.h"

static const char *const mode_names[] = {
    [WIRT_NET_ISOLATED] = "isolated",
    [WIRT_NET_NAT] = "nat",
    [WIRT_NET_ROUTE] = "route",
    [WIRT_NET_DIRECT] = "direct",
};

const char *
wirt_net_mode_to_string(WirtNetMode mode)
{
    return (gsize)mode < G_N_ELEMENTS(mode_names) ? mode_names[mode] : "isolated";
}

gboolean
wirt_net_mode_from_string(const char *text, WirtNetMode *out_mode)
{
    for (gsize i = 0; text && i < G_N_ELEMENTS(mode_names); i++) {
        if (g_str_equal(text, mode_names[i])) {
            *out_mode = (WirtNetMode)i;
            return TRUE;
        }
    }
    return FALSE;
}

void
wirt_net_host_free(WirtNetHost *host)
{
    if (!host)
        return;
    g_free(host->mac);
    g_free(host->ip);
    g_free(host->name);
    g_free(host);
}

void
wirt_net_spec_clear(WirtNetSpec *spec)
{
    g_clear_pointer(&spec->owner, g_free);
    g_clear_pointer(&spec->name, g_free);
    g_clear_pointer(&spec->subnet, g_free);
    g_clear_pointer(&spec->hosts, g_ptr_array_unref);
    g_clear_pointer(&spec->device, g_free);
    g_clear_pointer(&spec->direct_mode, g_free);
}

/* A dotted quad, strictly: inet_pton accepts exactly four decimal parts. */
static gboolean
parse_ipv4(const char *text, guint32 *out)
{
    struct in_addr addr;

    if (!text || inet_pton(AF_INET, text, &addr) != 1)
        return FALSE;
    *out = ntohl(addr.s_addr);
    return TRUE;
}

static char *
format_ipv4(guint32 value)
{
    return g_strdup_printf("%u.%u.%u.%u", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                           value & 0xff);
}

gboolean
wirt_net_parse_subnet(const char *text, guint32 *out_network, guint *out_prefix, GError **error)
{
    g_auto(GStrv) parts = text ? g_strsplit(text, "/", -1) : NULL;
    guint64 prefix = 0;
    guint32 network = 0, mask;

    if (!parts || g_strv_length(parts) != 2 || !parse_ipv4(parts[0], &network) ||
        !wirt_util_parse_uint64(parts[1], 8, 30, &prefix, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "subnet: '%.40s' is not an IPv4 network like 10.77.0.0/24 (prefix 8 to 30)",
                    text ? text : "");
        return FALSE;
    }
    mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
    if (network & ~mask) {
        g_autofree char *meant = format_ipv4(network & mask);
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "subnet: %s has host bits set (did you mean %s/%u?)", text, meant,
                    (guint)prefix);
        return FALSE;
    }
    *out_network = network;
    *out_prefix = (guint)prefix;
    return TRUE;
}

gboolean
wirt_net_mac_validate(const char *mac, GError **error)
{
    guint8 octets[6] = {0};
    gboolean zero = TRUE;

    if (!mac || strlen(mac) != 17)
        goto bad;
    for (guint i = 0; i < 6; i++) {
        const char *p = mac + i * 3;
        if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]) || (i < 5 && p[2] != ':'))
            goto bad;
        octets[i] = (guint8)(g_ascii_xdigit_value(p[0]) * 16 + g_ascii_xdigit_value(p[1]));
        zero &= octets[i] == 0;
    }
    if (zero || (octets[0] & 1)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "mac: %s is not a unicast address for a NIC", mac);
        return FALSE;
    }
    return TRUE;
bad:
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                "mac: '%.32s' is not an address like 52:54:00:12:34:56", mac ? mac : "");
    return FALSE;
}

char *
wirt_net_mac_generate(void)
{
    guint8 r[3];

    wirt_util_random_bytes(r, sizeof(r));
    return g_strdup_printf("52:54:00:%02x:%02x:%02x", r[0], r[1], r[2]);
}

char *
wirt_net_libvirt_name(const char *owner, const char *name)
{
    return owner ? g_strdup_printf("wirt-%s.%s", owner, name) : g_strdup_printf("wirt-%s", name);
}

char *
wirt_net_bridge_name(const char *libvirt_name)
{
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, libvirt_name, -1);

    return g_strdup_printf("wbr%.12s", sum);
}

static gboolean
check_host(const WirtNetHost *host, guint32 network, guint32 mask, guint32 gateway, GError **error)
{
    guint32 ip = 0;

    if (!wirt_net_mac_validate(host->mac, error))
        return FALSE;
    if (host->name && !wirt_name_validate(host->name, error))
        return FALSE;
    if (!parse_ipv4(host->ip, &ip) || (ip & mask) != network || ip == gateway || ip == network ||
        ip == (network | ~mask)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "ip: '%.40s' is not a free address of the network (not the network, the "
                    "gateway or the broadcast address)",
                    host->ip ? host->ip : "");
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_net_host_xml:
 * Returns: (transfer full): the reservation as virNetworkUpdate()'s IP_DHCP_HOST section
 *   takes it, or %NULL with %WIRT_ERROR_INVALID.
 */
char *
wirt_net_host_xml(const WirtNetHost *host, const char *subnet, GError **error)
{
    g_autofree char *mac = NULL;
    guint32 network, mask;
    guint prefix;

    if (!wirt_net_parse_subnet(subnet, &network, &prefix, error))
        return NULL;
    mask = 0xffffffffu << (32 - prefix);
    if (!check_host(host, network, mask, network + 1, error))
        return NULL;
    mac = g_ascii_strdown(host->mac, -1);
    if (!host->name)
        return g_strdup_printf("<host mac='%s' ip='%s'/>", mac, host->ip);
    return g_strdup_printf("<host mac='%s' name='%s' ip='%s'/>", mac, host->name, host->ip);
}

gboolean
wirt_net_device_validate(const char *device, GError **error)
{
    gsize len = device ? strlen(device) : 0;

    if (len == 0 || len > 15 ||
        strspn(device, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            len ||
        device[0] == '.' || device[0] == '-') {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "device: '%.40s' is not a network interface name (1 to 15 of letters, "
                    "digits, '.', '_', '-')",
                    device ? device : "");
        return FALSE;
    }
    return TRUE;
}

gboolean
wirt_net_direct_mode_validate(const char *mode, GError **error)
{
    static const char *const modes[] = {"bridge", "vepa", "private", "passthrough", NULL};

    if (mode && !g_strv_contains(modes, mode)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "macvtap-mode: '%.40s' is not bridge, vepa, private or passthrough", mode);
        return FALSE;
    }
    return TRUE;
}

/* A macvtap network: libvirt hands each guest NIC a macvtap device on @device; no bridge,
 * no addresses and no DHCP of libvirt's (the device's own network serves the guests). */
static char *
direct_xml_build(const WirtNetSpec *spec, GError **error)
{
    g_autofree char *lv_name = NULL;

    if (spec->owner) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "network %s: direct (macvtap) networks are admins' [network] sections only",
                    spec->name);
        return NULL;
    }
    if (!wirt_name_validate(spec->name, error) || !wirt_net_device_validate(spec->device, error) ||
        !wirt_net_direct_mode_validate(spec->direct_mode, error))
        return NULL;
    if (spec->hosts && spec->hosts->len) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "network %s: a direct network has no DHCP of wirt's to reserve in", spec->name);
        return NULL;
    }
    lv_name = wirt_net_libvirt_name(NULL, spec->name);
    return g_strdup_printf("<network>\n"
                           "  <name>%s</name>\n"
                           "  <metadata>\n"
                           "    <net xmlns='%s' name='%s' mode='direct'/>\n"
                           "  </metadata>\n"
                           "  <forward mode='%s'>\n"
                           "    <interface dev='%s'/>\n"
                           "  </forward>\n"
                           "</network>\n",
                           lv_name, WIRT_NET_META_NS, spec->name,
                           spec->direct_mode ? spec->direct_mode : "bridge", spec->device);
}

/**
 * wirt_net_xml_build:
 * Returns: (transfer full): the network's XML: a bridge named by
 * wirt_net_bridge_name(), the host at the subnet's first address, DHCP over the rest
 * (when on) with the reservations, and dnsmasq's no-ping (a fresh isolated network
 * has nobody to ping; the check costs up to 3 s per lease). %NULL with @error.
 */
char *
wirt_net_xml_build(const WirtNetSpec *spec, GError **error)
{
    g_autofree char *lv_name = NULL;
    g_autofree char *escaped_name = NULL;
    g_autofree char *bridge = NULL;
    g_autofree char *gateway_text = NULL;
    g_autofree char *mask_text = NULL;
    g_autofree char *first = NULL;
    g_autofree char *last = NULL;
    g_autoptr(GString) out = NULL;
    guint32 network, mask, gateway;
    guint prefix;

    if (spec->mode == WIRT_NET_DIRECT)
        return direct_xml_build(spec, error);
    if ((spec->owner && !wirt_name_validate_owner(spec->owner, error)) ||
        !wirt_name_validate(spec->name, error) ||
        !wirt_net_parse_subnet(spec->subnet, &network, &prefix, error))
        return NULL;
    mask = 0xffffffffu << (32 - prefix);
    gateway = network + 1;
    for (guint i = 0; spec->hosts && i < spec->hosts->len; i++)
        if (!check_host(g_ptr_array_index(spec->hosts, i), network, mask, gateway, error))
            return NULL;
    if (spec->hosts && spec->hosts->len && !spec->dhcp) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "network %s: fixed addresses are DHCP reservations: turn DHCP on", spec->name);
        return NULL;
    }
    lv_name = wirt_net_libvirt_name(spec->owner, spec->name);
    bridge = wirt_net_bridge_name(lv_name);
    gateway_text = format_ipv4(gateway);
    mask_text = format_ipv4(mask);
    first = format_ipv4(network + 2);
    last = format_ipv4((network | ~mask) - 1);

    out =
        g_string_new("<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>\n");
    /* Owner names follow NSS, which allows more than XML does unescaped. */
    escaped_name = g_markup_escape_text(lv_name, -1);
    g_string_append_printf(out, "  <name>%s</name>\n", escaped_name);
    g_string_append_printf(out, "  <metadata>\n    <net xmlns='%s'", WIRT_NET_META_NS);
    if (spec->owner) {
        g_autofree char *owner = g_markup_escape_text(spec->owner, -1);
        g_string_append_printf(out, " owner='%s'", owner);
    }
    g_string_append_printf(out, " name='%s' mode='%s'/>\n  </metadata>\n", spec->name,
                           wirt_net_mode_to_string(spec->mode));
    if (spec->mode != WIRT_NET_ISOLATED)
        g_string_append_printf(out, "  <forward mode='%s'/>\n",
                               wirt_net_mode_to_string(spec->mode));
    g_string_append_printf(out, "  <bridge name='%s' stp='on' delay='0'/>\n", bridge);
    g_string_append_printf(out, "  <ip address='%s' netmask='%s'>\n", gateway_text, mask_text);
    if (spec->dhcp) {
        g_string_append(out, "    <dhcp>\n");
        g_string_append_printf(out, "      <range start='%s' end='%s'/>\n", first, last);
        for (guint i = 0; spec->hosts && i < spec->hosts->len; i++) {
            const WirtNetHost *h = g_ptr_array_index(spec->hosts, i);
            g_autofree char *mac = g_ascii_strdown(h->mac, -1);
            if (h->name)
                g_string_append_printf(out, "      <host mac='%s' name='%s' ip='%s'/>\n", mac,
                                       h->name, h->ip);
            else
                g_string_append_printf(out, "      <host mac='%s' ip='%s'/>\n", mac, h->ip);
        }
        g_string_append(out, "    </dhcp>\n");
    }
    g_string_append(out, "  </ip>\n");
    g_string_append(out, "  <dnsmasq:options>\n"
                         "    <dnsmasq:option value='no-ping'/>\n"
                         "  </dnsmasq:options>\n"
                         "</network>\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}
