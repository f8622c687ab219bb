/* wirt-meta.h: wirt's facts in a domain's <metadata>, under wirt's own XML namespace. */
#pragma once

#include <glib.h>

#include "wirt-model.h"

G_BEGIN_DECLS

#define WIRT_META_NS "https://wirt.dev/xmlns/vm/1"
#define WIRT_META_PREFIX "wirt"

typedef struct {
    char *owner;
    char *name;
    char *created; /* ISO 8601 */
    char *created_by;
    char *door;
    char *box;      /* (nullable) "shared/tiny" or "alice/tiny" */
    char *ssh_user; /* (nullable) the guest user of `wirt ssh` */
} WirtMeta;

void wirt_meta_clear(WirtMeta *meta);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtMeta, wirt_meta_clear)

/* The <vm> element (with xmlns) that virDomainSetMetadata() and the domain XML take. */
char *wirt_meta_format(const WirtMeta *meta);
/* Parses what virDomainGetMetadata() returns (prefixed or default namespace).
 * Refuses anything without a valid owner and name. */
gboolean wirt_meta_parse(const char *xml, gssize len, WirtMeta *out_meta, GError **error);

/* The per-VM options of a box VM (machine type, disk cache mode): INVALID with a reason. */
gboolean wirt_vm_options_check(const WirtVmSpec *spec, GError **error);
/* A whole <domain> for create: with @devices, a box VM's disk, seed and NIC; without, no
 * disks. The type is the host's ("test", "qemu" for TCG, "kvm"). */
char *wirt_domain_xml_build(const WirtVmSpec *spec, const char *domain_type, const WirtMeta *meta,
                            const WirtVmDevices *devices, GError **error);

G_END_DECLS
