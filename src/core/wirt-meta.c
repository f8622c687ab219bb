/* wirt-meta.c: wirt's facts in a domain's <metadata>, and the domain XML for create.
 *
 * The element is one <vm> in wirt's namespace with the facts as attributes:
 *
 *   <vm xmlns="https://wirt.dev/xmlns/vm/1" owner="alice" name="web"
 *       created="2024-05-01T10:00:00Z" created-by="alice" door="cli"/>
 *
 * It declares the namespace as the default one, not with a prefix, because
 * that one string works in both places: a domain's <metadata> needs the element
 * namespaced, and virDomainSetMetadata() adds its own "wirt:" prefix and fails
 * ("failed to create a new XML namespace") when the element already binds it.
 * Attributes are unprefixed (in no namespace), so they survive whatever prefix
 * libvirt gives the element; virDomainGetMetadata() hands it back unprefixed,
 * sometimes without any xmlns. Unknown attributes and child elements are
 * ignored, so later versions can add facts without breaking older readers.
 * Pure code: no libvirt, no I/O.
 */
#include "wirt-meta.h"

#include <string.h>

#include "wirt-error.h"
#include "wirt-names.h"
#include "wirt-net.h"

/**
 * wirt_meta_clear:
 * @meta: metadata whose strings are freed (the struct itself is not)
 */
void
wirt_meta_clear(WirtMeta *meta)
{
    g_clear_pointer(&meta->owner, g_free);
    g_clear_pointer(&meta->name, g_free);
    g_clear_pointer(&meta->created, g_free);
    g_clear_pointer(&meta->created_by, g_free);
    g_clear_pointer(&meta->door, g_free);
    g_clear_pointer(&meta->box, g_free);
    g_clear_pointer(&meta->ssh_user, g_free);
}

static void
append_attr(GString *out, const char *attr, const char *value)
{
    g_autofree char *escaped = NULL;

    if (!value)
        return;
    escaped = g_markup_escape_text(value, -1);
    g_string_append_printf(out, " %s=\"%s\"", attr, escaped);
}

/**
 * wirt_meta_format:
 * @meta: metadata with at least owner and name set
 * Returns: (transfer full): one self-contained <vm> element (no trailing newline)
 *   declaring wirt's namespace as its default, fit for virDomainSetMetadata() and a domain's
 *   <metadata>. Every value is escaped; unset optional facts are left out.
 */
char *
wirt_meta_format(const WirtMeta *meta)
{
    GString *out = NULL;

    g_return_val_if_fail(meta != NULL, NULL);
    g_return_val_if_fail(meta->owner != NULL && meta->name != NULL, NULL);

    out = g_string_new("<vm xmlns=\"" WIRT_META_NS "\"");
    append_attr(out, "owner", meta->owner);
    append_attr(out, "name", meta->name);
    append_attr(out, "created", meta->created);
    append_attr(out, "created-by", meta->created_by);
    append_attr(out, "door", meta->door);
    append_attr(out, "box", meta->box);
    append_attr(out, "ssh-user", meta->ssh_user);
    g_string_append(out, "/>");
    return g_string_free(out, FALSE);
}

typedef struct {
    WirtMeta meta;
    guint depth;
    gboolean seen_root;
} MetaParse;

/* The part of a qualified name after its prefix: "wirt:vm" -> "vm". */
static const char *
local_name(const char *qname)
{
    const char *colon = strchr(qname, ':');

    return colon ? colon + 1 : qname;
}

/* The xmlns attribute that binds @qname's prefix ("xmlns" or "xmlns:P"). */
static char *
ns_attr_for(const char *qname)
{
    const char *colon = strchr(qname, ':');

    if (!colon)
        return g_strdup("xmlns");
    return g_strdup_printf("xmlns:%.*s", (int)(colon - qname), qname);
}

static void
meta_start_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name,
                   const char **attribute_names, const char **attribute_values, gpointer user_data,
                   GError **error)
{
    MetaParse *parse = user_data;
    g_autofree char *ns_attr = NULL;

    if (parse->depth++ > 0)
        return; /* children: reserved for later versions */
    if (!g_str_equal(local_name(element_name), "vm")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "wirt metadata: expected a <vm> element, found <%s>", element_name);
        return;
    }
    parse->seen_root = TRUE;
    ns_attr = ns_attr_for(element_name);
    for (gsize i = 0; attribute_names[i]; i++) {
        const char *attr = attribute_names[i];
        const char *value = attribute_values[i];
        char **slot = NULL;

        if (g_str_equal(attr, ns_attr)) {
            /* libvirt strips the declaration in virDomainGetMetadata(); when it
             * is there, it must be ours. */
            if (!g_str_equal(value, WIRT_META_NS)) {
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                            "wirt metadata: namespace '%s' is not " WIRT_META_NS, value);
                return;
            }
            continue;
        }
        if (g_str_equal(attr, "owner"))
            slot = &parse->meta.owner;
        else if (g_str_equal(attr, "name"))
            slot = &parse->meta.name;
        else if (g_str_equal(attr, "created"))
            slot = &parse->meta.created;
        else if (g_str_equal(attr, "created-by"))
            slot = &parse->meta.created_by;
        else if (g_str_equal(attr, "door"))
            slot = &parse->meta.door;
        else if (g_str_equal(attr, "box"))
            slot = &parse->meta.box;
        else if (g_str_equal(attr, "ssh-user"))
            slot = &parse->meta.ssh_user;
        if (!slot)
            continue; /* unknown: from a later version */
        g_free(*slot);
        *slot = g_strdup(value);
    }
}

static void
meta_end_element(GMarkupParseContext *context G_GNUC_UNUSED, const char *element_name G_GNUC_UNUSED,
                 gpointer user_data, GError **error G_GNUC_UNUSED)
{
    MetaParse *parse = user_data;

    parse->depth--;
}

static const GMarkupParser meta_parser = {
    .start_element = meta_start_element,
    .end_element = meta_end_element,
};

/**
 * wirt_meta_parse:
 * @xml: what virDomainGetMetadata() returned, or the element as wirt_meta_format() wrote it
 * @len: length of @xml, or -1 when it is NUL-terminated
 * @out_meta: (out caller-allocates): cleared and filled on success only
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID when @xml is not well-formed,
 *   is not a <vm> element of wirt's namespace, or lacks a valid owner and name.
 */
gboolean
wirt_meta_parse(const char *xml, gssize len, WirtMeta *out_meta, GError **error)
{
    g_auto(WirtMeta) meta = {0};
    g_autoptr(GMarkupParseContext) context = NULL;
    g_autoptr(GError) local_error = NULL;
    MetaParse parse = {0};

    g_return_val_if_fail(xml != NULL, FALSE);
    g_return_val_if_fail(out_meta != NULL, FALSE);

    context = g_markup_parse_context_new(&meta_parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &parse, NULL);
    if (!g_markup_parse_context_parse(context, xml, len, &local_error) ||
        !g_markup_parse_context_end_parse(context, &local_error)) {
        wirt_meta_clear(&parse.meta);
        if (local_error->domain == WIRT_ERROR) {
            g_propagate_error(error, g_steal_pointer(&local_error));
        } else {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "wirt metadata: %s",
                        local_error->message);
        }
        return FALSE;
    }
    meta = parse.meta;
    if (!parse.seen_root) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "wirt metadata: no <vm> element");
        return FALSE;
    }
    if (!meta.owner) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "wirt metadata: no owner");
        return FALSE;
    }
    if (!meta.name) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "wirt metadata: no name");
        return FALSE;
    }
    if (!wirt_name_validate_owner(meta.owner, &local_error) ||
        !wirt_name_validate(meta.name, &local_error)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "wirt metadata: %s",
                    local_error->message);
        return FALSE;
    }
    wirt_meta_clear(out_meta);
    *out_meta = meta;
    memset(&meta, 0, sizeof(meta)); /* moved into @out_meta */
    return TRUE;
}

static gboolean
domain_type_is_known(const char *domain_type)
{
    static const char *const known[] = {"test", "qemu", "kvm"};

    for (gsize i = 0; domain_type && i < G_N_ELEMENTS(known); i++) {
        if (g_str_equal(domain_type, known[i]))
            return TRUE;
    }
    return FALSE;
}

static const char *const cache_modes[] = {
    "default", "none", "writethrough", "writeback", "directsync", "unsafe", NULL};

/**
 * wirt_vm_options_check:
 * @spec: a create's machine type and disk cache mode (either may be %NULL)
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID: a machine type is a QEMU machine name
 *   (a letter, then letters, digits, '.', '_', '-'; up to 40), a cache mode one of libvirt's.
 */
gboolean
wirt_vm_options_check(const WirtVmSpec *spec, GError **error)
{
    const char *m = spec->machine;

    if (m && (strlen(m) == 0 || strlen(m) > 40 || !g_ascii_islower(m[0]) ||
              strspn(m, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(m))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "machine: '%.40s' is not a QEMU machine type (pc, q35, pc-q35-7.2, ...)", m);
        return FALSE;
    }
    if (spec->disk_cache && !g_strv_contains(cache_modes, spec->disk_cache)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "disk_cache: '%.40s' is not default, none, writethrough, writeback, "
                    "directsync or unsafe",
                    spec->disk_cache);
        return FALSE;
    }
    return TRUE;
}

static gboolean
is_q35(const char *machine)
{
    return machine && strstr(machine, "q35") != NULL;
}

/* A path libvirt gets verbatim: absolute, and nothing XML or a shell would read twice. */
static gboolean
check_path(const char *vm, const char *what, const char *path, GError **error)
{
    if (!path || path[0] != '/' || strpbrk(path, "<>&'\"\n\r\t") || strstr(path, "/../")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "vm %s: bad %s path '%.80s'", vm, what,
                    path ? path : "(none)");
        return FALSE;
    }
    return TRUE;
}

/* The disk (an overlay of the box, its base named explicitly so libvirt never probes a
 * format), the NoCloud seed on an IDE CD-ROM, and the NIC without an option ROM. */
static gboolean
append_devices(GString *out, const WirtVmSpec *spec, const WirtVmDevices *dev, GError **error)
{
    const char *vm = spec->name;
    g_autofree char *cache = NULL;

    if (!check_path(vm, "disk", dev->disk_path, error) ||
        !check_path(vm, "box", dev->backing_path, error) ||
        (dev->seed_path && !check_path(vm, "seed", dev->seed_path, error)))
        return FALSE;
    if (dev->network &&
        (!wirt_net_mac_validate(dev->mac, error) || !g_str_has_prefix(dev->network, "wirt-") ||
         strpbrk(dev->network, "<>&'\" "))) {
        if (error && !*error)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "vm %s: bad network name", vm);
        return FALSE;
    }
    if (spec->disk_cache && !g_str_equal(spec->disk_cache, "default"))
        cache = g_strdup_printf(" cache='%s'", spec->disk_cache);
    g_string_append_printf(out,
                           "    <disk type='file' device='disk'>\n"
                           "      <driver name='qemu' type='qcow2'%s discard='unmap'/>\n"
                           "      <source file='%s'/>\n"
                           "      <backingStore type='file'>\n"
                           "        <format type='qcow2'/>\n"
                           "        <source file='%s'/>\n"
                           "        <backingStore/>\n"
                           "      </backingStore>\n"
                           "      <target dev='vda' bus='virtio'/>\n"
                           "    </disk>\n",
                           cache ? cache : "", dev->disk_path, dev->backing_path);
    if (dev->seed_path)
        g_string_append_printf(out,
                               "    <disk type='file' device='cdrom'>\n"
                               "      <driver name='qemu' type='raw'/>\n"
                               "      <source file='%s'/>\n"
                               "      <target dev='%s'/>\n"
                               "      <readonly/>\n"
                               "    </disk>\n",
                               dev->seed_path,
                               /* q35 has no IDE: there the CD-ROM is on virtio-scsi, which
                                * cloud kernels carry (AHCI they often do not) */
                               is_q35(spec->machine) ? "sda' bus='scsi" : "hdc' bus='ide");
    if (dev->seed_path && is_q35(spec->machine))
        g_string_append(out, "    <controller type='scsi' model='virtio-scsi'/>\n");
    if (dev->network) {
        g_autofree char *mac = g_ascii_strdown(dev->mac, -1);
        g_string_append_printf(out,
                               "    <interface type='network'>\n"
                               "      <source network='%s'/>\n"
                               "      <mac address='%s'/>\n"
                               "      <model type='virtio'/>\n"
                               "      <rom enabled='no'/>\n"
                               "    </interface>\n",
                               dev->network, mac);
    }
    return TRUE;
}

/**
 * wirt_domain_xml_build:
 * @spec: owner, name, memory and vcpus (already checked by policy and quota)
 * @domain_type: the host's domain type: "test", "qemu" (TCG) or "kvm"
 * @meta: the wirt facts to put in <metadata>
 * @devices: (nullable): a box VM's disk, seed and NIC (ignored for "test")
 * Returns: (transfer full) (nullable): a persistent <domain> named
 *   wirt_name_domain(owner, name), with no disks when @devices is %NULL, or %NULL with
 *   %WIRT_ERROR_INVALID when the spec, a device or the type is not acceptable.
 */
char *
wirt_domain_xml_build(const WirtVmSpec *spec, const char *domain_type, const WirtMeta *meta,
                      const WirtVmDevices *devices, GError **error)
{
    g_autoptr(GString) out = NULL;
    g_autofree char *domain = NULL;
    g_autofree char *escaped = NULL;
    g_autofree char *meta_xml = NULL;
    gboolean is_test = FALSE;

    g_return_val_if_fail(spec != NULL, NULL);
    g_return_val_if_fail(meta != NULL, NULL);

    if (!wirt_name_validate_owner(spec->owner, error) || !wirt_name_validate(spec->name, error))
        return NULL;
    if (!meta->owner || !meta->name) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "vm %s: metadata has no owner or name",
                    spec->name);
        return NULL;
    }
    if (!domain_type_is_known(domain_type)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "vm %s: unknown domain type '%s'",
                    spec->name, domain_type ? domain_type : "(none)");
        return NULL;
    }
    if (!wirt_vm_options_check(spec, error))
        return NULL;
    if (spec->nested && !g_str_equal(domain_type, "kvm")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "vm %s: nested virtualisation needs KVM; this host runs %s guests", spec->name,
                    domain_type);
        return NULL;
    }
    if (spec->memory_mib == 0 || spec->vcpus == 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "vm %s: memory and vcpus must be positive", spec->name);
        return NULL;
    }
    is_test = g_str_equal(domain_type, "test");
    domain = wirt_name_domain(spec->owner, spec->name);
    escaped = g_markup_escape_text(domain, -1);
    meta_xml = wirt_meta_format(meta);

    out = g_string_new(NULL);
    g_string_append_printf(out, "<domain type='%s'>\n", domain_type);
    g_string_append_printf(out, "  <name>%s</name>\n", escaped);
    if (devices && devices->uuid) {
        if (!g_uuid_string_is_valid(devices->uuid)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "vm %s: bad uuid", spec->name);
            return NULL;
        }
        g_string_append_printf(out, "  <uuid>%s</uuid>\n", devices->uuid);
    }
    g_string_append(out, "  <metadata>\n");
    g_string_append_printf(out, "    %s\n", meta_xml);
    g_string_append(out, "  </metadata>\n");
    g_string_append_printf(out, "  <memory unit='MiB'>%" G_GUINT64_FORMAT "</memory>\n",
                           spec->memory_mib);
    g_string_append_printf(out, "  <vcpu>%u</vcpu>\n", spec->vcpus);
    if (is_test) {
        g_string_append(out, "  <os>\n"
                             "    <type>hvm</type>\n"
                             "  </os>\n");
    } else {
        g_string_append_printf(out,
                               "  <os>\n"
                               "    <type arch='x86_64' machine='%s'>hvm</type>\n"
                               "    <boot dev='hd'/>\n"
                               "  </os>\n"
                               "  <features>\n"
                               "    <acpi/>\n"
                               "  </features>\n",
                               spec->machine ? spec->machine : "pc");
        if (spec->nested) /* the host's CPU, VMX/SVM included */
            g_string_append(out, "  <cpu mode='host-passthrough'/>\n");
    }
    g_string_append(out, "  <on_poweroff>destroy</on_poweroff>\n");
    if (is_test) {
        g_string_append(out, "  <devices/>\n");
    } else {
        g_string_append(out, "  <devices>\n");
        if (devices && !append_devices(out, spec, devices, error))
            return NULL;
        g_string_append(out, "    <serial type='pty'>\n"
                             "      <target port='0'/>\n"
                             "    </serial>\n"
                             "    <console type='pty'>\n"
                             "      <target type='serial' port='0'/>\n"
                             "    </console>\n");
        if (devices) /* guests seed their RNG at once (docs/tiny-box.md) */
            g_string_append(out, "    <rng model='virtio'>\n"
                                 "      <backend model='random'>/dev/urandom</backend>\n"
                                 "    </rng>\n");
        g_string_append(out, "  </devices>\n");
    }
    g_string_append(out, "</domain>\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}
