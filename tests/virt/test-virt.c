/* test-virt.c: the libvirt adapter on libvirt's test driver (tier 2).
 *
 * Each case opens the fixture node file (tests/data/virt-node.xml, passed in
 * WIRT_VIRT_FIXTURE) through a fresh WirtHosts: every virConnectOpen() of a
 * test:///path gets a private copy, so cases do not see each other's changes.
 * Worker functions are called straight from the main thread here: the test
 * driver is in-process and never needs the loop to answer.
 *
 * libvirt itself is included only to check what wirt cannot show (storage
 * volumes after a delete) on test:///default, whose state is shared by all
 * connections of the process.
 */
#include <libvirt-glib/libvirt-glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/wirt-config.h"
#include "core/wirt-error.h"
#include "virt/wirt-virt.h"

#define WAIT_MS 5000
#define UUID_ALICE_WEB "6f9d0a58-0001-4c4e-9a2b-000000000001"
#define UUID_BOB_WEB "6f9d0a58-0002-4c4e-9a2b-000000000002"
#define UUID_ALICE_DB "6f9d0a58-0003-4c4e-9a2b-000000000003"
#define UUID_CAROL_TMP "6f9d0a58-0004-4c4e-9a2b-000000000004"
#define UUID_LEGACY "6f9d0a58-0005-4c4e-9a2b-000000000005"
#define UUID_BROKEN "6f9d0a58-0006-4c4e-9a2b-000000000006"
#define FIXTURE_VMS 6

typedef struct {
    WirtConfig *config;
    WirtHosts *hosts;
    guint listener;
    guint updated;
    guint removed;
    GHashTable *removed_uuids; /* set */
} Fixture;

static char *
fixture_uri(void)
{
    const char *path = g_getenv("WIRT_VIRT_FIXTURE");
    g_autofree char *fallback = NULL;

    if (!path) {
        const char *root = g_getenv("WIRT_SOURCE_ROOT");

        g_assert_nonnull(root);
        path = fallback = g_build_filename(root, "tests", "data", "virt-node.xml", NULL);
    }
    g_assert_true(g_path_is_absolute(path));
    return g_strconcat("test://", path, NULL);
}

static void
on_changed(WirtVmChange change, WirtVm *vm, gpointer user_data)
{
    Fixture *f = user_data;

    g_assert_nonnull(vm);
    g_assert_nonnull(vm->uuid);
    if (change == WIRT_VM_CHANGE_UPDATED) {
        f->updated++;
        g_hash_table_remove(f->removed_uuids, vm->uuid);
    } else {
        f->removed++;
        g_hash_table_add(f->removed_uuids, g_strdup(vm->uuid));
    }
}

static void
fixture_start(Fixture *f, WirtConfig *config)
{
    f->config = config;
    f->removed_uuids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    f->hosts = wirt_hosts_new(f->config);
    f->listener = wirt_hosts_add_listener(f->hosts, on_changed, f);
    g_assert_cmpuint(f->listener, !=, 0);
    wirt_hosts_start(f->hosts);
    wirt_hosts_wait_ready(f->hosts, WAIT_MS);
}

static void
fixture_start_uris(Fixture *f, const char *const *uris)
{
    WirtConfig *config = wirt_config_new_default();

    wirt_config_set_uris(config, uris);
    fixture_start(f, config);
}

static void
fixture_setup(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autofree char *uri = fixture_uri();
    const char *const uris[] = {uri, NULL};

    fixture_start_uris(f, uris);
}

static void
fixture_teardown(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    wirt_hosts_remove_listener(f->hosts, f->listener);
    g_clear_pointer(&f->hosts, wirt_hosts_free);
    g_clear_pointer(&f->config, wirt_config_free);
    g_clear_pointer(&f->removed_uuids, g_hash_table_unref);
}

static WirtHost *
first_host(Fixture *f)
{
    g_autoptr(GPtrArray) hosts = wirt_hosts_list(f->hosts);

    g_assert_cmpuint(hosts->len, >=, 1);
    return g_ptr_array_index(hosts, 0);
}

static WirtConn *
first_conn(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    WirtConn *conn = wirt_host_get_conn(first_host(f), &error);

    g_assert_no_error(error);
    g_assert_nonnull(conn);
    return conn;
}

/* (transfer none) (nullable): the cached snapshot with @uuid. */
static WirtVm *
cached(Fixture *f, const char *uuid)
{
    g_autoptr(GPtrArray) vms = wirt_hosts_list_vms(f->hosts);

    for (guint i = 0; i < vms->len; i++) {
        WirtVm *vm = g_ptr_array_index(vms, i);

        if (g_str_equal(vm->uuid, uuid))
            return vm;
    }
    return NULL;
}

typedef gboolean (*CheckFunc)(Fixture *f, gconstpointer data);

/* Runs the main loop until @check holds, or fails the test after WAIT_MS. */
static void
wait_until(Fixture *f, CheckFunc check, gconstpointer data, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * G_TIME_SPAN_MILLISECOND;

    while (!check(f, data)) {
        if (g_get_monotonic_time() > deadline)
            g_error("timed out waiting for %s", what);
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

/* Lets pending events and completions run for @ms. */
static void
spin(guint ms)
{
    gint64 deadline = g_get_monotonic_time() + ms * G_TIME_SPAN_MILLISECOND;

    while (g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

typedef struct {
    const char *uuid;
    WirtVmState state;
} StateWant;

static gboolean
check_state(Fixture *f, gconstpointer data)
{
    const StateWant *want = data;
    WirtVm *vm = cached(f, want->uuid);

    return vm && vm->state == want->state;
}

static void
wait_state(Fixture *f, const char *uuid, WirtVmState state)
{
    StateWant want = {uuid, state};
    g_autofree char *what = g_strdup_printf("%s to be %s", uuid, wirt_vm_state_to_string(state));

    wait_until(f, check_state, &want, what);
}

static gboolean
check_present(Fixture *f, gconstpointer uuid)
{
    return cached(f, uuid) != NULL;
}

static gboolean
check_gone(Fixture *f, gconstpointer uuid)
{
    return cached(f, uuid) == NULL && g_hash_table_contains(f->removed_uuids, uuid);
}

static void
assert_vm(const WirtVm *vm, const char *owner, const char *name, const char *domain,
          WirtVmState state, guint64 memory_mib, guint vcpus, gboolean persistent)
{
    g_assert_nonnull(vm);
    g_assert_cmpstr(vm->owner, ==, owner);
    g_assert_cmpstr(vm->name, ==, name);
    g_assert_cmpstr(vm->domain, ==, domain);
    g_assert_cmpstr(wirt_vm_state_to_string(vm->state), ==, wirt_vm_state_to_string(state));
    g_assert_cmpuint(vm->memory_mib, ==, memory_mib);
    g_assert_cmpuint(vm->vcpus, ==, vcpus);
    g_assert_cmpint(vm->persistent, ==, persistent);
}

/* --- initial load --- */

static void
test_load(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    WirtHost *host = first_host(f);
    const char *node = wirt_host_get_node(host);
    g_autoptr(GPtrArray) vms = wirt_hosts_list_vms(f->hosts);
    g_autoptr(WirtVm) found = NULL;
    WirtVm *vm = NULL;

    g_assert_true(wirt_host_is_up(host));
    g_assert_null(wirt_host_get_last_error(host));
    g_assert_cmpuint(wirt_host_get_failures(host), ==, 0);
    g_assert_cmpstr(wirt_host_get_pool(host), ==, "default");
    g_assert_cmpuint(wirt_host_get_memory_mib(host), ==, 8192);
    g_assert_nonnull(node);
    g_assert_cmpstr(node, !=, wirt_host_get_uri(host)); /* the libvirt host name */
    g_assert_true(wirt_hosts_find_host(f->hosts, node) == host);
    g_assert_null(wirt_hosts_find_host(f->hosts, "no-such-node"));

    g_assert_cmpuint(vms->len, ==, FIXTURE_VMS);
    g_assert_cmpuint(f->updated, ==, FIXTURE_VMS);
    for (guint i = 0; i < vms->len; i++) {
        vm = g_ptr_array_index(vms, i);
        g_assert_cmpstr(vm->pool, ==, "default");
        g_assert_cmpstr(vm->node, ==, node);
    }

    vm = cached(f, UUID_ALICE_WEB);
    assert_vm(vm, "alice", "web", "alice.web", WIRT_VM_STATE_SHUTOFF, 512, 2, TRUE);
    g_assert_false(vm->autostart);
    g_assert_cmpstr(vm->created, ==, "2024-05-01T10:00:00Z");
    g_assert_cmpstr(vm->created_by, ==, "alice");
    g_assert_cmpstr(vm->door, ==, "cli");
    assert_vm(cached(f, UUID_BOB_WEB), "bob", "web", "bob.web", WIRT_VM_STATE_RUNNING, 1024, 1,
              TRUE);
    assert_vm(cached(f, UUID_ALICE_DB), "alice", "db", "alice.db", WIRT_VM_STATE_PAUSED, 2048, 4,
              TRUE);
    g_assert_null(cached(f, UUID_ALICE_DB)->created);
    assert_vm(cached(f, UUID_CAROL_TMP), "carol", "tmp", "carol.tmp", WIRT_VM_STATE_RUNNING, 128, 1,
              FALSE);
    /* Not wirt VMs: no metadata, or metadata wirt refuses. */
    assert_vm(cached(f, UUID_LEGACY), NULL, "legacy", "legacy", WIRT_VM_STATE_RUNNING, 256, 1,
              TRUE);
    assert_vm(cached(f, UUID_BROKEN), NULL, "broken", "broken", WIRT_VM_STATE_SHUTOFF, 64, 1, TRUE);

    /* The (owner, name) index and the domain lookup. */
    found = wirt_hosts_find_vm(f->hosts, "alice", "web");
    g_assert_cmpstr(found->uuid, ==, UUID_ALICE_WEB);
    g_clear_pointer(&found, wirt_vm_unref);
    found = wirt_hosts_find_vm(f->hosts, "bob", "web");
    g_assert_cmpstr(found->uuid, ==, UUID_BOB_WEB);
    g_clear_pointer(&found, wirt_vm_unref);
    found = wirt_hosts_find_vm(f->hosts, NULL, "legacy");
    g_assert_cmpstr(found->uuid, ==, UUID_LEGACY);
    g_clear_pointer(&found, wirt_vm_unref);
    g_assert_null(wirt_hosts_find_vm(f->hosts, NULL, "alice.web")); /* owned: not by domain */
    g_assert_null(wirt_hosts_find_vm(f->hosts, "alice", "legacy"));
    g_assert_null(wirt_hosts_find_vm(f->hosts, "carol", "web"));
    found = wirt_hosts_find_domain(f->hosts, NULL, "bob.web");
    g_assert_cmpstr(found->uuid, ==, UUID_BOB_WEB);
    g_clear_pointer(&found, wirt_vm_unref);
    found = wirt_hosts_find_domain(f->hosts, node, "legacy");
    g_assert_cmpstr(found->uuid, ==, UUID_LEGACY);
    g_assert_null(wirt_hosts_find_domain(f->hosts, "other-node", "legacy"));
    g_assert_null(wirt_hosts_find_domain(f->hosts, NULL, "nope"));
}

/* --- define --- */

static void
test_define(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);
    WirtVmSpec spec = {.owner = "carol", .name = "app", .memory_mib = 256, .vcpus = 2};
    WirtMeta meta = {.owner = "carol",
                     .name = "app",
                     .created = "2024-06-01T00:00:00Z",
                     .created_by = "carol",
                     .door = "http"};
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) vm = wirt_virt_define_vm(conn, &spec, &meta, &error);
    g_autoptr(WirtVm) again = NULL;
    g_autoptr(WirtVm) found = NULL;

    g_assert_no_error(error);
    assert_vm(vm, "carol", "app", "carol.app", WIRT_VM_STATE_SHUTOFF, 256, 2, TRUE);
    g_assert_cmpstr(vm->created, ==, "2024-06-01T00:00:00Z");
    g_assert_cmpstr(vm->door, ==, "http");
    g_assert_cmpstr(vm->pool, ==, "default");
    g_assert_cmpstr(vm->node, ==, wirt_host_get_node(first_host(f)));

    /* No wirt_hosts_update_vm(): the DEFINED event alone brings it in. */
    wait_until(f, check_present, vm->uuid, "the DEFINED event");
    found = wirt_hosts_find_vm(f->hosts, "carol", "app");
    g_assert_nonnull(found);
    g_assert_cmpstr(found->uuid, ==, vm->uuid);

    again = wirt_virt_define_vm(conn, &spec, &meta, &error);
    g_assert_null(again);
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT);
    g_assert_cmpstr(error->message, ==, "vm app already exists");
    g_clear_error(&error);

    /* What wirt_domain_xml_build() wrote also starts. */
    g_assert_true(wirt_virt_vm_action(conn, vm->uuid, WIRT_ACTION_START, FALSE, &error));
    g_assert_no_error(error);
    wait_state(f, vm->uuid, WIRT_VM_STATE_RUNNING);
}

/* --- actions and their events --- */

static void
do_action(WirtConn *conn, const char *uuid, WirtAction action)
{
    g_autoptr(GError) error = NULL;

    g_test_message("%s %s", wirt_action_to_string(action), uuid);
    g_assert_true(wirt_virt_vm_action(conn, uuid, action, TRUE, &error));
    g_assert_no_error(error);
}

static void
assert_action_fails(WirtConn *conn, const char *uuid, WirtAction action, int code,
                    const char *message_start)
{
    g_autoptr(GError) error = NULL;

    g_assert_false(wirt_virt_vm_action(conn, uuid, action, TRUE, &error));
    g_assert_error(error, WIRT_ERROR, code);
    if (message_start)
        g_assert_true(g_str_has_prefix(error->message, message_start));
}

static void
test_actions(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);
    const char *uuid = UUID_ALICE_WEB;
    guint updated = f->updated;

    do_action(conn, uuid, WIRT_ACTION_START);
    wait_state(f, uuid, WIRT_VM_STATE_RUNNING);
    g_assert_cmpuint(f->updated, >, updated);
    assert_action_fails(conn, uuid, WIRT_ACTION_START, WIRT_ERROR_CONFLICT,
                        "vm alice.web: cannot start: it is running");

    do_action(conn, uuid, WIRT_ACTION_SUSPEND);
    wait_state(f, uuid, WIRT_VM_STATE_PAUSED);
    do_action(conn, uuid, WIRT_ACTION_RESUME);
    wait_state(f, uuid, WIRT_VM_STATE_RUNNING);
    assert_action_fails(conn, uuid, WIRT_ACTION_RESUME, WIRT_ERROR_CONFLICT,
                        "vm alice.web: cannot resume");

    do_action(conn, uuid, WIRT_ACTION_REBOOT);
    spin(50);
    wait_state(f, uuid, WIRT_VM_STATE_RUNNING);

    do_action(conn, uuid, WIRT_ACTION_STOP); /* the test driver's guests obey at once */
    wait_state(f, uuid, WIRT_VM_STATE_SHUTOFF);
    assert_action_fails(conn, uuid, WIRT_ACTION_STOP, WIRT_ERROR_CONFLICT,
                        "vm alice.web: cannot stop: it is shutoff");
    assert_action_fails(conn, uuid, WIRT_ACTION_DESTROY, WIRT_ERROR_CONFLICT, NULL);

    do_action(conn, uuid, WIRT_ACTION_START);
    wait_state(f, uuid, WIRT_VM_STATE_RUNNING);
    do_action(conn, uuid, WIRT_ACTION_DESTROY);
    wait_state(f, uuid, WIRT_VM_STATE_SHUTOFF);

    /* Paused: alice.db. */
    do_action(conn, UUID_ALICE_DB, WIRT_ACTION_RESUME);
    wait_state(f, UUID_ALICE_DB, WIRT_VM_STATE_RUNNING);

    assert_action_fails(conn, "6f9d0a58-ffff-4c4e-9a2b-00000000ffff", WIRT_ACTION_START,
                        WIRT_ERROR_NOT_FOUND, NULL);
    assert_action_fails(conn, uuid, WIRT_ACTION_LIST, WIRT_ERROR_INVALID, NULL);
    assert_action_fails(conn, uuid, WIRT_ACTION_DELETE, WIRT_ERROR_INVALID, NULL);
}

static void
test_autostart(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) fresh = NULL;

    g_assert_false(cached(f, UUID_BOB_WEB)->autostart);
    g_assert_true(wirt_virt_vm_action(conn, UUID_BOB_WEB, WIRT_ACTION_AUTOSTART, TRUE, &error));
    g_assert_no_error(error);
    /* No event for autostart: the service fetches and updates. */
    fresh = wirt_virt_vm_fetch(conn, UUID_BOB_WEB, &error);
    g_assert_no_error(error);
    g_assert_true(fresh->autostart);
    wirt_hosts_update_vm(f->hosts, fresh);
    g_assert_true(cached(f, UUID_BOB_WEB)->autostart);
    g_clear_pointer(&fresh, wirt_vm_unref);

    g_assert_true(wirt_virt_vm_action(conn, UUID_BOB_WEB, WIRT_ACTION_AUTOSTART, FALSE, &error));
    fresh = wirt_virt_vm_fetch(conn, UUID_BOB_WEB, &error);
    g_assert_no_error(error);
    g_assert_false(fresh->autostart);
}

/* A transient domain is gone once it stops. */
static void
test_transient(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);

    do_action(conn, UUID_CAROL_TMP, WIRT_ACTION_DESTROY);
    wait_until(f, check_gone, UUID_CAROL_TMP, "the transient domain to go");
    g_assert_null(wirt_hosts_find_vm(f->hosts, "carol", "tmp"));
}

/* Reads right after an action see it, before the event; the event does not
 * take it back. */
static void
test_update_before_event(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) fresh = NULL;
    WirtVm *before = cached(f, UUID_BOB_WEB);
    g_autoptr(WirtVm) kept = wirt_vm_ref(before);

    do_action(conn, UUID_BOB_WEB, WIRT_ACTION_SUSPEND);
    fresh = wirt_virt_vm_fetch(conn, UUID_BOB_WEB, &error);
    g_assert_no_error(error);
    wirt_hosts_update_vm(f->hosts, fresh);
    g_assert_cmpint(cached(f, UUID_BOB_WEB)->state, ==, WIRT_VM_STATE_PAUSED);
    spin(200); /* the SUSPENDED event arrives */
    g_assert_cmpint(cached(f, UUID_BOB_WEB)->state, ==, WIRT_VM_STATE_PAUSED);
    /* Snapshots are replaced, never edited: an old reference is unchanged. */
    g_assert_cmpint(kept->state, ==, WIRT_VM_STATE_RUNNING);

    /* An update for a host wirt does not know is ignored. */
    {
        g_autoptr(WirtVm) stray = wirt_vm_dup(fresh);

        g_free(stray->node);
        stray->node = g_strdup("elsewhere");
        stray->state = WIRT_VM_STATE_CRASHED;
        wirt_hosts_update_vm(f->hosts, stray);
        g_assert_cmpint(cached(f, UUID_BOB_WEB)->state, ==, WIRT_VM_STATE_PAUSED);
    }
}

/* --- delete --- */

static void
test_delete(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) found = NULL;

    g_assert_false(wirt_virt_vm_delete(conn, UUID_BOB_WEB, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT);
    g_assert_true(g_str_has_prefix(error->message, "vm bob.web: cannot delete"));
    g_clear_error(&error);
    g_assert_nonnull(cached(f, UUID_BOB_WEB));

    g_assert_true(wirt_virt_vm_delete(conn, UUID_ALICE_WEB, &error));
    g_assert_no_error(error);
    wait_until(f, check_gone, UUID_ALICE_WEB, "the UNDEFINED event");
    g_assert_null(wirt_hosts_find_vm(f->hosts, "alice", "web"));
    found = wirt_hosts_find_vm(f->hosts, "alice", "db");
    g_assert_nonnull(found);

    g_assert_false(wirt_virt_vm_delete(conn, UUID_ALICE_WEB, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* wirt_hosts_remove_vm() drops it at once (the service after a delete). */
    wirt_hosts_remove_vm(f->hosts, wirt_host_get_node(first_host(f)), UUID_BROKEN);
    g_assert_null(cached(f, UUID_BROKEN));
    g_assert_true(g_hash_table_contains(f->removed_uuids, UUID_BROKEN));
    wirt_hosts_remove_vm(f->hosts, "nowhere", UUID_BROKEN); /* no-op */
}

static void
ignore_libvirt_error(void *data G_GNUC_UNUSED, virErrorPtr error G_GNUC_UNUSED)
{
}

static gboolean
volume_exists(virConnectPtr conn, const char *path)
{
    virStorageVolPtr vol = virStorageVolLookupByPath(conn, path);

    if (!vol)
        return FALSE;
    virStorageVolFree(vol);
    return TRUE;
}

static void
create_volume(virStoragePoolPtr pool, const char *name)
{
    g_autofree char *xml = g_strdup_printf("<volume><name>%s</name>"
                                           "<capacity unit='MiB'>1</capacity></volume>",
                                           name);
    virStorageVolPtr vol = virStorageVolCreateXML(pool, xml, 0);

    g_assert_nonnull(vol);
    virStorageVolFree(vol);
}

/* Delete removes the VM's own volumes, not a shared ISO, not paths outside pools. */
static void
test_delete_volumes(void)
{
    static const char domain_xml[] =
        "<domain type='test'><name>dave.box</name><memory unit='MiB'>64</memory>"
        "<metadata><vm xmlns='" WIRT_META_NS "' owner='dave' name='box'/></metadata>"
        "<os><type>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/default-pool/dave-box.img'/>"
        "<target dev='vda'/></disk>"
        "<disk type='file' device='disk'><source file='/default-pool/shared.img'/>"
        "<target dev='vdb'/><shareable/></disk>"
        "<disk type='file' device='cdrom'><source file='/default-pool/install.iso'/>"
        "<target dev='hdc'/><readonly/></disk>"
        "<disk type='file' device='disk'><source file='/var/tmp/not-in-a-pool.img'/>"
        "<target dev='vdc'/></disk>"
        "</devices></domain>";
    const char *const uris[] = {"test:///default", NULL};
    Fixture fixture = {0};
    Fixture *f = &fixture;
    virConnectPtr check = NULL;
    virStoragePoolPtr pool = NULL;
    virDomainPtr dom = NULL;
    g_autoptr(WirtVm) vm = NULL;
    g_autoptr(WirtConn) conn = NULL;
    g_autoptr(GError) error = NULL;

    virSetErrorFunc(NULL, ignore_libvirt_error);
    /* Our own connection to the shared default driver, to set up and check. */
    check = virConnectOpen("test:///default");
    g_assert_nonnull(check);
    pool = virStoragePoolLookupByName(check, "default-pool");
    g_assert_nonnull(pool);
    create_volume(pool, "dave-box.img");
    create_volume(pool, "shared.img");
    create_volume(pool, "install.iso");
    dom = virDomainDefineXML(check, domain_xml);
    g_assert_nonnull(dom);
    virDomainFree(dom);

    fixture_start_uris(f, uris);
    vm = wirt_hosts_find_vm(f->hosts, "dave", "box");
    g_assert_nonnull(vm);
    conn = first_conn(f);
    g_assert_true(wirt_virt_vm_delete(conn, vm->uuid, &error));
    g_assert_no_error(error);
    wait_until(f, check_gone, vm->uuid, "the UNDEFINED event");

    g_assert_false(volume_exists(check, "/default-pool/dave-box.img"));
    g_assert_true(volume_exists(check, "/default-pool/shared.img"));
    g_assert_true(volume_exists(check, "/default-pool/install.iso"));

    g_clear_pointer(&conn, wirt_conn_unref);
    fixture_teardown(f, NULL);
    virStoragePoolFree(pool);
    virConnectClose(check);
}

/* --- adopt: set_meta and the METADATA_CHANGE event --- */

typedef struct {
    const char *uuid;
    const char *owner;
} OwnerWant;

static gboolean
check_owner(Fixture *f, gconstpointer data)
{
    const OwnerWant *want = data;
    WirtVm *vm = cached(f, want->uuid);

    return vm && g_strcmp0(vm->owner, want->owner) == 0;
}

static void
test_adopt(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);
    g_autoptr(GError) error = NULL;
    g_autofree char *uuid = wirt_virt_lookup_domain(conn, "legacy", &error);
    WirtMeta meta = {.owner = "dave", .name = "old", .created_by = "root", .door = "cli"};
    WirtMeta meta2 = {.owner = "dave", .name = "older"};
    WirtMeta bad = {.owner = "dave", .name = "old.one"};
    OwnerWant want = {UUID_LEGACY, "dave"};
    g_autoptr(WirtVm) found = NULL;
    g_autofree char *missing = NULL;

    g_assert_no_error(error);
    g_assert_cmpstr(uuid, ==, UUID_LEGACY);
    g_assert_null(cached(f, UUID_LEGACY)->owner);

    g_assert_true(wirt_virt_vm_set_meta(conn, uuid, &meta, &error));
    g_assert_no_error(error);
    /* No wirt_hosts_update_vm(): the METADATA_CHANGE event alone does it. */
    wait_until(f, check_owner, &want, "the METADATA_CHANGE event");
    found = wirt_hosts_find_vm(f->hosts, "dave", "old");
    g_assert_nonnull(found);
    assert_vm(found, "dave", "old", "legacy", WIRT_VM_STATE_RUNNING, 256, 1, TRUE);
    g_assert_cmpstr(found->created_by, ==, "root");
    g_assert_null(wirt_hosts_find_vm(f->hosts, NULL, "legacy"));

    /* Shut off: only the persistent config is written. It also repairs
     * metadata wirt refused. */
    g_assert_true(wirt_virt_vm_set_meta(conn, UUID_BROKEN, &meta2, &error));
    g_assert_no_error(error);
    want.uuid = UUID_BROKEN;
    wait_until(f, check_owner, &want, "metadata on a shut-off domain");
    g_clear_pointer(&found, wirt_vm_unref);
    found = wirt_hosts_find_vm(f->hosts, "dave", "older");
    g_assert_nonnull(found);
    g_assert_cmpstr(found->uuid, ==, UUID_BROKEN);

    g_assert_false(wirt_virt_vm_set_meta(conn, uuid, &bad, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);

    missing = wirt_virt_lookup_domain(conn, "nope", &error);
    g_assert_null(missing);
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
}

/* --- placement input --- */

static void
test_free_memory(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(WirtConn) conn = first_conn(f);
    g_autoptr(GError) error = NULL;
    guint64 free_mib = 0;
    gboolean ok = wirt_virt_free_memory(conn, &free_mib, &error);

    g_assert_no_error(error);
    g_assert_true(ok);
    /* 8192 minus the active domains: bob.web, alice.db, carol.tmp, legacy. */
    g_assert_cmpuint(free_mib, ==, 8192 - 1024 - 2048 - 128 - 256);
}

/* --- several hosts --- */

static void
test_two_hosts(void)
{
    g_autofree char *uri = fixture_uri();
    g_autofree char *conf =
        g_strdup_printf("[pool red]\nuris=%s\n[pool blue]\nuris=%s\n", uri, uri);
    g_autoptr(GError) error = NULL;
    WirtConfig *config = wirt_config_load_data(conf, strlen(conf), "test.conf", &error);
    Fixture fixture = {0};
    Fixture *f = &fixture;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(GPtrArray) vms = NULL;
    g_autoptr(WirtVm) found = NULL;
    WirtHost *red = NULL;
    WirtHost *blue = NULL;
    g_autofree char *suffixed = NULL;

    g_assert_no_error(error);
    fixture_start(f, config);
    hosts = wirt_hosts_list(f->hosts);
    g_assert_cmpuint(hosts->len, ==, 2);
    red = g_ptr_array_index(hosts, 0);
    blue = g_ptr_array_index(hosts, 1);
    g_assert_cmpstr(wirt_host_get_pool(red), ==, "red");
    g_assert_cmpstr(wirt_host_get_pool(blue), ==, "blue");
    g_assert_true(wirt_host_is_up(red));
    g_assert_true(wirt_host_is_up(blue));

    /* Same machine, same host name: the labels still differ. */
    g_assert_cmpstr(wirt_host_get_node(red), !=, wirt_host_get_node(blue));
    if (g_str_has_suffix(wirt_host_get_node(red), "-2"))
        suffixed = g_strconcat(wirt_host_get_node(blue), "-2", NULL);
    else
        suffixed = g_strconcat(wirt_host_get_node(red), "-2", NULL);
    g_assert_true(g_str_equal(suffixed, wirt_host_get_node(red)) ||
                  g_str_equal(suffixed, wirt_host_get_node(blue)));
    g_assert_true(wirt_hosts_find_host(f->hosts, wirt_host_get_node(blue)) == blue);

    vms = wirt_hosts_list_vms(f->hosts);
    g_assert_cmpuint(vms->len, ==, 2 * FIXTURE_VMS);
    for (guint i = 0; i < vms->len; i++) {
        WirtVm *vm = g_ptr_array_index(vms, i);
        WirtHost *host = wirt_hosts_find_host(f->hosts, vm->node);

        g_assert_nonnull(host);
        g_assert_cmpstr(vm->pool, ==, wirt_host_get_pool(host));
    }
    found = wirt_hosts_find_vm(f->hosts, "alice", "web");
    g_assert_nonnull(found);
    g_clear_pointer(&found, wirt_vm_unref);
    found = wirt_hosts_find_domain(f->hosts, wirt_host_get_node(blue), "legacy");
    g_assert_cmpstr(found->pool, ==, "blue");

    fixture_teardown(f, NULL);
}

/* --- a host that is not there --- */

static void
test_host_down(void)
{
    g_autofree char *uri = fixture_uri();
    g_autofree char *bad =
        g_strdup_printf("test+unix:///default?socket=%s/nonexistent/sock", g_get_tmp_dir());
    const char *const uris[] = {uri, bad, NULL};
    Fixture fixture = {0};
    Fixture *f = &fixture;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(GPtrArray) vms = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConn) conn = NULL;
    WirtHost *down = NULL;
    gint64 start = g_get_monotonic_time();
    guint failures;
    guint max_attempts = 0;
    double elapsed;

    fixture_start_uris(f, uris);
    g_assert_cmpint(g_get_monotonic_time() - start, <, WAIT_MS * G_TIME_SPAN_MILLISECOND);
    hosts = wirt_hosts_list(f->hosts);
    down = g_ptr_array_index(hosts, 1);
    g_assert_true(wirt_host_is_up(g_ptr_array_index(hosts, 0)));
    g_assert_false(wirt_host_is_up(down));
    g_assert_cmpstr(wirt_host_get_node(down), ==, bad); /* never connected: the URI */
    g_assert_nonnull(wirt_host_get_last_error(down));
    g_assert_true(g_str_has_prefix(wirt_host_get_last_error(down), "cannot connect to "));
    g_assert_cmpuint(wirt_host_get_failures(down), >=, 1); /* 2 if the load was slow */
    g_assert_cmpuint(wirt_host_get_memory_mib(down), ==, 0);

    conn = wirt_host_get_conn(down, &error);
    g_assert_null(conn);
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN);
    g_assert_true(g_str_has_prefix(error->message, "host "));
    g_assert_nonnull(strstr(error->message, " is down: cannot connect to "));

    vms = wirt_hosts_list_vms(f->hosts);
    g_assert_cmpuint(vms->len, ==, FIXTURE_VMS); /* only the host that is up */

    /* Retried with backoff: attempts at 0, 0.5 s, 1.5 s, 3.5 s ... (a fixed
     * 0.5 s would make 4 or more by now). */
    spin(1800);
    failures = wirt_host_get_failures(down);
    elapsed = (double)(g_get_monotonic_time() - start) / G_TIME_SPAN_SECOND;
    for (double t = 0, delay = 0.5; t <= elapsed; t += delay, delay = MIN(delay * 2, 10))
        max_attempts++;
    g_test_message("%u failed attempts in %.2f s (backoff allows %u)", failures, elapsed,
                   max_attempts);
    g_assert_cmpuint(failures, >=, 2);
    g_assert_cmpuint(failures, <=, max_attempts);
    g_assert_false(wirt_host_is_up(down));

    fixture_teardown(f, NULL); /* with a retry pending */
}

/* wait_ready returns at its timeout even when nothing happens. */
static void
test_wait_ready_timeout(void)
{
    WirtConfig *config = wirt_config_new_default();
    g_autoptr(WirtHosts) hosts = NULL;
    gint64 start;

    hosts = wirt_hosts_new(config);
    start = g_get_monotonic_time();
    wirt_hosts_wait_ready(hosts, 100); /* not started: never ready */
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 90 * G_TIME_SPAN_MILLISECOND);
    g_clear_pointer(&hosts, wirt_hosts_free);
    wirt_config_free(config);
}

/* --- a real qemu:///system, when one runs --- */

static void
test_qemu_system(void)
{
    const char *const uris[] = {"qemu:///system", NULL};
    g_autofree char *name = g_strdup_printf("probe-%d", (int)getpid());
    WirtVmSpec spec = {.owner = "wirt-test", .name = name, .memory_mib = 64, .vcpus = 1};
    WirtMeta meta = {.owner = "wirt-test", .name = name, .door = "daemon"};
    Fixture fixture = {0};
    Fixture *f = &fixture;
    g_autoptr(WirtConn) conn = NULL;
    g_autoptr(WirtVm) vm = NULL;
    g_autoptr(GError) error = NULL;

    if (!g_file_test("/run/libvirt/libvirt-sock", G_FILE_TEST_EXISTS) &&
        !g_file_test("/run/libvirt/virtqemud-sock", G_FILE_TEST_EXISTS)) {
        g_test_skip("no system libvirtd is running");
        return;
    }
    fixture_start_uris(f, uris);
    if (!wirt_host_is_up(first_host(f))) {
        g_test_skip(wirt_host_get_last_error(first_host(f)));
        fixture_teardown(f, NULL);
        return;
    }
    conn = first_conn(f);
    vm = wirt_virt_define_vm(conn, &spec, &meta, &error);
    g_assert_no_error(error);
    assert_vm(vm, "wirt-test", name, vm->domain, WIRT_VM_STATE_SHUTOFF, 64, 1, TRUE);
    wait_until(f, check_present, vm->uuid, "the DEFINED event from libvirtd");
    /* It boots under TCG (no disk: it sits in the firmware), and events come
     * back through the remote driver. */
    do_action(conn, vm->uuid, WIRT_ACTION_START);
    wait_state(f, vm->uuid, WIRT_VM_STATE_RUNNING);
    do_action(conn, vm->uuid, WIRT_ACTION_DESTROY);
    wait_state(f, vm->uuid, WIRT_VM_STATE_SHUTOFF);
    /* Leave nothing behind. */
    g_assert_true(wirt_virt_vm_delete(conn, vm->uuid, &error));
    g_assert_no_error(error);
    wait_until(f, check_gone, vm->uuid, "the UNDEFINED event from libvirtd");
    g_clear_pointer(&conn, wirt_conn_unref);
    fixture_teardown(f, NULL);
}

/* --- libvirtd restarts under our feet --- */

typedef struct {
    GSubprocess *shell; /* started it with tests/lib/private-libvirtd.sh; stops it on EOF */
} PrivateLibvirtd;

/* Starts a private libvirtd (own mount and network namespaces, state in @dir)
 * with the integration tests' library; FALSE when it cannot run here. The shell
 * stops it (by PID) when its stdin closes: when we ask, or when this process
 * dies on a failed assertion, so no daemon outlives the test. */
static gboolean
private_libvirtd_start(PrivateLibvirtd *d, const char *dir)
{
    g_autofree char *lib =
        g_build_filename(g_getenv("WIRT_SOURCE_ROOT"), "tests", "lib", "private-libvirtd.sh", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GDataInputStream) out = NULL;
    g_autofree char *line = NULL;

    d->shell = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                    G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                &error, "bash", "-c",
                                ". \"$1\" && PRIVATE_LIBVIRTD_KEEP_TEST_WORLD=0"
                                " private_libvirtd_start \"$2\" </dev/null || exit 1;"
                                " echo started; read -r _; private_libvirtd_stop",
                                "private-libvirtd", lib, dir, NULL);
    g_assert_no_error(error);
    out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(d->shell));
    line = g_data_input_stream_read_line(out, NULL, NULL, NULL);
    if (g_strcmp0(line, "started") != 0) {
        g_subprocess_wait(d->shell, NULL, NULL);
        g_clear_object(&d->shell);
        return FALSE;
    }
    return TRUE;
}

/* Stops the libvirtd we started and waits until it is gone. */
static void
private_libvirtd_stop(PrivateLibvirtd *d)
{
    if (!d->shell)
        return;
    g_output_stream_close(g_subprocess_get_stdin_pipe(d->shell), NULL, NULL);
    g_subprocess_wait(d->shell, NULL, NULL);
    g_clear_object(&d->shell);
}

static gboolean
check_host_up(Fixture *f, gconstpointer up)
{
    return wirt_host_is_up(first_host(f)) == GPOINTER_TO_INT(up);
}

#define TEST_DRIVER_DOMAIN_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f" /* test:///default's */

static void
test_libvirtd_restart(void)
{
    /* In the per-test directory GLib removes after a passing run. */
    g_autofree char *dir = g_build_filename(g_get_user_runtime_dir(), "lv", NULL);
    g_autofree char *sock = g_build_filename(dir, "run", "libvirt", "libvirt-sock", NULL);
    g_autofree char *uri = g_strdup_printf("test+unix:///default?socket=%s", sock);
    const char *const uris[] = {uri, NULL};
    PrivateLibvirtd daemon = {0};
    Fixture fixture = {0};
    Fixture *f = &fixture;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConn) conn = NULL;
    g_autoptr(WirtConn) stale = NULL;
    g_autofree char *node = NULL;
    g_autofree char *libvirtd = g_find_program_in_path("libvirtd");
    g_autofree char *unshare = g_find_program_in_path("unshare");

    if (getuid() != 0 || !libvirtd || !unshare) {
        g_test_skip("needs root, libvirtd and unshare");
        return;
    }
    if (strlen(sock) >= 100) { /* sun_path is 108 bytes */
        g_test_skip("the temporary directory's path is too long for a unix socket");
        return;
    }
    if (!private_libvirtd_start(&daemon, dir)) {
        g_test_skip("a private libvirtd does not start here");
        return;
    }
    fixture_start_uris(f, uris);
    g_assert_true(wirt_host_is_up(first_host(f)));
    g_assert_nonnull(cached(f, TEST_DRIVER_DOMAIN_UUID));
    node = g_strdup(wirt_host_get_node(first_host(f)));
    stale = first_conn(f); /* a worker holding the old connection */

    private_libvirtd_stop(&daemon);
    wait_until(f, check_host_up, GINT_TO_POINTER(FALSE), "the host to go down");
    g_assert_true(g_hash_table_contains(f->removed_uuids, TEST_DRIVER_DOMAIN_UUID));
    g_assert_null(cached(f, TEST_DRIVER_DOMAIN_UUID));
    g_assert_nonnull(wirt_host_get_last_error(first_host(f)));
    g_test_message("down: %s", wirt_host_get_last_error(first_host(f)));
    conn = wirt_host_get_conn(first_host(f), &error);
    g_assert_null(conn);
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN);
    g_clear_error(&error);
    /* A worker still using the dead connection gets HOST_DOWN, not a crash. */
    g_assert_null(wirt_virt_vm_fetch(stale, TEST_DRIVER_DOMAIN_UUID, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN);
    g_clear_error(&error);
    g_clear_pointer(&stale, wirt_conn_unref);
    spin(700); /* at least one failed retry while it is away */

    g_assert_true(private_libvirtd_start(&daemon, dir));
    wait_until(f, check_host_up, GINT_TO_POINTER(TRUE), "the host to come back");
    wait_until(f, check_present, TEST_DRIVER_DOMAIN_UUID, "the domains to be read again");
    g_assert_cmpstr(wirt_host_get_node(first_host(f)), ==, node);
    g_assert_null(wirt_host_get_last_error(first_host(f)));
    g_assert_cmpuint(wirt_host_get_failures(first_host(f)), ==, 0);

    /* And it works again: events flow on the new connection. */
    conn = first_conn(f);
    do_action(conn, TEST_DRIVER_DOMAIN_UUID, WIRT_ACTION_SUSPEND);
    wait_state(f, TEST_DRIVER_DOMAIN_UUID, WIRT_VM_STATE_PAUSED);
    g_clear_pointer(&conn, wirt_conn_unref);

    fixture_teardown(f, NULL);
    private_libvirtd_stop(&daemon);
}

/* The qemu domain XML against libvirt's schema, when virt-xml-validate is there. */
static void
test_qemu_xml_schema(void)
{
    WirtVmSpec spec = {.owner = "alice", .name = "web", .memory_mib = 512, .vcpus = 1};
    WirtMeta meta = {.owner = "alice", .name = "web", .created = "2024-01-01T00:00:00Z"};
    static const char *const types[] = {"qemu", "kvm", "test"};
    g_autofree char *validate = g_find_program_in_path("virt-xml-validate");

    if (!validate) {
        g_test_skip("virt-xml-validate is not installed");
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = wirt_domain_xml_build(&spec, types[i], &meta, NULL, &error);
        g_autofree char *path = g_build_filename(g_get_user_cache_dir(), "domain.xml", NULL);
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;
        const char *argv[] = {validate, path, "domain", NULL};
        int status = -1;

        g_assert_no_error(error);
        g_assert_cmpint(g_mkdir_with_parents(g_get_user_cache_dir(), 0700), ==, 0);
        g_assert_true(g_file_set_contents(path, xml, -1, &error));
        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                   &err, &status, &error));
        g_assert_no_error(error);
        g_test_message("%s: %s%s", types[i], g_strstrip(out), g_strstrip(err));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
    }
}

/* Volumes named "vm." and "box." are wirt's (VMs' disks and seeds, boxes): no user name
 * makes them theirs, though OWNER.NAME would ("vm.alice.web" + ".qcow2"). */
static void
test_device_wirt_volumes(void)
{
    static const struct {
        const char *owner;
        const char *volume;
        gboolean ok;
    } cases[] = {
        {"vm.alice.web", "vm.alice.web.qcow2", FALSE},
        {"vm.alice.web.seed", "vm.alice.web.seed.iso", FALSE},
        {"box", "box.tiny", FALSE},
        {"box.alice", "box.alice.tiny", FALSE},
        {"alice", "alice.data", TRUE},
        {"alice", "bob.data", FALSE},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(WirtVirtDevice) dev = {0};
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = g_strdup_printf(
            "<disk type='volume'><source pool='default' volume='%s'/><target dev='vdb'/></disk>",
            cases[i].volume);

        g_assert_true(wirt_virt_device_parse(xml, strlen(xml), &dev, &error));
        g_assert_no_error(error);
        g_assert_cmpint(wirt_virt_device_check_user(&dev, cases[i].owner, TRUE, &error), ==,
                        cases[i].ok);
        if (!cases[i].ok)
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_DENIED);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    gvir_event_register(); /* before the first virConnectOpen() */

    g_test_add("/virt/load", Fixture, NULL, fixture_setup, test_load, fixture_teardown);
    g_test_add("/virt/define", Fixture, NULL, fixture_setup, test_define, fixture_teardown);
    g_test_add("/virt/actions", Fixture, NULL, fixture_setup, test_actions, fixture_teardown);
    g_test_add("/virt/autostart", Fixture, NULL, fixture_setup, test_autostart, fixture_teardown);
    g_test_add("/virt/transient", Fixture, NULL, fixture_setup, test_transient, fixture_teardown);
    g_test_add("/virt/update-before-event", Fixture, NULL, fixture_setup, test_update_before_event,
               fixture_teardown);
    g_test_add("/virt/delete", Fixture, NULL, fixture_setup, test_delete, fixture_teardown);
    g_test_add_func("/virt/delete/volumes", test_delete_volumes);
    g_test_add("/virt/adopt", Fixture, NULL, fixture_setup, test_adopt, fixture_teardown);
    g_test_add("/virt/free-memory", Fixture, NULL, fixture_setup, test_free_memory,
               fixture_teardown);
    g_test_add_func("/virt/two-hosts", test_two_hosts);
    g_test_add_func("/virt/host-down", test_host_down);
    g_test_add_func("/virt/wait-ready-timeout", test_wait_ready_timeout);
    g_test_add_func("/virt/qemu-system", test_qemu_system);
    g_test_add_func("/virt/libvirtd-restart", test_libvirtd_restart);
    g_test_add_func("/virt/xml-schema", test_qemu_xml_schema);
    g_test_add_func("/virt/device/wirt-volumes", test_device_wirt_volumes);
    return g_test_run();
}
