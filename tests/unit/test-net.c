/* test-net.c: wirt's libvirt networks as data (core/wirt-net.c): subnets, MACs, names, and
 * the XML, checked against libvirt's own network schema when virt-xml-validate exists. */
#include <glib/gstdio.h>
#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-net.h"

static void
test_subnets(void)
{
    static const struct {
        const char *text;
        gboolean ok;
        guint32 network;
        guint prefix;
    } cases[] = {
        {"10.77.0.0/24", TRUE, 0x0a4d0000, 24},
        {"192.168.100.0/30", TRUE, 0xc0a86400, 30},
        {"10.0.0.0/8", TRUE, 0x0a000000, 8},
        {"10.77.0.1/24", FALSE, 0, 0}, /* host bits */
        {"10.77.0.0/31", FALSE, 0, 0},
        {"10.77.0.0/7", FALSE, 0, 0},
        {"10.77.0.0", FALSE, 0, 0},
        {"10.77.0/24", FALSE, 0, 0},
        {"10.77.0.0/24/1", FALSE, 0, 0},
        {"010.77.0.0/24", FALSE, 0, 0},
        {"10.77.0.0/+24", FALSE, 0, 0},
        {"fd00::/64", FALSE, 0, 0},
        {"", FALSE, 0, 0},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint32 network = 0;
        guint prefix = 0;
        g_autoptr(GError) error = NULL;
        gboolean ok = wirt_net_parse_subnet(cases[i].text, &network, &prefix, &error);
        g_test_message("subnet %s", cases[i].text);
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (ok) {
            g_assert_cmphex(network, ==, cases[i].network);
            g_assert_cmpuint(prefix, ==, cases[i].prefix);
        } else {
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
        }
    }
}

static void
test_macs(void)
{
    g_autofree char *made = wirt_net_mac_generate();

    g_assert_true(wirt_net_mac_validate("52:54:00:12:34:56", NULL));
    g_assert_true(wirt_net_mac_validate("52:54:00:AB:cd:EF", NULL));
    g_assert_false(wirt_net_mac_validate("01:00:5e:00:00:01", NULL)); /* multicast */
    g_assert_false(wirt_net_mac_validate("00:00:00:00:00:00", NULL));
    g_assert_false(wirt_net_mac_validate("52:54:00:12:34", NULL));
    g_assert_false(wirt_net_mac_validate("52-54-00-12-34-56", NULL));
    g_assert_false(wirt_net_mac_validate("52:54:00:12:34:5g", NULL));
    g_assert_false(wirt_net_mac_validate(NULL, NULL));
    g_assert_true(wirt_net_mac_validate(made, NULL));
    g_assert_true(g_str_has_prefix(made, "52:54:00:"));
}

static void
test_names(void)
{
    g_autofree char *user_net = wirt_net_libvirt_name("alice", "lab");
    g_autofree char *admin_net = wirt_net_libvirt_name(NULL, "lab");
    g_autofree char *bridge = wirt_net_bridge_name(user_net);
    g_autofree char *other = wirt_net_bridge_name(admin_net);

    g_assert_cmpstr(user_net, ==, "wirt-alice.lab");
    g_assert_cmpstr(admin_net, ==, "wirt-lab");
    g_assert_cmpuint(strlen(bridge), ==, 15); /* IFNAMSIZ - 1 */
    g_assert_true(g_str_has_prefix(bridge, "wbr"));
    g_assert_cmpstr(bridge, !=, other);
}

static WirtNetHost *
host_new(const char *mac, const char *ip, const char *name)
{
    WirtNetHost *h = g_new0(WirtNetHost, 1);

    h->mac = g_strdup(mac);
    h->ip = g_strdup(ip);
    h->name = g_strdup(name);
    return h;
}

static void
validate_with_libvirt(const char *xml)
{
    g_autofree char *tool = g_find_program_in_path("virt-xml-validate");
    g_autofree char *dir = NULL;
    g_autofree char *path = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    if (!tool) {
        g_test_message("virt-xml-validate is not installed: schema not checked");
        return;
    }
    dir = g_dir_make_tmp("wirt-net-XXXXXX", NULL);
    path = g_build_filename(dir, "net.xml", NULL);
    g_assert_true(g_file_set_contents(path, xml, -1, NULL));
    {
        const char *argv[] = {tool, path, "network", NULL};
        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                   &err, &status, NULL));
    }
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("libvirt's schema refuses the network:\n%s\n%s%s", xml, out, err);
    g_unlink(path);
    g_rmdir(dir);
}

static void
test_xml(void)
{
    g_auto(WirtNetSpec) spec = {0};
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;

    spec.owner = g_strdup("alice");
    spec.name = g_strdup("lab");
    spec.mode = WIRT_NET_ISOLATED;
    spec.subnet = g_strdup("10.77.0.0/24");
    spec.dhcp = TRUE;
    spec.hosts = g_ptr_array_new_with_free_func((GDestroyNotify)wirt_net_host_free);
    g_ptr_array_add(spec.hosts, host_new("52:54:00:AA:00:01", "10.77.0.10", "web"));
    xml = wirt_net_xml_build(&spec, &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(xml, "<name>wirt-alice.lab</name>"));
    g_assert_null(strstr(xml, "<forward")); /* isolated */
    g_assert_nonnull(strstr(xml, "<ip address='10.77.0.1' netmask='255.255.255.0'>"));
    g_assert_nonnull(strstr(xml, "<range start='10.77.0.2' end='10.77.0.254'/>"));
    g_assert_nonnull(strstr(xml, "<host mac='52:54:00:aa:00:01' name='web' ip='10.77.0.10'/>"));
    g_assert_nonnull(strstr(xml, "no-ping"));
    g_assert_nonnull(strstr(xml, "owner='alice' name='lab' mode='isolated'"));
    validate_with_libvirt(xml);

    for (WirtNetMode mode = WIRT_NET_NAT; mode <= WIRT_NET_ROUTE; mode++) {
        g_autofree char *other = NULL;
        g_autofree char *want =
            g_strdup_printf("<forward mode='%s'/>", wirt_net_mode_to_string(mode));
        spec.mode = mode;
        other = wirt_net_xml_build(&spec, NULL);
        g_assert_nonnull(strstr(other, want));
        validate_with_libvirt(other);
    }
}

static void
test_refusals(void)
{
    static const struct {
        const char *subnet;
        const char *mac, *ip, *name;
        gboolean dhcp;
        const char *net_name;
        const char *why;
    } cases[] = {
        {"10.77.0.0/24", "52:54:00:00:00:01", "10.77.0.1", "web", TRUE, "lab", "gateway"},
        {"10.77.0.0/24", "52:54:00:00:00:01", "10.77.0.0", "web", TRUE, "lab", "network"},
        {"10.77.0.0/24", "52:54:00:00:00:01", "10.77.0.255", "web", TRUE, "lab", "broadcast"},
        {"10.77.0.0/24", "52:54:00:00:00:01", "10.78.0.5", "web", TRUE, "lab", "outside"},
        {"10.77.0.0/24", "52:54:00:00:00:01", "10.77.0.5' x='", "web", TRUE, "lab", "quote"},
        {"10.77.0.0/24", "01:54:00:00:00:01", "10.77.0.5", "web", TRUE, "lab", "multicast"},
        {"10.77.0.0/24", "52:54:00:00:00:01", "10.77.0.5", "we'b", TRUE, "lab", "host name"},
        {"10.77.0.0/24", "52:54:00:00:00:01", "10.77.0.5", "web", FALSE, "lab", "dhcp off"},
        {"10.77.0.0/24", NULL, NULL, NULL, TRUE, "../etc", "network name"},
        {"10.77.0.5/24", NULL, NULL, NULL, TRUE, "lab", "host bits"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(WirtNetSpec) spec = {0};
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;

        spec.name = g_strdup(cases[i].net_name);
        spec.subnet = g_strdup(cases[i].subnet);
        spec.dhcp = cases[i].dhcp;
        if (cases[i].mac) {
            spec.hosts = g_ptr_array_new_with_free_func((GDestroyNotify)wirt_net_host_free);
            g_ptr_array_add(spec.hosts, host_new(cases[i].mac, cases[i].ip, cases[i].name));
        }
        g_test_message("refusal: %s", cases[i].why);
        xml = wirt_net_xml_build(&spec, &error);
        g_assert_null(xml);
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
}

/* One reservation for virNetworkUpdate(): the same checks as a whole network's. */
static void
test_host_xml(void)
{
    WirtNetHost named = {.mac = "52:54:00:AB:00:01", .ip = "10.77.0.10", .name = "web"};
    WirtNetHost anon = {.mac = "52:54:00:ab:00:02", .ip = "10.77.0.11"};
    WirtNetHost bad[] = {
        {.mac = "52:54:00:ab:00:03", .ip = "10.77.0.1"},   /* the gateway */
        {.mac = "52:54:00:ab:00:03", .ip = "10.77.1.5"},   /* outside */
        {.mac = "52:54:00:ab:00:03", .ip = "10.77.0.255"}, /* broadcast */
        {.mac = "52:54:00:ab:00:03", .ip = "10.77.0.5'/>"},
        {.mac = "ff:ff:ff:ff:ff:ff", .ip = "10.77.0.5"},
        {.mac = "52:54:00:ab:00:03", .ip = "10.77.0.5", .name = "a'b"},
    };
    g_autofree char *a = wirt_net_host_xml(&named, "10.77.0.0/24", NULL);
    g_autofree char *b = wirt_net_host_xml(&anon, "10.77.0.0/24", NULL);

    g_assert_cmpstr(a, ==, "<host mac='52:54:00:ab:00:01' name='web' ip='10.77.0.10'/>");
    g_assert_cmpstr(b, ==, "<host mac='52:54:00:ab:00:02' ip='10.77.0.11'/>");
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = wirt_net_host_xml(&bad[i], "10.77.0.0/24", &error);
        g_assert_null(xml);
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
}

/* A direct (macvtap) network: admins' only, a valid device and mode, libvirt's schema. */
static void
test_direct(void)
{
    g_auto(WirtNetSpec) spec = {0};
    g_autofree char *xml = NULL;
    g_autoptr(GError) error = NULL;

    spec.name = g_strdup("pub");
    spec.mode = WIRT_NET_DIRECT;
    spec.device = g_strdup("eth0");
    xml = wirt_net_xml_build(&spec, &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(xml, "<name>wirt-pub</name>"));
    g_assert_nonnull(strstr(xml, "<forward mode='bridge'>"));
    g_assert_nonnull(strstr(xml, "<interface dev='eth0'/>"));
    validate_with_libvirt(xml);

    spec.owner = g_strdup("alice"); /* users never get a host device */
    g_assert_null(wirt_net_xml_build(&spec, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);
    g_clear_pointer(&spec.owner, g_free);
    g_free(spec.device);
    spec.device = g_strdup("eth0'/><x");
    g_assert_null(wirt_net_xml_build(&spec, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);
    g_free(spec.device);
    spec.device = g_strdup("eth0");
    spec.direct_mode = g_strdup("hub");
    g_assert_null(wirt_net_xml_build(&spec, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/subnets", test_subnets);
    g_test_add_func("/net/macs", test_macs);
    g_test_add_func("/net/names", test_names);
    g_test_add_func("/net/xml", test_xml);
    g_test_add_func("/net/refusals", test_refusals);
    g_test_add_func("/net/host-xml", test_host_xml);
    g_test_add_func("/net/direct", test_direct);
    return g_test_run();
}
