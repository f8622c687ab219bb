/* test-meta.c: wirt's <metadata> element and the domain XML for create.
 *
 * Golden files live in tests/data/golden/; WIRT_TEST_REGENERATE=1 rewrites
 * them (review the diff), like libvirt's VIR_TEST_REGENERATE_OUTPUT.
 */
#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-meta.h"

static void
meta_fill(WirtMeta *meta, const char *owner, const char *name)
{
    meta->owner = g_strdup(owner);
    meta->name = g_strdup(name);
    meta->created = g_strdup("2024-05-01T10:00:00Z");
    meta->created_by = g_strdup("root");
    meta->door = g_strdup("cli");
}

static void
test_format(void)
{
    g_auto(WirtMeta) meta = {0};
    g_autofree char *xml = NULL;

    meta_fill(&meta, "alice", "web");
    xml = wirt_meta_format(&meta);
    g_assert_cmpstr(xml, ==,
                    "<vm xmlns=\"" WIRT_META_NS "\" owner=\"alice\" name=\"web\""
                    " created=\"2024-05-01T10:00:00Z\" created-by=\"root\" door=\"cli\"/>");
}

static void
assert_meta_equal(const WirtMeta *a, const WirtMeta *b)
{
    g_assert_cmpstr(a->owner, ==, b->owner);
    g_assert_cmpstr(a->name, ==, b->name);
    g_assert_cmpstr(a->created, ==, b->created);
    g_assert_cmpstr(a->created_by, ==, b->created_by);
    g_assert_cmpstr(a->door, ==, b->door);
}

static void
test_round_trip(void)
{
    /* Owners may hold what XML must escape: NSS names are not our grammar. */
    static const char *const owners[] = {"alice", "john.doe", "a&b<c>\"d'e", "ren\xc3\xa9@ad"};

    for (gsize i = 0; i < G_N_ELEMENTS(owners); i++) {
        g_auto(WirtMeta) meta = {0};
        g_auto(WirtMeta) back = {0};
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = NULL;

        meta_fill(&meta, owners[i], "web-1");
        xml = wirt_meta_format(&meta);
        g_assert_true(wirt_meta_parse(xml, -1, &back, &error));
        g_assert_no_error(error);
        assert_meta_equal(&meta, &back);
    }
}

static void
test_round_trip_minimal(void)
{
    g_auto(WirtMeta) meta = {.owner = g_strdup("bob"), .name = g_strdup("db")};
    g_auto(WirtMeta) back = {0};
    g_autofree char *xml = wirt_meta_format(&meta);

    g_assert_null(strstr(xml, "created"));
    g_assert_true(wirt_meta_parse(xml, (gssize)strlen(xml), &back, NULL));
    assert_meta_equal(&meta, &back);
}

/* The shapes libvirt hands back, and forward compatibility. */
static const char *const accepted[] = {
    /* virDomainGetMetadata(): unprefixed, namespace stripped */
    "<vm owner=\"alice\" name=\"web\"/>",
    /* after virDomainSetMetadata() of our default-namespace element */
    "<vm xmlns:wirt=\"" WIRT_META_NS "\" owner=\"alice\" name=\"web\"/>",
    /* as it appears in the domain XML */
    "<wirt:vm xmlns:wirt=\"" WIRT_META_NS "\" owner=\"alice\" name=\"web\"/>",
    "<vm xmlns=\"" WIRT_META_NS "\" owner=\"alice\" name=\"web\"/>",
    /* a later version's attributes and children are ignored */
    "<vm owner=\"alice\" name=\"web\" template=\"debian\"><disk size=\"10\"/></vm>",
    "\n  <vm owner='alice' name='web'></vm>\n",
};

static void
test_parse_accepts(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(accepted); i++) {
        g_auto(WirtMeta) meta = {0};
        g_autoptr(GError) error = NULL;

        g_test_message("case %zu: %s", i, accepted[i]);
        g_assert_true(wirt_meta_parse(accepted[i], -1, &meta, &error));
        g_assert_no_error(error);
        g_assert_cmpstr(meta.owner, ==, "alice");
        g_assert_cmpstr(meta.name, ==, "web");
        g_assert_null(meta.created);
    }
}

static const char *const rejected[] = {
    "",
    "not xml",
    "<vm owner=\"alice\" name=\"web\">",        /* unterminated */
    "<vm name=\"web\"/>",                       /* no owner */
    "<vm owner=\"alice\"/>",                    /* no name */
    "<vm owner=\"\" name=\"web\"/>",            /* empty owner */
    "<vm owner=\"alice\" name=\"\"/>",          /* empty name */
    "<vm owner=\"alice\" name=\"web.1\"/>",     /* bad name */
    "<vm owner=\"alice\" name=\"-web\"/>",      /* bad name */
    "<vm owner=\"alice\" name=\"../../etc\"/>", /* bad name */
    "<vm owner=\"a/b\" name=\"web\"/>",         /* bad owner */
    "<vm owner=\"a b\" name=\"web\"/>",         /* bad owner */
    "<vm owner=\"a&#10;b\" name=\"web\"/>",     /* control character */
    "<box owner=\"alice\" name=\"web\"/>",      /* not a <vm> */
    "<vm xmlns=\"https://evil.example/\" owner=\"alice\" name=\"web\"/>",
    "<x:vm xmlns:x=\"https://evil.example/\" owner=\"alice\" name=\"web\"/>",
};

static void
test_parse_rejects(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(rejected); i++) {
        /* Never clobbered on failure. */
        g_auto(WirtMeta) meta = {.owner = g_strdup("keep"), .name = g_strdup("me")};
        g_autoptr(GError) error = NULL;

        g_test_message("case %zu: %s", i, rejected[i]);
        g_assert_false(wirt_meta_parse(rejected[i], -1, &meta, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
        g_assert_nonnull(strstr(error->message, "metadata"));
        g_assert_cmpstr(meta.owner, ==, "keep");
        g_assert_cmpstr(meta.name, ==, "me");
    }
}

static void
test_parse_len(void)
{
    const char *xml = "<vm owner=\"alice\" name=\"web\"/>garbage";
    g_auto(WirtMeta) meta = {0};

    g_assert_true(
        wirt_meta_parse(xml, (gssize)strlen("<vm owner=\"alice\" name=\"web\"/>"), &meta, NULL));
    g_assert_cmpstr(meta.name, ==, "web");
}

/* --- golden files for wirt_domain_xml_build() --- */

static void
check_golden(const char *name, const char *actual)
{
    const char *root = g_getenv("WIRT_SOURCE_ROOT");
    g_autofree char *path = NULL;
    g_autofree char *expected = NULL;
    g_autoptr(GError) error = NULL;

    if (!root) {
        g_test_skip("WIRT_SOURCE_ROOT is not set (run through meson test)");
        return;
    }
    path = g_build_filename(root, "tests", "data", "golden", name, NULL);
    if (g_strcmp0(g_getenv("WIRT_TEST_REGENERATE"), "1") == 0) {
        g_autofree char *dir = g_path_get_dirname(path);

        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        g_assert_true(g_file_set_contents(path, actual, -1, &error));
        g_assert_no_error(error);
        g_test_message("regenerated %s", path);
        return;
    }
    g_assert_true(g_file_get_contents(path, &expected, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(actual, ==, expected);
}

typedef struct {
    const char *golden;
    const char *type;
    const char *owner;
    const char *name;
    guint64 memory_mib;
    guint vcpus;
} XmlCase;

static const XmlCase xml_cases[] = {
    {"domain-test.xml", "test", "alice", "web", 512, 1},
    {"domain-qemu.xml", "qemu", "alice", "web", 1024, 2},
    {"domain-kvm.xml", "kvm", "bob", "db-1", 4096, 4},
    {"domain-escaped.xml", "qemu", "a&b<c>", "web", 256, 1},
};

static void
test_domain_xml(gconstpointer data)
{
    const XmlCase *c = data;
    WirtVmSpec spec = {.owner = (char *)c->owner,
                       .name = (char *)c->name,
                       .memory_mib = c->memory_mib,
                       .vcpus = c->vcpus};
    g_auto(WirtMeta) meta = {0};
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;

    meta_fill(&meta, c->owner, c->name);
    xml = wirt_domain_xml_build(&spec, c->type, &meta, NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(xml);
    check_golden(c->golden, xml);
}

static void
test_domain_xml_rejects(void)
{
    WirtVmSpec good = {.owner = "alice", .name = "web", .memory_mib = 512, .vcpus = 1};
    WirtVmSpec bad_name = {.owner = "alice", .name = "we b", .memory_mib = 512, .vcpus = 1};
    WirtVmSpec bad_owner = {.owner = "a/b", .name = "web", .memory_mib = 512, .vcpus = 1};
    WirtVmSpec no_memory = {.owner = "alice", .name = "web", .memory_mib = 0, .vcpus = 1};
    WirtVmSpec no_vcpus = {.owner = "alice", .name = "web", .memory_mib = 512, .vcpus = 0};
    const WirtVmSpec *specs[] = {&bad_name, &bad_owner, &no_memory, &no_vcpus};
    g_auto(WirtMeta) meta = {0};
    g_auto(WirtMeta) no_owner = {.name = g_strdup("web")};

    meta_fill(&meta, "alice", "web");
    for (gsize i = 0; i < G_N_ELEMENTS(specs); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = wirt_domain_xml_build(specs[i], "qemu", &meta, NULL, &error);

        g_assert_null(xml);
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
    {
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = wirt_domain_xml_build(&good, "xen' evil='1", &meta, NULL, &error);

        g_assert_null(xml);
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
    {
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = wirt_domain_xml_build(&good, "qemu", &no_owner, NULL, &error);

        g_assert_null(xml);
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
}

/* A VM from a box: overlay with its explicit base, seed CD-ROM, NIC without ROM, RNG. */
static void
test_domain_xml_box(void)
{
    WirtVmSpec spec = {.owner = "alice", .name = "web", .memory_mib = 256, .vcpus = 1};
    WirtVmDevices dev = {
        .disk_path = "/var/lib/libvirt/images/vm.alice.web.qcow2",
        .backing_path = "/var/lib/libvirt/images/box.tiny.qcow2",
        .seed_path = "/var/lib/libvirt/images/vm.alice.web.seed.iso",
        .network = "wirt-alice.lab",
        .mac = "52:54:00:AB:cd:01",
        .uuid = "0e0c4b0a-3c1b-4c8e-9a55-6d2b8f1e7a10",
    };
    g_auto(WirtMeta) meta = {0};
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;

    meta_fill(&meta, "alice", "web");
    meta.box = g_strdup("shared/tiny");
    meta.ssh_user = g_strdup("vagrant");
    xml = wirt_domain_xml_build(&spec, "qemu", &meta, &dev, &error);
    g_assert_no_error(error);
    check_golden("domain-box.xml", xml);

    /* vagrant-libvirt's per-VM options: q35 (seed on virtio-scsi), a cache mode, nested on KVM. */
    {
        WirtVmSpec opts = spec;
        g_autofree char *q35 = NULL;
        g_autofree char *tcg = NULL;
        g_autoptr(GError) local = NULL;

        opts.machine = "q35";
        opts.disk_cache = "unsafe";
        opts.nested = TRUE;
        q35 = wirt_domain_xml_build(&opts, "kvm", &meta, &dev, &local);
        g_assert_no_error(local);
        check_golden("domain-box-q35.xml", q35);
        tcg = wirt_domain_xml_build(&opts, "qemu", &meta, &dev, &local);
        g_assert_null(tcg);
        g_assert_error(local, WIRT_ERROR, WIRT_ERROR_INVALID);
        g_assert_nonnull(strstr(local->message, "needs KVM"));
        g_clear_error(&local);
        opts.nested = FALSE;
        opts.machine = "q35'/><evil";
        g_assert_false(wirt_vm_options_check(&opts, &local));
        g_assert_error(local, WIRT_ERROR, WIRT_ERROR_INVALID);
        g_clear_error(&local);
        opts.machine = NULL;
        opts.disk_cache = "fast";
        g_assert_false(wirt_vm_options_check(&opts, &local));
        g_assert_error(local, WIRT_ERROR, WIRT_ERROR_INVALID);
    }

    /* Anything that would be read twice is refused, never quoted. */
    {
        const WirtVmDevices bad[] = {
            {.disk_path = "relative.qcow2", .backing_path = dev.backing_path},
            {.disk_path = "/x/a'b.qcow2", .backing_path = dev.backing_path},
            {.disk_path = dev.disk_path, .backing_path = "/x/../etc/shadow"},
            {.disk_path = dev.disk_path, .backing_path = dev.backing_path, .seed_path = "/s<"},
            {.disk_path = dev.disk_path,
             .backing_path = dev.backing_path,
             .network = "default",
             .mac = "52:54:00:00:00:01"},
            {.disk_path = dev.disk_path,
             .backing_path = dev.backing_path,
             .network = "wirt-a' b",
             .mac = "52:54:00:00:00:01"},
            {.disk_path = dev.disk_path,
             .backing_path = dev.backing_path,
             .network = "wirt-lab",
             .mac = "ff:ff:ff:ff:ff:ff"},
            {.disk_path = dev.disk_path, .backing_path = dev.backing_path, .uuid = "x'"},
        };
        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
            g_autoptr(GError) local = NULL;
            g_autofree char *out = wirt_domain_xml_build(&spec, "qemu", &meta, &bad[i], &local);
            g_assert_null(out);
            g_assert_error(local, WIRT_ERROR, WIRT_ERROR_INVALID);
        }
    }
}

/* The box and the guest user survive a round trip through the metadata. */
static void
test_meta_box_fields(void)
{
    g_auto(WirtMeta) meta = {0};
    g_auto(WirtMeta) back = {0};
    g_autofree char *xml = NULL;

    meta_fill(&meta, "alice", "web");
    meta.box = g_strdup("alice/tiny");
    meta.ssh_user = g_strdup("debian");
    xml = wirt_meta_format(&meta);
    g_assert_true(wirt_meta_parse(xml, -1, &back, NULL));
    g_assert_cmpstr(back.box, ==, "alice/tiny");
    g_assert_cmpstr(back.ssh_user, ==, "debian");
}

/* The metadata inside the domain XML parses back (what virsh dumpxml shows). */
static void
test_domain_xml_meta(void)
{
    WirtVmSpec spec = {.owner = "a&b", .name = "web", .memory_mib = 512, .vcpus = 1};
    g_auto(WirtMeta) meta = {0};
    g_auto(WirtMeta) back = {0};
    g_autofree char *xml = NULL;
    const char *start = NULL;
    const char *end = NULL;

    meta_fill(&meta, "a&b", "web");
    xml = wirt_domain_xml_build(&spec, "test", &meta, NULL, NULL);
    g_assert_nonnull(strstr(xml, "<name>a&amp;b.web</name>"));
    start = strstr(xml, "<vm ");
    end = strstr(xml, "/>");
    g_assert_nonnull(start);
    g_assert_nonnull(end);
    g_assert_true(wirt_meta_parse(start, end + 2 - start, &back, NULL));
    assert_meta_equal(&meta, &back);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    g_test_add_func("/meta/format", test_format);
    g_test_add_func("/meta/round-trip/full", test_round_trip);
    g_test_add_func("/meta/round-trip/minimal", test_round_trip_minimal);
    g_test_add_func("/meta/parse/accepts", test_parse_accepts);
    g_test_add_func("/meta/parse/rejects", test_parse_rejects);
    g_test_add_func("/meta/parse/len", test_parse_len);
    for (gsize i = 0; i < G_N_ELEMENTS(xml_cases); i++) {
        g_autofree char *path = g_strdup_printf("/meta/domain-xml/%s", xml_cases[i].golden);

        g_test_add_data_func(path, &xml_cases[i], test_domain_xml);
    }
    g_test_add_func("/meta/domain-xml/box", test_domain_xml_box);
    g_test_add_func("/meta/box-fields", test_meta_box_fields);
    g_test_add_func("/meta/domain-xml/rejects", test_domain_xml_rejects);
    g_test_add_func("/meta/domain-xml/metadata", test_domain_xml_meta);
    return g_test_run();
}
