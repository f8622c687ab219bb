/* test-addr.c: merging a VM's addresses from libvirt's sources (src/core/wirt-addr.c). */
#include "core/wirt-addr.h"
#include "core/wirt-error.h"

static char *
to_text(const WirtAddrList *list)
{
    g_autoptr(JsonNode) node = wirt_addr_list_to_json(list);
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, node);
    return json_generator_to_data(gen, NULL);
}

static void
add_ok(WirtAddrList *list, WirtAddrSource source, const char *mac, const char *ip, guint prefix)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_addr_list_add(list, source, mac, ip, prefix, &error));
    g_assert_no_error(error);
}

/* The same address from lease and ARP is one entry with both sources; ARP's missing prefix
 * does not hide the lease's; the agent's own addresses join per MAC. */
static void
test_merge(void)
{
    g_autoptr(WirtAddrList) list = wirt_addr_list_new();
    g_autofree char *text = NULL;

    add_ok(list, WIRT_ADDR_SOURCE_ARP, "52:54:00:77:00:10", "10.77.0.101", 0);
    add_ok(list, WIRT_ADDR_SOURCE_LEASE, "52:54:00:77:00:10", "10.77.0.101", 24);
    add_ok(list, WIRT_ADDR_SOURCE_AGENT, "52:54:00:77:00:10", "fd00::5", 64);
    add_ok(list, WIRT_ADDR_SOURCE_AGENT, "52:54:00:77:00:10", "10.77.0.101", 24);
    add_ok(list, WIRT_ADDR_SOURCE_AGENT, "00:00:00:00:00:00", "127.0.0.1", 8); /* lo: dropped */
    add_ok(list, WIRT_ADDR_SOURCE_AGENT, NULL, "::1", 128);                    /* dropped */
    text = to_text(list);
    g_assert_cmpstr(text, ==,
                    "[{\"mac\":\"52:54:00:77:00:10\",\"ip\":\"10.77.0.101\",\"prefix\":24,"
                    "\"family\":\"ipv4\",\"sources\":[\"lease\",\"agent\",\"arp\"]},"
                    "{\"mac\":\"52:54:00:77:00:10\",\"ip\":\"fd00::5\",\"prefix\":64,"
                    "\"family\":\"ipv6\",\"sources\":[\"agent\"]}]");
}

/* MACs and addresses are compared in canonical form; the order is MAC, IPv4 first. */
static void
test_canonical_order(void)
{
    g_autoptr(WirtAddrList) list = wirt_addr_list_new();
    g_autoptr(WirtAddrList) other = wirt_addr_list_new();

    add_ok(list, WIRT_ADDR_SOURCE_AGENT, "52:54:00:AA:00:02", "FD00:0:0::7", 64);
    add_ok(list, WIRT_ADDR_SOURCE_LEASE, "52:54:00:aa:00:02", "10.0.0.9", 24);
    add_ok(list, WIRT_ADDR_SOURCE_LEASE, "52:54:00:aa:00:01", "10.0.0.8", 24);
    add_ok(list, WIRT_ADDR_SOURCE_ARP, "52:54:00:aa:00:02", "fd00::7", 0);
    g_assert_cmpuint(wirt_addr_list_length(list), ==, 3);
    g_assert_cmpstr(wirt_addr_list_get(list, 0)->ip, ==, "10.0.0.8");
    g_assert_cmpstr(wirt_addr_list_get(list, 1)->ip, ==, "10.0.0.9");
    g_assert_cmpstr(wirt_addr_list_get(list, 2)->ip, ==, "fd00::7");
    g_assert_cmpstr(wirt_addr_list_get(list, 2)->mac, ==, "52:54:00:aa:00:02");
    g_assert_cmpuint(wirt_addr_list_get(list, 2)->sources, ==,
                     WIRT_ADDR_SOURCE_AGENT | WIRT_ADDR_SOURCE_ARP);

    /* Equal regardless of the order the sources answered in. */
    add_ok(other, WIRT_ADDR_SOURCE_ARP, "52:54:00:aa:00:02", "fd00::7", 0);
    add_ok(other, WIRT_ADDR_SOURCE_LEASE, "52:54:00:aa:00:01", "10.0.0.8", 24);
    add_ok(other, WIRT_ADDR_SOURCE_LEASE, "52:54:00:aa:00:02", "10.0.0.9", 24);
    g_assert_false(wirt_addr_list_equal(list, other));
    add_ok(other, WIRT_ADDR_SOURCE_AGENT, "52:54:00:aa:00:02", "fd00::7", 64);
    g_assert_true(wirt_addr_list_equal(list, other));
    {
        g_autoptr(WirtAddrList) copy = wirt_addr_list_copy(list);
        g_assert_true(wirt_addr_list_equal(copy, other));
    }
    g_assert_true(wirt_addr_list_equal(NULL, NULL));
    g_assert_false(wirt_addr_list_equal(list, NULL));
}

/* Whatever the agent (the guest) says is checked before it is kept. */
static void
test_untrusted(void)
{
    static const struct {
        const char *mac;
        const char *ip;
        guint prefix;
    } bad[] = {
        {"52:54:00:aa:00", "10.0.0.1", 24},      {"52:54:00:aa:00:0g", "10.0.0.1", 24},
        {"52-54-00-aa-00-01", "10.0.0.1", 24},   {"52:54:00:aa:00:01", "10.0.0.256", 24},
        {"52:54:00:aa:00:01", "10.0.0.1", 33},   {"52:54:00:aa:00:01", "fd00::1", 129},
        {"52:54:00:aa:00:01", "/etc/passwd", 0}, {"52:54:00:aa:00:01", NULL, 0},
        {"52:54:00:aa:00:01", "10.0.0.1 ", 24},
    };
    g_autoptr(WirtAddrList) list = wirt_addr_list_new();

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;

        g_assert_false(wirt_addr_list_add(list, WIRT_ADDR_SOURCE_AGENT, bad[i].mac, bad[i].ip,
                                          bad[i].prefix, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
    g_assert_cmpuint(wirt_addr_list_length(list), ==, 0);

    /* A flood stops at WIRT_ADDR_MAX. */
    for (guint i = 0; i < WIRT_ADDR_MAX; i++) {
        g_autofree char *ip = g_strdup_printf("10.1.%u.%u", i / 200, i % 200 + 1);
        add_ok(list, WIRT_ADDR_SOURCE_AGENT, "52:54:00:aa:00:01", ip, 16);
    }
    {
        g_autoptr(GError) error = NULL;
        g_assert_false(wirt_addr_list_add(list, WIRT_ADDR_SOURCE_AGENT, "52:54:00:aa:00:01",
                                          "10.2.0.1", 16, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
    g_assert_cmpuint(wirt_addr_list_length(list), ==, WIRT_ADDR_MAX);
}

/* `wirt ssh` dials IPv4 first, a lease before ARP, never the agent's word alone. */
static void
test_pick_ssh(void)
{
    g_autoptr(WirtAddrList) list = wirt_addr_list_new();

    g_assert_null(wirt_addr_list_pick_ssh(list));
    add_ok(list, WIRT_ADDR_SOURCE_AGENT, "52:54:00:aa:00:01", "10.0.0.1", 24);
    add_ok(list, WIRT_ADDR_SOURCE_ARP, "52:54:00:aa:00:01", "fe80::1", 0);
    g_assert_null(wirt_addr_list_pick_ssh(list)); /* agent only, link-local */
    add_ok(list, WIRT_ADDR_SOURCE_LEASE, "52:54:00:aa:00:01", "fd00::9", 64);
    g_assert_cmpstr(wirt_addr_list_pick_ssh(list)->ip, ==, "fd00::9");
    add_ok(list, WIRT_ADDR_SOURCE_ARP, "52:54:00:aa:00:02", "10.0.0.7", 0);
    g_assert_cmpstr(wirt_addr_list_pick_ssh(list)->ip, ==, "10.0.0.7");
    add_ok(list, WIRT_ADDR_SOURCE_LEASE, "52:54:00:aa:00:03", "10.0.0.8", 24);
    g_assert_cmpstr(wirt_addr_list_pick_ssh(list)->ip, ==, "10.0.0.8");
    add_ok(list, WIRT_ADDR_SOURCE_ARP, "52:54:00:aa:00:01", "10.0.0.1", 0);
    g_assert_cmpstr(wirt_addr_list_pick_ssh(list)->ip, ==, "10.0.0.8"); /* lease wins */
    g_assert_cmpstr(wirt_addr_source_to_string(WIRT_ADDR_SOURCE_ARP), ==, "arp");
    g_assert_null(wirt_addr_source_to_string(WIRT_ADDR_SOURCES_ALL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/addr/merge", test_merge);
    g_test_add_func("/addr/canonical-order", test_canonical_order);
    g_test_add_func("/addr/untrusted", test_untrusted);
    g_test_add_func("/addr/pick-ssh", test_pick_ssh);
    return g_test_run();
}
