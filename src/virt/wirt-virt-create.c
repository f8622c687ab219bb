/* wirt-virt-create.c: a VM made from a box (issue 3; docs/boxes.md, "VMs from boxes").
 *
 * One worker does, in order, and undoes what it did when a later step fails:
 *   1. finds the box's base volume in [vm] storage-pool (its path and virtual size);
 *   2. creates the VM's disk "vm.OWNER.NAME.qcow2": a qcow2 overlay whose backing store
 *      is the base, both formats explicit (libvirt runs `qemu-img create -F qcow2`, and
 *      nothing ever probes an image), sized to the box or --disk-size if larger;
 *   3. builds the NoCloud seed in memory (core/wirt-seed.c) and uploads it into
 *      "vm.OWNER.NAME.seed.iso" with virStorageVolUpload, so remote hosts work too;
 *   4. brings the network up (an admins' network is defined where a host lacks it) and
 *      turns a fixed address into a DHCP host reservation (virNetworkUpdate, live and
 *      persistent);
 *   5. defines the domain (core/wirt-meta.c's XML).
 * Volume names start with "vm." so they never meet a box's ("box.").
 */
#include "wirt-virt-private.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-meta.h"
#include "core/wirt-names.h"
#include "core/wirt-net.h"
#include "core/wirt-seed.h"
#include "wirt-virt-net.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStream, virStreamFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virNetwork, virNetworkFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

#define SEED_CHUNK (256 * 1024) /* libvirt's RPC messages carry at most 256 KiB */

/**
 * wirt_virt_vm_volume_name:
 * @domain: the VM's domain name ("alice.web")
 * @seed: the seed ISO's volume instead of the disk's
 * Returns: (transfer full): "vm.alice.web.qcow2" or "vm.alice.web.seed.iso".
 */
char *
wirt_virt_vm_volume_name(const char *domain, gboolean seed)
{
    return g_strconcat("vm.", domain, seed ? ".seed.iso" : ".qcow2", NULL);
}

/**
 * wirt_virt_domain_type:
 * @wanted: (nullable): "kvm", "qemu" or "auto" ([vm] domain-type)
 * Returns: "test" on the test driver, @wanted when it is "kvm" or "qemu", else "kvm" when
 *   the host's libvirt offers KVM domains (it checks /dev/kvm and QEMU's accelerators) and
 *   "qemu" (TCG) when it does not. Worker.
 */
const char *
wirt_virt_domain_type(WirtConn *conn, const char *wanted)
{
    virConnectPtr c = wirt_conn_get_virt(conn);
    const char *type = virConnectGetType(c);
    char *caps;

    if (type && g_ascii_strcasecmp(type, "test") == 0)
        return "test";
    if (g_strcmp0(wanted, "kvm") == 0 || g_strcmp0(wanted, "qemu") == 0)
        return wanted;
    if ((caps = virConnectGetDomainCapabilities(c, NULL, "x86_64", NULL, "kvm", 0))) {
        free(caps);
        return "kvm";
    }
    virResetLastError();
    return "qemu";
}

/* A volume that exists without a domain is left over from a create that crashed. */
static virStorageVolPtr
create_volume(WirtConn *conn, virStoragePoolPtr pool, const char *name, const char *xml,
              GError **error)
{
    virStorageVolPtr vol = virStorageVolLookupByName(pool, name);

    if (vol) {
        g_message("volume %s: left over from an earlier create; replacing it", name);
        if (virStorageVolDelete(vol, 0) < 0) {
            wirt_conn_set_error(conn, error, "cannot remove the left-over volume %s", name);
            virStorageVolFree(vol);
            return NULL;
        }
        virStorageVolFree(vol);
    }
    virResetLastError();
    if (!(vol = virStorageVolCreateXML(pool, xml, 0)))
        wirt_conn_set_error(conn, error, "cannot create volume %s", name);
    return vol;
}

static void
discard_volume(virStorageVolPtr *vol)
{
    if (!*vol)
        return;
    virStorageVolDelete(*vol, 0);
    virStorageVolFree(*vol);
    *vol = NULL;
}

static virStorageVolPtr
create_disk(WirtConn *conn, virStoragePoolPtr pool, const char *name, const char *box_path,
            guint64 capacity, GError **error)
{
    g_autofree char *xml = NULL;
    g_autofree char *name_xml = g_markup_escape_text(name, -1);
    g_autofree char *path_xml = g_markup_escape_text(box_path, -1);

    xml = g_strdup_printf("<volume><name>%s</name>"
                          "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
                          "<allocation unit='bytes'>0</allocation>"
                          "<target><format type='qcow2'/>"
                          "<permissions><mode>0600</mode></permissions></target>"
                          "<backingStore><path>%s</path><format type='qcow2'/></backingStore>"
                          "</volume>",
                          name_xml, capacity, path_xml);
    return create_volume(conn, pool, name, xml, error);
}

static virStorageVolPtr
create_seed(WirtConn *conn, virStoragePoolPtr pool, const char *name, const WirtVmSpec *spec,
            const char *instance_id, GError **error)
{
    const WirtSeedSpec seed = {
        .instance_id = instance_id,
        .hostname = spec->name,
        .ssh_keys = (const char *const *)spec->ssh_keys,
    };
    g_autoptr(GBytes) iso = wirt_seed_build_iso(&seed, error);
    g_autoptr(virStream) stream = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *name_xml = g_markup_escape_text(name, -1);
    virStorageVolPtr vol = NULL;
    const char *data;
    gsize len;

    if (!iso)
        return NULL;
    data = g_bytes_get_data(iso, &len);
    xml = g_strdup_printf("<volume><name>%s</name>"
                          "<capacity unit='bytes'>%" G_GSIZE_FORMAT "</capacity>"
                          "<target><format type='raw'/>"
                          "<permissions><mode>0644</mode></permissions></target></volume>",
                          name_xml, len);
    if (!(vol = create_volume(conn, pool, name, xml, error)))
        return NULL;
    if (!(stream = virStreamNew(wirt_conn_get_virt(conn), 0)) ||
        virStorageVolUpload(vol, stream, 0, len, 0) < 0) {
        wirt_conn_set_error(conn, error, "cannot upload the seed into volume %s", name);
        discard_volume(&vol);
        return NULL;
    }
    for (gsize off = 0; off < len;) {
        int sent = virStreamSend(stream, data + off, MIN(len - off, SEED_CHUNK));
        if (sent < 0) {
            wirt_conn_set_error(conn, error, "cannot upload the seed into volume %s", name);
            virStreamAbort(stream);
            discard_volume(&vol);
            return NULL;
        }
        off += (gsize)sent;
    }
    if (virStreamFinish(stream) < 0) {
        wirt_conn_set_error(conn, error, "cannot finish the seed upload into volume %s", name);
        discard_volume(&vol);
        return NULL;
    }
    return vol;
}

static char *
volume_path(WirtConn *conn, virStorageVolPtr vol, GError **error)
{
    char *path = virStorageVolGetPath(vol);
    char *copy;

    if (!path) {
        wirt_conn_set_error(conn, error, "cannot read the path of volume %s",
                            virStorageVolGetName(vol));
        return NULL;
    }
    copy = g_strdup(path);
    free(path);
    return copy;
}

/* The network, up; an admins' network is defined first where the host lacks it. */
static virNetworkPtr
lookup_network(WirtConn *conn, const char *name, GError **error)
{
    virNetworkPtr net = virNetworkLookupByName(wirt_conn_get_virt(conn), name);

    if (!net && wirt_virt_last_error_code() != VIR_ERR_NO_NETWORK)
        wirt_conn_set_error(conn, error, "cannot look up network %s", name);
    virResetLastError();
    return net;
}

/* The owner's network of that name, else the admins' one (defined where the host lacks it);
 * started when it is not running. */
static virNetworkPtr
network_up(WirtConn *conn, const WirtVmSpec *spec, GError **error)
{
    GError *local = NULL;
    virNetworkPtr net = NULL;
    const char *name = spec->network ? spec->network : spec->network_admin;
    int active;

    if (spec->network && !(net = lookup_network(conn, spec->network, &local)) && local) {
        g_propagate_error(error, local);
        return NULL;
    }
    if (!net && spec->network_admin) {
        name = spec->network_admin;
        if (!(net = lookup_network(conn, name, &local)) && local) {
            g_propagate_error(error, local);
            return NULL;
        }
        if (!net && spec->network_admin_xml &&
            wirt_virt_net_create(conn, name, spec->network_admin_xml, TRUE, error))
            net = lookup_network(conn, name, error);
        if (!net && error && *error)
            return NULL;
    }
    if (!net) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "network %s: not found",
                    name ? name : "(none)");
        return NULL;
    }
    if ((active = virNetworkIsActive(net)) < 0 || (!active && virNetworkCreate(net) < 0)) {
        wirt_conn_set_error(conn, error, "cannot start network %s", virNetworkGetName(net));
        virNetworkFree(net);
        return NULL;
    }
    return net;
}

static gboolean
reserve_address(WirtConn *conn, virNetworkPtr net, const WirtVmSpec *spec, const char *mac,
                GError **error)
{
    const unsigned int flags = VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG;
    g_autofree char *xml = virNetworkGetXMLDesc(net, 0);
    g_autoptr(WirtVirtNet) parsed = NULL;
    g_autofree char *host_xml = NULL;
    WirtNetHost host = {.mac = (char *)mac, .ip = spec->ip};

    if (!xml) {
        wirt_conn_set_error(conn, error, "cannot read network %s", virNetworkGetName(net));
        return FALSE;
    }
    if (!(parsed = wirt_virt_net_parse(xml)) || !parsed->subnet) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "ip: network %s is not a wirt network with a subnet", virNetworkGetName(net));
        return FALSE;
    }
    if (!parsed->dhcp) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "ip: network %s has no DHCP; a fixed address is a DHCP reservation",
                    parsed->name);
        return FALSE;
    }
    /* A host name on the owner's own network only: on an admins' network, two owners'
     * VMs may share a name, and dnsmasq refuses a name twice. */
    if (parsed->owner)
        host.name = spec->name;
    if (!(host_xml = wirt_net_host_xml(&host, parsed->subnet, error)))
        return FALSE;
    if (virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_IP_DHCP_HOST,
                         -1, host_xml, flags) < 0) {
        const virError *verr = virGetLastError();
        /* libvirt refuses a MAC, name or address that another reservation has. */
        if (verr && verr->code == VIR_ERR_OPERATION_INVALID) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "ip %s on network %s: %s", spec->ip,
                        parsed->name, verr->message ? verr->message : "taken");
            virResetLastError();
            return FALSE;
        }
        wirt_conn_set_error(conn, error, "cannot reserve %s on network %s", spec->ip, parsed->name);
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    const char *mac; /* lowercase */
    char *found;     /* the <host> element to delete, with every attribute it has */
} HostFind;

static void
host_find_start(GMarkupParseContext *context G_GNUC_UNUSED, const char *element, const char **names,
                const char **values, gpointer user_data, GError **error G_GNUC_UNUSED)
{
    HostFind *hf = user_data;
    GString *xml;

    if (hf->found || !g_str_equal(element, "host"))
        return;
    for (gsize i = 0; names[i]; i++)
        if (g_str_equal(names[i], "mac") && g_ascii_strcasecmp(values[i], hf->mac) == 0)
            goto found;
    return;
found:
    xml = g_string_new("<host");
    for (gsize i = 0; names[i]; i++) {
        g_autofree char *value = g_markup_escape_text(values[i], -1);
        g_string_append_printf(xml, " %s='%s'", names[i], value);
    }
    g_string_append(xml, "/>");
    hf->found = g_string_free(xml, FALSE);
}

static const GMarkupParser host_find_parser = {.start_element = host_find_start};

/* Drops the DHCP reservation of @mac, named exactly as the network has it (libvirt
 * deletes the entry every given attribute matches). Best effort: none is fine. */
static void
release_address(virNetworkPtr net, const char *mac)
{
    const unsigned int flags = VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG;
    g_autofree char *lower = g_ascii_strdown(mac, -1);
    g_autofree char *xml = virNetworkGetXMLDesc(net, VIR_NETWORK_XML_INACTIVE);
    g_autoptr(GMarkupParseContext) context = NULL;
    HostFind hf = {.mac = lower};
    int active = virNetworkIsActive(net);

    if (!xml) {
        virResetLastError();
        return;
    }
    context = g_markup_parse_context_new(&host_find_parser, 0, &hf, NULL);
    if (!g_markup_parse_context_parse(context, xml, -1, NULL) || !hf.found) {
        g_free(hf.found);
        return;
    }
    if (virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_IP_DHCP_HOST,
                         -1, hf.found, active == 1 ? flags : VIR_NETWORK_UPDATE_AFFECT_CONFIG) < 0)
        virResetLastError();
    g_free(hf.found);
}

/* The owner's box of that name, else the shared one; @out_label as the service names boxes. */
static virStorageVolPtr
find_box(WirtConn *conn, virStoragePoolPtr pool, const WirtVmSpec *spec, char **out_label,
         GError **error)
{
    const char *const volumes[] = {spec->box_volume, spec->box_shared_volume};

    for (guint i = 0; i < G_N_ELEMENTS(volumes); i++) {
        virStorageVolPtr vol;

        if (!volumes[i])
            continue;
        if ((vol = virStorageVolLookupByName(pool, volumes[i]))) {
            *out_label = i == 0 ? g_strdup_printf("%s/%s", spec->owner, spec->box)
                                : g_strdup_printf("shared/%s", spec->box);
            return vol;
        }
        if (wirt_virt_last_error_code() != VIR_ERR_NO_STORAGE_VOL) {
            wirt_conn_set_error(conn, error, "cannot look up box %s", spec->box);
            return NULL;
        }
        virResetLastError();
    }
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "box %s: not found on host %s", spec->box,
                wirt_conn_get_node(conn));
    return NULL;
}

/**
 * wirt_virt_define_box_vm:
 * @spec: a create of a box VM the service checked: box_volume, storage_pool set
 * Returns: (transfer full): the new VM's snapshot, or %NULL with @error, having removed
 *   whatever it made. Worker.
 */
WirtVm *
wirt_virt_define_box_vm(WirtConn *conn, const WirtVmSpec *spec, const WirtMeta *meta,
                        GError **error)
{
    virConnectPtr c = wirt_conn_get_virt(conn);
    g_autofree char *domain = wirt_name_domain(spec->owner, spec->name);
    g_autofree char *disk_name = wirt_virt_vm_volume_name(domain, FALSE);
    g_autofree char *seed_name = wirt_virt_vm_volume_name(domain, TRUE);
    g_autofree char *box_path = NULL;
    g_autofree char *box_label = NULL;
    g_autofree char *disk_path = NULL;
    g_autofree char *seed_path = NULL;
    g_autofree char *mac = spec->mac ? g_ascii_strdown(spec->mac, -1) : wirt_net_mac_generate();
    g_autofree char *xml = NULL;
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) base = NULL;
    g_autoptr(virNetwork) net = NULL;
    g_autoptr(virDomain) dom = NULL;
    g_autoptr(virDomain) existing = NULL;
    virStorageVolPtr disk = NULL;
    virStorageVolPtr seed = NULL;
    gboolean reserved = FALSE;
    virStorageVolInfo info;
    g_autofree char *uuid_text = NULL;
    WirtVmDevices devices = {0};
    WirtVm *vm = NULL;

    g_auto(WirtMeta) vm_meta = {0};

    g_return_val_if_fail(spec->box_volume && spec->storage_pool, NULL);

    if ((existing = virDomainLookupByName(c, domain))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "vm %s already exists", spec->name);
        return NULL;
    }
    virResetLastError();
    if (!(pool = virStoragePoolLookupByName(c, spec->storage_pool))) {
        wirt_conn_set_error(conn, error, "host %s: storage pool %s ([vm] storage-pool)",
                            wirt_conn_get_node(conn), spec->storage_pool);
        return NULL;
    }
    if (!(base = find_box(conn, pool, spec, &box_label, error)))
        return NULL;
    if (virStorageVolGetInfo(base, &info) < 0 || !(box_path = volume_path(conn, base, error))) {
        if (error && !*error)
            wirt_conn_set_error(conn, error, "cannot read box volume %s",
                                virStorageVolGetName(base));
        return NULL;
    }

    /* The seed's instance id is the domain's uuid, chosen here: a new VM, a new instance. */
    uuid_text = g_uuid_string_random();

    if (!(disk = create_disk(conn, pool, disk_name, box_path, MAX(info.capacity, spec->disk_bytes),
                             error)) ||
        !(disk_path = volume_path(conn, disk, error)) ||
        !(seed = create_seed(conn, pool, seed_name, spec, uuid_text, error)) ||
        !(seed_path = volume_path(conn, seed, error)))
        goto fail;
    if (spec->network || spec->network_admin) {
        if (!(net = network_up(conn, spec, error)))
            goto fail;
        if (spec->ip) {
            if (!reserve_address(conn, net, spec, mac, error))
                goto fail;
            reserved = TRUE;
        }
    }
    devices = (WirtVmDevices){
        .disk_path = disk_path,
        .backing_path = box_path,
        .seed_path = seed_path,
        .network = net ? virNetworkGetName(net) : NULL,
        .mac = mac,
        .uuid = uuid_text,
    };
    vm_meta = (WirtMeta){
        .owner = g_strdup(meta->owner),
        .name = g_strdup(meta->name),
        .created = g_strdup(meta->created),
        .created_by = g_strdup(meta->created_by),
        .door = g_strdup(meta->door),
        .box = g_strdup(box_label),
        .ssh_user = g_strdup(meta->ssh_user),
    };
    if (!(xml = wirt_domain_xml_build(spec, wirt_virt_domain_type(conn, spec->domain_type),
                                      &vm_meta, &devices, error)))
        goto fail;
    if (!(dom = virDomainDefineXML(c, xml))) {
        wirt_conn_set_error(conn, error, "vm %s: cannot define it", domain);
        goto fail;
    }
    if (!(vm = wirt_virt_snapshot(conn, dom, error))) {
        /* The domain stands; it shows up through the cache's events. */
        virStorageVolFree(disk);
        virStorageVolFree(seed);
        return NULL;
    }
    virStorageVolFree(disk);
    virStorageVolFree(seed);
    return vm;

fail:
    if (reserved)
        release_address(net, mac);
    discard_volume(&seed);
    discard_volume(&disk);
    return NULL;
}

typedef struct {
    GPtrArray *nics; /* "network\x1fmac" */
    char *network;
    char *mac;
    guint depth;
    gboolean in_devices, in_nic;
} NicParse;

static const char *
attr(const char **names, const char **values, const char *name)
{
    for (gsize i = 0; names[i]; i++)
        if (g_str_equal(names[i], name))
            return values[i];
    return NULL;
}

static void
nic_start(GMarkupParseContext *context G_GNUC_UNUSED, const char *element, const char **names,
          const char **values, gpointer user_data, GError **error G_GNUC_UNUSED)
{
    NicParse *np = user_data;
    guint depth = ++np->depth;

    if (depth == 2 && g_str_equal(element, "devices")) {
        np->in_devices = TRUE;
    } else if (depth == 3 && np->in_devices && g_str_equal(element, "interface")) {
        np->in_nic = g_strcmp0(attr(names, values, "type"), "network") == 0;
    } else if (depth == 4 && np->in_nic) {
        if (g_str_equal(element, "source") && attr(names, values, "network")) {
            g_free(np->network);
            np->network = g_strdup(attr(names, values, "network"));
        } else if (g_str_equal(element, "mac") && attr(names, values, "address")) {
            g_free(np->mac);
            np->mac = g_strdup(attr(names, values, "address"));
        }
    }
}

static void
nic_end(GMarkupParseContext *context G_GNUC_UNUSED, const char *element, gpointer user_data,
        GError **error G_GNUC_UNUSED)
{
    NicParse *np = user_data;

    if (np->depth == 3 && np->in_nic && g_str_equal(element, "interface")) {
        if (np->network && np->mac)
            g_ptr_array_add(np->nics, g_strconcat(np->network, "\x1f", np->mac, NULL));
        g_clear_pointer(&np->network, g_free);
        g_clear_pointer(&np->mac, g_free);
        np->in_nic = FALSE;
    } else if (np->depth == 2 && g_str_equal(element, "devices")) {
        np->in_devices = FALSE;
    }
    np->depth--;
}

static const GMarkupParser nic_parser = {.start_element = nic_start, .end_element = nic_end};

/**
 * wirt_virt_vm_release_addresses:
 * @xml: the domain's inactive XML, read before it was undefined
 *
 * Drops the DHCP reservations wirt made for the VM's NICs on wirt networks. Best effort:
 * a network that is gone or has no such reservation is fine. Worker.
 */
void
wirt_virt_vm_release_addresses(WirtConn *conn, const char *xml)
{
    g_autoptr(GPtrArray) nics = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GMarkupParseContext) context = NULL;
    NicParse np = {.nics = nics};

    context = g_markup_parse_context_new(&nic_parser, 0, &np, NULL);
    if (!g_markup_parse_context_parse(context, xml, -1, NULL) ||
        !g_markup_parse_context_end_parse(context, NULL)) {
        g_free(np.network);
        g_free(np.mac);
        return;
    }
    for (guint i = 0; i < nics->len; i++) {
        g_auto(GStrv) parts = g_strsplit(g_ptr_array_index(nics, i), "\x1f", 2);
        g_autoptr(virNetwork) net = NULL;

        if (!g_str_has_prefix(parts[0], "wirt-"))
            continue;
        if (!(net = virNetworkLookupByName(wirt_conn_get_virt(conn), parts[0]))) {
            virResetLastError();
            continue;
        }
        release_address(net, parts[1]);
    }
}
