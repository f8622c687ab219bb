/* wirt-addr.c: a running VM's addresses, merged from libvirt's sources (see wirt-addr.h). */
#include "wirt-addr.h"

#include <arpa/inet.h>
#include <string.h>

#include "wirt-error.h"

struct _WirtAddrList {
    GPtrArray *addrs; /* WirtAddr*, kept sorted: MAC, then IPv4 before IPv6, then address */
};

static const char *const source_names[] = {"lease", "agent", "arp"};

/**
 * wirt_addr_source_to_string:
 * Returns: (transfer none) (nullable): the source's name in the API, or %NULL.
 */
const char *
wirt_addr_source_to_string(WirtAddrSource source)
{
    for (guint i = 0; i < G_N_ELEMENTS(source_names); i++)
        if (source == (WirtAddrSource)(1u << i))
            return source_names[i];
    return NULL;
}

static void
addr_free(gpointer data)
{
    WirtAddr *addr = data;

    g_free(addr->mac);
    g_free(addr->ip);
    g_free(addr);
}

/**
 * wirt_addr_list_new:
 * Returns: (transfer full): an empty list.
 */
WirtAddrList *
wirt_addr_list_new(void)
{
    WirtAddrList *list = g_new0(WirtAddrList, 1);

    list->addrs = g_ptr_array_new_with_free_func(addr_free);
    return list;
}

/**
 * wirt_addr_list_free:
 * @list: (nullable) (transfer full)
 */
void
wirt_addr_list_free(WirtAddrList *list)
{
    if (!list)
        return;
    g_ptr_array_unref(list->addrs);
    g_free(list);
}

/* "52:54:00:AB:cd:0f" -> "52:54:00:ab:cd:0f"; NULL unless six pairs of hex digits. */
static char *
normalize_mac(const char *mac)
{
    char out[18];

    if (strlen(mac) != 17)
        return NULL;
    for (guint i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (mac[i] != ':')
                return NULL;
            out[i] = ':';
        } else {
            if (!g_ascii_isxdigit(mac[i]))
                return NULL;
            out[i] = g_ascii_tolower(mac[i]);
        }
    }
    out[17] = '\0';
    return g_strdup(out);
}

static gint
compare_addrs(const WirtAddr *x, const WirtAddr *y)
{
    int c;

    if ((c = g_strcmp0(x->mac, y->mac)) != 0)
        return c;
    if (x->family != y->family)
        return x->family == WIRT_ADDR_FAMILY_IPV4 ? -1 : 1;
    return g_strcmp0(x->ip, y->ip);
}

/**
 * wirt_addr_list_add:
 * @source: the one source that reported it
 * @mac: (nullable): the interface's MAC as libvirt gave it
 * @ip: the address, IPv4 or IPv6 text
 * @prefix: its prefix length; 0 when the source knows none
 *
 * Merges one reported address: the same MAC and address from another source
 * only adds that source (and a prefix, where it had none). Loopback, unspecified
 * and multicast addresses are dropped silently (agents report "lo").
 * Returns: %TRUE when added, merged or dropped; %FALSE with %WIRT_ERROR_INVALID
 * for a malformed entry, or when the list already holds %WIRT_ADDR_MAX addresses.
 */
gboolean
wirt_addr_list_add(WirtAddrList *list, WirtAddrSource source, const char *mac, const char *ip,
                   guint prefix, GError **error)
{
    g_autofree char *norm_mac = NULL;
    char text[INET6_ADDRSTRLEN];
    guint8 bytes[16];
    WirtAddrFamily family;
    WirtAddr key = {0};
    WirtAddr *addr;
    guint lo = 0, hi;

    g_return_val_if_fail(list && wirt_addr_source_to_string(source), FALSE);
    if (mac && *mac && !(norm_mac = normalize_mac(mac))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "address source %s: bad MAC",
                    wirt_addr_source_to_string(source));
        return FALSE;
    }
    if (ip && inet_pton(AF_INET, ip, bytes) == 1) {
        family = WIRT_ADDR_FAMILY_IPV4;
        if (prefix > 32) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "address source %s: bad IPv4 prefix %u", wirt_addr_source_to_string(source),
                        prefix);
            return FALSE;
        }
        if (bytes[0] == 127 || bytes[0] == 0 || bytes[0] >= 224)
            return TRUE; /* loopback, unspecified, multicast and reserved: nothing to show */
        inet_ntop(AF_INET, bytes, text, sizeof(text));
    } else if (ip && inet_pton(AF_INET6, ip, bytes) == 1) {
        static const guint8 loopback[16] = {[15] = 1};
        static const guint8 unspecified[16] = {0};

        family = WIRT_ADDR_FAMILY_IPV6;
        if (prefix > 128) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "address source %s: bad IPv6 prefix %u", wirt_addr_source_to_string(source),
                        prefix);
            return FALSE;
        }
        if (memcmp(bytes, loopback, 16) == 0 || memcmp(bytes, unspecified, 16) == 0 ||
            bytes[0] == 0xff)
            return TRUE;
        inet_ntop(AF_INET6, bytes, text, sizeof(text));
    } else {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "address source %s: bad address",
                    wirt_addr_source_to_string(source));
        return FALSE;
    }

    /* Binary search in the sorted list: merge, or insert in place. */
    key.mac = norm_mac;
    key.ip = text;
    key.family = family;
    hi = list->addrs->len;
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        gint c = compare_addrs(g_ptr_array_index(list->addrs, mid), &key);

        if (c == 0) {
            addr = g_ptr_array_index(list->addrs, mid);
            addr->sources |= source;
            if (!addr->prefix)
                addr->prefix = prefix;
            return TRUE;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (list->addrs->len >= WIRT_ADDR_MAX) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "address source %s: more than %d addresses", wirt_addr_source_to_string(source),
                    WIRT_ADDR_MAX);
        return FALSE;
    }
    addr = g_new0(WirtAddr, 1);
    addr->mac = g_steal_pointer(&norm_mac);
    addr->ip = g_strdup(text);
    addr->prefix = prefix;
    addr->family = family;
    addr->sources = source;
    g_ptr_array_insert(list->addrs, (gint)lo, addr);
    return TRUE;
}

/**
 * wirt_addr_list_length:
 * Returns: how many addresses @list holds.
 */
guint
wirt_addr_list_length(const WirtAddrList *list)
{
    return list ? list->addrs->len : 0;
}

/**
 * wirt_addr_list_get:
 * Returns: (transfer none): the @index'th address (MAC, then IPv4 first, then address order).
 */
const WirtAddr *
wirt_addr_list_get(const WirtAddrList *list, guint index)
{
    g_return_val_if_fail(list && index < list->addrs->len, NULL);
    return g_ptr_array_index(list->addrs, index);
}

/**
 * wirt_addr_list_equal:
 * @a: (nullable): a list; %NULL is the empty list
 * @b: (nullable): another
 * Returns: %TRUE when both hold the same addresses with the same prefixes and sources.
 */
gboolean
wirt_addr_list_equal(const WirtAddrList *a, const WirtAddrList *b)
{
    if (wirt_addr_list_length(a) != wirt_addr_list_length(b))
        return FALSE;
    for (guint i = 0; i < wirt_addr_list_length(a); i++) {
        const WirtAddr *x = g_ptr_array_index(a->addrs, i);
        const WirtAddr *y = g_ptr_array_index(b->addrs, i);

        if (compare_addrs(x, y) != 0 || x->prefix != y->prefix || x->sources != y->sources)
            return FALSE;
    }
    return TRUE;
}

/**
 * wirt_addr_list_copy:
 * @list: (nullable): a list; %NULL copies as the empty list
 * Returns: (transfer full): a deep copy.
 */
WirtAddrList *
wirt_addr_list_copy(const WirtAddrList *list)
{
    WirtAddrList *copy = wirt_addr_list_new();

    for (guint i = 0; i < wirt_addr_list_length(list); i++) {
        const WirtAddr *addr = g_ptr_array_index(list->addrs, i);
        WirtAddr *dup = g_new0(WirtAddr, 1);

        *dup = *addr;
        dup->mac = g_strdup(addr->mac);
        dup->ip = g_strdup(addr->ip);
        g_ptr_array_add(copy->addrs, dup);
    }
    return copy;
}

/**
 * wirt_addr_list_to_json:
 * @list: (nullable): a list; %NULL gives []
 * Returns: (transfer full): the API's array:
 * [{"mac":…,"ip":…,"prefix":24,"family":"ipv4","sources":["lease","arp"]}], with
 * "mac" and "prefix" null where unknown, sources in the order lease, agent, arp.
 */
JsonNode *
wirt_addr_list_to_json(const WirtAddrList *list)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (guint i = 0; i < wirt_addr_list_length(list); i++) {
        const WirtAddr *addr = g_ptr_array_index(list->addrs, i);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "mac");
        if (addr->mac)
            json_builder_add_string_value(b, addr->mac);
        else
            json_builder_add_null_value(b);
        json_builder_set_member_name(b, "ip");
        json_builder_add_string_value(b, addr->ip);
        json_builder_set_member_name(b, "prefix");
        if (addr->prefix)
            json_builder_add_int_value(b, addr->prefix);
        else
            json_builder_add_null_value(b);
        json_builder_set_member_name(b, "family");
        json_builder_add_string_value(b, addr->family == WIRT_ADDR_FAMILY_IPV4 ? "ipv4" : "ipv6");
        json_builder_set_member_name(b, "sources");
        json_builder_begin_array(b);
        for (guint s = 0; s < G_N_ELEMENTS(source_names); s++)
            if (addr->sources & (1u << s))
                json_builder_add_string_value(b, source_names[s]);
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

/* How good a target for `wirt ssh` @addr is: higher is better, 0 never. */
static guint
ssh_rank(const WirtAddr *addr)
{
    guint8 bytes[16];

    /* The agent's word alone could name any host (the host's bridge, another VM):
     * dial only what the host itself saw, its DHCP lease or its neighbour table. */
    if (!(addr->sources & (WIRT_ADDR_SOURCE_LEASE | WIRT_ADDR_SOURCE_ARP)))
        return 0;
    if (addr->family == WIRT_ADDR_FAMILY_IPV6) {
        /* Link-local needs a scope (an interface of wirtd's host): not dialable. */
        if (inet_pton(AF_INET6, addr->ip, bytes) != 1 ||
            (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80))
            return 0;
        return addr->sources & WIRT_ADDR_SOURCE_LEASE ? 2 : 1;
    }
    if (inet_pton(AF_INET, addr->ip, bytes) != 1 || (bytes[0] == 169 && bytes[1] == 254))
        return 0;
    return addr->sources & WIRT_ADDR_SOURCE_LEASE ? 4 : 3;
}

/**
 * wirt_addr_list_pick_ssh:
 * @list: (nullable): a VM's addresses
 *
 * IPv4 before IPv6, a DHCP lease before an ARP entry, then the list's order;
 * never an address only the guest agent reported, never link-local.
 * Returns: (transfer none) (nullable): the address `wirt ssh` dials, or %NULL.
 */
const WirtAddr *
wirt_addr_list_pick_ssh(const WirtAddrList *list)
{
    const WirtAddr *best = NULL;
    guint best_rank = 0;

    for (guint i = 0; i < wirt_addr_list_length(list); i++) {
        const WirtAddr *addr = g_ptr_array_index(list->addrs, i);
        guint rank = ssh_rank(addr);

        if (rank > best_rank) {
            best = addr;
            best_rank = rank;
        }
    }
    return best;
}
