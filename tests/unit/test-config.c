/* test-config.c: the config file: defaults, every key, errors with FILE:LINE, quotas. */
#include <string.h>

#include "core/wirt-config.h"
#include "core/wirt-error.h"
#include "core/wirt-quota.h"

static WirtConfig *
load(const char *text, GError **error)
{
    return wirt_config_load_data(text, strlen(text), "t.conf", error);
}

static void
test_defaults(void)
{
    g_autoptr(WirtConfig) c = load("", NULL);
    const WirtPoolConfig *pool;

    g_assert_nonnull(c);
    g_assert_cmpstr(c->user_group, ==, "wirt");
    g_assert_cmpstr(c->admin_group, ==, "wirt-admin");
    g_assert_cmpint(c->security_mode, ==, WIRT_SECURITY_OWNER_MANAGE);
    g_assert_true(c->allow_delete);
    g_assert_cmpstr(c->socket_path, ==, "/run/wirt/wirtd.sock");
    g_assert_cmpstr(c->history_path, ==, "/var/log/wirt/history.jsonl");
    g_assert_cmpuint(c->pools->len, ==, 1);
    pool = g_ptr_array_index(c->pools, 0);
    g_assert_cmpstr(pool->name, ==, "default");
    g_assert_cmpstr(pool->uris[0], ==, "qemu:///system");
    g_assert_cmpint(c->quota.vms, ==, 10);
    g_assert_cmpstr(c->storage_pool, ==, "default");
    g_assert_cmpuint(c->max_box_gib, ==, 64);
}

static void
test_full(void)
{
    const char *text = "# comment\n"
                       "[daemon]\n"
                       "user-group=vmguests\n"
                       "admin-group=vmadmins\n"
                       "security-mode=read-only\n"
                       "allow-delete=false\n"
                       "allow-attach-disk=no\n"
                       "stop-timeout=5\n"
                       "socket=/tmp/x.sock\n"
                       "[vm]\n"
                       "default-memory-mib=256\n"
                       "max-vcpus=4\n"
                       "storage-pool=boxes_1\n"
                       "max-box-gib=20\n"
                       "[pool lab]\n"
                       "uris=test:///default;qemu+ssh://root@hv2/system\n"
                       "[pool prod]\n"
                       "uris=qemu:///system\n"
                       "[quota]\n"
                       "vms=3\n"
                       "vcpus=-1\n"
                       "[quota group:students]\n"
                       "vms=2\n"
                       "[quota group:staff]\n"
                       "vms=5\n"
                       "memory-mib=1024\n"
                       "[quota user:alice]\n"
                       "vms=1\n"
                       "box-gib=7\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConfig) c = load(text, &error);
    const char *student[] = {"students", NULL};
    const char *both[] = {"students", "staff", NULL};
    WirtQuota q;

    g_assert_no_error(error);
    g_assert_cmpstr(c->user_group, ==, "vmguests");
    g_assert_cmpint(c->security_mode, ==, WIRT_SECURITY_READ_ONLY);
    g_assert_false(c->allow_delete);
    g_assert_false(c->allow_attach_disk);
    g_assert_cmpuint(c->stop_timeout, ==, 5);
    g_assert_cmpuint(c->default_memory_mib, ==, 256);
    g_assert_cmpuint(c->max_vcpus, ==, 4);
    g_assert_cmpstr(c->storage_pool, ==, "boxes_1");
    g_assert_cmpuint(c->max_box_gib, ==, 20);
    g_assert_cmpuint(c->pools->len, ==, 2);
    g_assert_nonnull(wirt_config_find_pool(c, "lab"));
    g_assert_cmpstr(wirt_config_find_pool(c, "lab")->uris[1], ==, "qemu+ssh://root@hv2/system");

    wirt_config_quota_for(c, "dave", NULL, &q);
    g_assert_cmpint(q.vms, ==, 3);
    g_assert_cmpint(q.vcpus, ==, -1);
    wirt_config_quota_for(c, "dave", student, &q);
    g_assert_cmpint(q.vms, ==, 2);
    g_assert_cmpint(q.memory_mib, ==, 16384); /* left out: from [quota] */
    wirt_config_quota_for(c, "dave", both, &q);
    g_assert_cmpint(q.vms, ==, 5);            /* most generous group */
    g_assert_cmpint(q.memory_mib, ==, 16384); /* students' (from [quota]) beats staff's 1024 */
    wirt_config_quota_for(c, "alice", both, &q);
    g_assert_cmpint(q.vms, ==, 1); /* the user's own section wins */
    g_assert_cmpint(q.box_gib, ==, 7);
    wirt_config_quota_for(c, "dave", NULL, &q);
    g_assert_cmpint(q.box_gib, ==, -1); /* the default: no limit */
}

static void
test_networks(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConfig) c = load("[vm]\n"
                                   "max-networks-per-user=2\n"
                                   "allow-nat-networks=true\n"
                                   "[pool lab]\n"
                                   "uris=test:///default\n"
                                   "[network lan]\n"
                                   "subnet=10.5.0.0/16\n"
                                   "mode=route\n"
                                   "dhcp=false\n"
                                   "pool=lab\n"
                                   "[network ops]\n"
                                   "subnet=192.168.7.0/24\n"
                                   "hidden=true\n",
                                   &error);
    const WirtNetworkConfig *lan, *ops;

    g_assert_no_error(error);
    g_assert_cmpuint(c->max_networks_per_user, ==, 2);
    g_assert_true(c->allow_nat_networks);
    g_assert_cmpuint(c->networks->len, ==, 2);
    lan = wirt_config_find_network(c, "lan");
    ops = wirt_config_find_network(c, "ops");
    g_assert_nonnull(lan);
    g_assert_cmpstr(lan->subnet, ==, "10.5.0.0/16");
    g_assert_cmpint(lan->mode, ==, WIRT_NET_ROUTE);
    g_assert_false(lan->dhcp);
    g_assert_false(lan->hidden);
    g_assert_cmpstr(lan->pool, ==, "lab");
    g_assert_nonnull(ops);
    g_assert_cmpint(ops->mode, ==, WIRT_NET_ISOLATED); /* the default */
    g_assert_true(ops->dhcp);                          /* the default */
    g_assert_true(ops->hidden);
    g_assert_null(ops->pool);
    g_assert_null(wirt_config_find_network(c, "nope"));
}

/* A public network (vagrant-libvirt's public_network): macvtap on a host device. */
static void
test_network_direct(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConfig) c = load("[network pub]\n"
                                   "mode=direct\n"
                                   "device=eth0\n"
                                   "[network priv]\n"
                                   "mode=direct\n"
                                   "device=enp1s0.42\n"
                                   "macvtap-mode=private\n",
                                   &error);
    const WirtNetworkConfig *pub, *priv;
    g_autofree char *xml = NULL;

    g_assert_no_error(error);
    pub = wirt_config_find_network(c, "pub");
    priv = wirt_config_find_network(c, "priv");
    g_assert_cmpint(pub->mode, ==, WIRT_NET_DIRECT);
    g_assert_cmpstr(pub->device, ==, "eth0");
    g_assert_null(pub->macvtap_mode);
    g_assert_null(pub->subnet);
    g_assert_false(pub->dhcp);
    g_assert_cmpstr(priv->macvtap_mode, ==, "private");
    xml = wirt_config_network_xml(priv, &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(xml, "<forward mode='private'>\n    <interface dev='enp1s0.42'/>"));
    g_assert_null(strstr(xml, "<bridge"));
    g_assert_null(strstr(xml, "<ip"));
}

static const struct {
    const char *text;
    const char *message;
} bad_cases[] = {
    {"[daemon]\nsecurity-mode=wide-open\n", "t.conf:2: security-mode: 'wide-open' is not"},
    {"[daemon]\n\nallow-delete=maybe\n", "t.conf:3: allow-delete: 'maybe' is not true or false"},
    {"[daemon]\nuser-grop=x\n", "t.conf:2: unknown key 'user-grop' in [daemon]"},
    {"[deamon]\n", "t.conf:1: unknown group [deamon]"},
    {"[daemon]\nthis is not a key\n", "t.conf:2: expected 'key=value'"},
    {"foo=bar\n", "t.conf:1: key outside any [group]"},
    {"[quota]\nvms=lots\n", "t.conf:2: vms: 'lots' is not a whole number"},
    {"[pool a]\nuris=\n", "t.conf:1: [pool a]: 'uris' lists no libvirt URI"},
    {"[pool a]\nuris=/var/run/x\n", "t.conf:2: uris: '/var/run/x' is not a libvirt URI"},
    {"[pool a/b]\nuris=test:///default\n", "t.conf:1: [pool a/b]: pool name"},
    {"[daemon]\nsocket=relative.sock\n", "t.conf:2: socket: 'relative.sock' is not an absolute"},
    {"[daemon]\nstop-timeout=1\nstop-timeout=2\n", "t.conf:3: key 'stop-timeout' appears twice"},
    {"[vm]\nmax-vcpus=2\ndefault-vcpus=3\n", "t.conf:3: default-vcpus: '3' is not a whole"},
    {"[daemon\n", "t.conf:1: a group header must look like [name]"},
    {"[vm]\nstorage-pool=../etc\n", "t.conf:2: storage-pool: '../etc' is not a libvirt storage"},
    {"[vm]\nstorage-pool=a/b\n", "t.conf:2: storage-pool: 'a/b' is not a libvirt storage"},
    {"[vm]\nmax-box-gib=0\n", "t.conf:2: max-box-gib: '0' is not a whole number"},
    {"[vm]\nallow-nat-networks=perhaps\n", "t.conf:2: allow-nat-networks: 'perhaps' is not"},
    {"[network lab]\nmode=nat\n", "t.conf:1: [network lab]: 'subnet' is missing"},
    {"[network lab]\nsubnet=10.1.2.3/24\n", "t.conf:2: subnet: "},
    {"[network lab]\nsubnet=10.1.2.0/24\nmode=bridge\n",
     "t.conf:3: mode: 'bridge' is not isolated, nat, route or direct"},
    {"[network pub]\nmode=direct\n", "t.conf:1: [network pub]: mode=direct needs 'device'"},
    {"[network pub]\nmode=direct\ndevice=eth0 x\n", "t.conf:3: device: 'eth0 x' is not"},
    {"[network pub]\nmode=direct\ndevice=averyveryverylongname\n", "t.conf:3: device: "},
    {"[network pub]\nmode=direct\ndevice=eth0\nmacvtap-mode=hub\n",
     "t.conf:4: macvtap-mode: 'hub' is not bridge, vepa, private or passthrough"},
    {"[network lab]\nsubnet=10.1.2.0/24\ndevice=eth0\n",
     "t.conf:3: [network lab]: 'device' and 'macvtap-mode' are for mode=direct only"},
    {"[network lab]\nsubnet=10.1.2.0/24\ncolour=red\n",
     "t.conf:3: unknown key 'colour' in [network lab]"},
    {"[network a.b]\nsubnet=10.1.2.0/24\n", "t.conf:1: [network a.b]: network name"},
    {"[network lab]\nsubnet=10.1.2.0/24\n[network lab]\nsubnet=10.1.3.0/24\n",
     "t.conf:3: group [network lab] appears twice"},
    {"[network lab]\nsubnet=10.1.2.0/24\npool=nowhere\n",
     "t.conf:3: pool: no [pool nowhere] is configured"},
    {"[http]\nlisten=0.0.0.0:8443\n", "t.conf:2: listen: TCP needs tls-cert and tls-key"},
    {"[http]\nallow-plain-http=true\nlisten=0.0.0.0:8080\n",
     "t.conf:3: listen: '0.0.0.0:8080': plain HTTP is only allowed on loopback"},
    {"[http]\nlisten=localhost\n", "t.conf:2: listen: 'localhost' is not HOST:PORT"},
    {"[http]\nauth=pam;kerberos\n", "t.conf:2: auth: 'kerberos' is not pam, token or file:"},
    {"[http]\nadmin-auth=file:relative\n", "t.conf:2: admin-auth: 'file:relative' is not"},
};

static void
test_bad(gconstpointer data)
{
    gsize i = GPOINTER_TO_SIZE(data);
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConfig) c = load(bad_cases[i].text, &error);

    g_assert_null(c);
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    if (!g_str_has_prefix(error->message, bad_cases[i].message))
        g_error("got '%s', expected it to start with '%s'", error->message, bad_cases[i].message);
}

static void
test_http(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConfig) off = load("", NULL);
    g_autoptr(WirtConfig) c = load("[http]\n"
                                   "listen=0.0.0.0:8443;[::]:8443\n"
                                   "tls-cert=/etc/wirt/tls.crt\n"
                                   "tls-key=/etc/wirt/tls.key\n"
                                   "auth=pam;token\n"
                                   "xsl-stylesheet=/static/virt.xsl\n"
                                   "fail-limit=3\n",
                                   &error);
    g_autoptr(WirtConfig) plain =
        load("[http]\nallow-plain-http=true\nlisten=127.0.0.1:8080\n", NULL);

    g_assert_null(off->http.listen[0]); /* no TCP unless asked */
    g_assert_no_error(error);
    g_assert_cmpstr(c->http.listen[1], ==, "[::]:8443");
    g_assert_cmpstr(c->http.auth[1], ==, "token");
    g_assert_cmpstr(c->http.admin_auth[1], ==, "token"); /* defaults to auth */
    g_assert_cmpuint(c->http.fail_limit, ==, 3);
    g_assert_cmpstr(c->http.pam_service, ==, "wirt");
    g_assert_nonnull(plain);
    g_assert_true(plain->http.plain_http);
}

static void
test_missing_file(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConfig) c = wirt_config_load("/nonexistent/wirtd.conf", &error);

    g_assert_null(c);
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
}

static void
test_quota_check(void)
{
    WirtQuota quota = {2, 4, 1024};
    WirtUsage usage = {2, 2, 512};
    WirtUsage one_vm = {1, 1, 256};
    WirtUsage none = {0, 0, 0};
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) error2 = NULL;

    g_assert_false(wirt_quota_check(&quota, &usage, &one_vm, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_QUOTA);
    g_assert_cmpstr(error->message, ==, "quota: vms 2 of 2 used");
    usage.vms = 1;
    one_vm.memory_mib = 600;
    g_assert_false(wirt_quota_check(&quota, &usage, &one_vm, &error2));
    g_assert_cmpstr(error2->message, ==, "quota: memory-mib 512 of 1024 used, 600 more asked");
    one_vm.memory_mib = 512;
    g_assert_true(wirt_quota_check(&quota, &usage, &one_vm, NULL));
    quota.vms = -1;
    usage.vms = 1000;
    g_assert_true(wirt_quota_check(&quota, &usage, &none, NULL));
}

static void
test_usage(void)
{
    g_autoptr(GPtrArray) vms = g_ptr_array_new();
    WirtVm a = {.owner = "alice", .vcpus = 2, .memory_mib = 512};
    WirtVm b = {.owner = "bob", .vcpus = 1, .memory_mib = 256};
    WirtVm c = {.owner = "alice", .vcpus = 1, .memory_mib = 128};
    WirtVm d = {.owner = NULL, .vcpus = 8, .memory_mib = 8192};
    WirtUsage usage;

    g_ptr_array_add(vms, &a);
    g_ptr_array_add(vms, &b);
    g_ptr_array_add(vms, &c);
    g_ptr_array_add(vms, &d);
    wirt_usage_for_owner(vms, "alice", &usage);
    g_assert_cmpint(usage.vms, ==, 2);
    g_assert_cmpint(usage.vcpus, ==, 3);
    g_assert_cmpint(usage.memory_mib, ==, 640);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/config/defaults", test_defaults);
    g_test_add_func("/config/full", test_full);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/config/bad/%zu", i);
        g_test_add_data_func(path, GSIZE_TO_POINTER(i), test_bad);
    }
    g_test_add_func("/config/missing-file", test_missing_file);
    g_test_add_func("/config/http", test_http);
    g_test_add_func("/config/networks", test_networks);
    g_test_add_func("/config/network-direct", test_network_direct);
    g_test_add_func("/quota/check", test_quota_check);
    g_test_add_func("/quota/usage", test_usage);
    return g_test_run();
}
