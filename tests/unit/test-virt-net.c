/* test-virt-net.c: reading wirt's networks back from libvirt's XML (virt/wirt-virt-net.c). */
#include "core/wirt-net.h"
#include "virt/wirt-virt-net.h"

/* What wirt_net_xml_build() writes reads back as the same network. */
static void
test_roundtrip(void)
{
    g_auto(WirtNetSpec) spec = {0};
    g_autofree char *xml = NULL;
    g_autoptr(WirtVirtNet) net = NULL;
    g_autofree char *bridge = NULL;

    spec.owner = g_strdup("alice");
    spec.name = g_strdup("lab");
    spec.mode = WIRT_NET_ROUTE;
    spec.subnet = g_strdup("10.77.0.0/24");
    spec.dhcp = TRUE;
    xml = wirt_net_xml_build(&spec, NULL);
    g_assert_nonnull(xml);
    net = wirt_virt_net_parse(xml);
    g_assert_nonnull(net);
    bridge = wirt_net_bridge_name("wirt-alice.lab");
    g_assert_cmpstr(net->libvirt_name, ==, "wirt-alice.lab");
    g_assert_cmpstr(net->owner, ==, "alice");
    g_assert_cmpstr(net->name, ==, "lab");
    g_assert_cmpint(net->mode, ==, WIRT_NET_ROUTE);
    g_assert_cmpstr(net->subnet, ==, "10.77.0.0/24");
    g_assert_cmpstr(net->bridge, ==, bridge);
    g_assert_true(net->dhcp);
}

/* As libvirt formats it back: double quotes, a prefix instead of a netmask, no owner. */
static void
test_libvirt_format(void)
{
    const char *xml =
        "<network>\n"
        "  <name>wirt-ops</name>\n"
        "  <uuid>6b2c4f4e-1d6e-4a0e-9d8e-0a1b2c3d4e5f</uuid>\n"
        "  <metadata>\n"
        "    <net xmlns=\"https://wirt.dev/xmlns/net/1\" name=\"ops\" mode=\"nat\"/>\n"
        "  </metadata>\n"
        "  <forward mode=\"nat\"/>\n"
        "  <bridge name=\"wbr0123456789ab\" stp=\"on\" delay=\"0\"/>\n"
        "  <ip family=\"ipv6\" address=\"fd00::1\" prefix=\"64\"/>\n"
        "  <ip address=\"192.168.7.1\" prefix=\"23\"/>\n"
        "</network>\n";
    g_autoptr(WirtVirtNet) net = wirt_virt_net_parse(xml);

    g_assert_nonnull(net);
    g_assert_null(net->owner);
    g_assert_cmpstr(net->name, ==, "ops");
    g_assert_cmpint(net->mode, ==, WIRT_NET_NAT);
    g_assert_cmpstr(net->subnet, ==, "192.168.6.0/23");
    g_assert_false(net->dhcp);
}

/* Not ours: libvirt's default network, a wirt- name without our metadata, metadata of
 * another namespace, and no XML at all. */
static void
test_not_ours(void)
{
    static const char *const cases[] = {
        "<network><name>default</name><metadata><net xmlns='https://wirt.dev/xmlns/net/1' "
        "name='default'/></metadata></network>",
        "<network><name>wirt-x</name><ip address='10.0.0.1' netmask='255.0.0.0'/></network>",
        "<network><name>wirt-x</name><metadata><net xmlns='https://example.org/net' "
        "name='x'/></metadata></network>",
        "<network><name>wirt-x</name>",
        "not xml",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(WirtVirtNet) net = wirt_virt_net_parse(cases[i]);
        if (net)
            g_error("case %" G_GSIZE_FORMAT " was read as network %s", i, net->libvirt_name);
    }
}

/* A direct network reads back with its mode, and no subnet or bridge. */
static void
test_direct_roundtrip(void)
{
    g_auto(WirtNetSpec) spec = {0};
    g_autofree char *xml = NULL;
    g_autoptr(WirtVirtNet) net = NULL;

    spec.name = g_strdup("pub");
    spec.mode = WIRT_NET_DIRECT;
    spec.device = g_strdup("eth0");
    xml = wirt_net_xml_build(&spec, NULL);
    net = wirt_virt_net_parse(xml);
    g_assert_nonnull(net);
    g_assert_null(net->owner);
    g_assert_cmpint(net->mode, ==, WIRT_NET_DIRECT);
    g_assert_null(net->subnet);
    g_assert_null(net->bridge);
    g_assert_false(net->dhcp);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virt-net/roundtrip", test_roundtrip);
    g_test_add_func("/virt-net/libvirt-format", test_libvirt_format);
    g_test_add_func("/virt-net/not-ours", test_not_ours);
    g_test_add_func("/virt-net/direct", test_direct_roundtrip);
    return g_test_run();
}
