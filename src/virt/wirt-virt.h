/* wirt-virt.h: the libvirt adapter. The only part of wirt that includes libvirt.
 *
 * WirtHosts lives on the main loop: one WirtHost per URI of every pool, each
 * watched with libvirt events (gvir_event_register() must have been called
 * before wirt_hosts_start()), reconnected with backoff when it goes away, and
 * holding a cache of WirtVm snapshots that serves every read.
 *
 * Functions marked "worker" do blocking RPCs: call them from a GTask thread
 * with a WirtConn taken on the main loop, never from the main loop itself.
 */
#pragma once

#include <gio/gio.h>

#include "core/wirt-config.h"
#include "core/wirt-meta.h"
#include "core/wirt-model.h"

G_BEGIN_DECLS

typedef struct _WirtHosts WirtHosts;
typedef struct _WirtHost WirtHost;
typedef struct _WirtConn WirtConn; /* a refcounted handle on one host's live connection */

typedef enum {
    WIRT_VM_CHANGE_UPDATED, /* new or changed: @vm is the new snapshot */
    WIRT_VM_CHANGE_REMOVED, /* undefined or its host went down: @vm is the last snapshot */
    /* Service watches only, never from the hosts: the VM's addresses changed. */
    WIRT_VM_CHANGE_ADDRESSES,
} WirtVmChange;

typedef void (*WirtVmChangedFunc)(WirtVmChange change, WirtVm *vm, gpointer user_data);

/* --- main loop side --- */
WirtHosts *wirt_hosts_new(const WirtConfig *config); /* config must outlive it */
void wirt_hosts_start(WirtHosts *hosts); /* connect every host (in workers), then watch */
void wirt_hosts_free(WirtHosts *hosts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtHosts, wirt_hosts_free)

/* Runs @loop-iterations until every host has made its first connection attempt
 * or @timeout_ms passed; for start-up, so the first request sees a full cache. */
void wirt_hosts_wait_ready(WirtHosts *hosts, guint timeout_ms);

guint wirt_hosts_add_listener(WirtHosts *hosts, WirtVmChangedFunc func, gpointer user_data);
void wirt_hosts_remove_listener(WirtHosts *hosts, guint id);

/* (transfer container): WirtVm* borrowed from the cache (ref what you keep), of every up host. */
GPtrArray *wirt_hosts_list_vms(WirtHosts *hosts);
/* (transfer container): one owner's VMs, borrowed like wirt_hosts_list_vms(). */
GPtrArray *wirt_hosts_list_vms_of(WirtHosts *hosts, const char *owner);
/* (transfer full) (nullable): the VM @owner owns as @name (owner NULL: unowned domain named @name).
 */
WirtVm *wirt_hosts_find_vm(WirtHosts *hosts, const char *owner, const char *name);
/* (transfer full) (nullable): the VM with this libvirt domain name, on @node if given. */
WirtVm *wirt_hosts_find_domain(WirtHosts *hosts, const char *node, const char *domain);
/* (transfer container): WirtHost* in config order. */
GPtrArray *wirt_hosts_list(WirtHosts *hosts);
/* (transfer none) (nullable) */
WirtHost *wirt_hosts_find_host(WirtHosts *hosts, const char *node);
/* Put a snapshot fetched by a worker into the cache and tell the listeners. */
void wirt_hosts_update_vm(WirtHosts *hosts, WirtVm *vm);
void wirt_hosts_remove_vm(WirtHosts *hosts, const char *node, const char *uuid);

const char *wirt_host_get_uri(WirtHost *host);
const char *wirt_host_get_pool(WirtHost *host);
const char *wirt_host_get_node(WirtHost *host); /* host name from libvirt, else the URI */
gboolean wirt_host_is_up(WirtHost *host);
const char *wirt_host_get_last_error(WirtHost *host); /* (nullable) why it is down */
guint64 wirt_host_get_memory_mib(WirtHost *host);     /* total, from virNodeGetInfo */
/* (transfer full): a handle for a worker, or NULL with HOST_DOWN. */
WirtConn *wirt_host_get_conn(WirtHost *host, GError **error);

WirtConn *wirt_conn_ref(WirtConn *conn);
void wirt_conn_unref(WirtConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtConn, wirt_conn_unref)

/* --- worker side: blocking RPCs --- */
/* Free memory on the host in MiB (placement). */
gboolean wirt_virt_free_memory(WirtConn *conn, guint64 *out_mib, GError **error);
/* Defines (persistent) the VM described by @spec with @meta; (transfer full) fresh snapshot. */
WirtVm *wirt_virt_define_vm(WirtConn *conn, const WirtVmSpec *spec, const WirtMeta *meta,
                            GError **error);
/* START, DESTROY, REBOOT, SUSPEND, RESUME; STOP means "send ACPI shutdown" only
 * (the service waits and powers off after the timeout); AUTOSTART uses @enable. */
gboolean wirt_virt_vm_action(WirtConn *conn, const char *uuid, WirtAction action, gboolean enable,
                             GError **error);
/* Sets the persistent memory (MiB, also its maximum) and vCPUs (also the maximum)
 * of a VM; 0 leaves either as it is. Takes effect at the next boot. Blocking. */
gboolean wirt_virt_vm_configure(WirtConn *conn, const char *uuid, guint64 memory_mib, guint vcpus,
                                GError **error);
/* Undefine (managed save, snapshots, NVRAM too) and delete its storage-pool volumes.
 * Refuses a running VM with CONFLICT. */
gboolean wirt_virt_vm_delete(WirtConn *conn, const char *uuid, GError **error);
/* Writes @meta into the domain's <metadata> (live and config). */
gboolean wirt_virt_vm_set_meta(WirtConn *conn, const char *uuid, const WirtMeta *meta,
                               GError **error);
/* (transfer full): a fresh snapshot of one domain (state, memory, vcpus, autostart, meta). */
WirtVm *wirt_virt_vm_fetch(WirtConn *conn, const char *uuid, GError **error);
/* The uuid of the domain named @domain, for adopt. */
char *wirt_virt_lookup_domain(WirtConn *conn, const char *domain, GError **error);

/* Added by the virt adapter: connection attempts that failed in a row (0 while
 * up); shows that a down host is being retried with backoff. */
guint wirt_host_get_failures(WirtHost *host);

/* --- seed 001's /virt XML interface (worker side unless noted) --- */

/* The read commands of /virt/OWNER/VM/COMMAND, named after libvirt's functions. */
typedef enum {
    WIRT_VIRT_READ_XML_DESC, /* domainGetXMLDesc: libvirt's own <domain> document */
    WIRT_VIRT_READ_ID,
    WIRT_VIRT_READ_MAX_MEMORY,
    WIRT_VIRT_READ_MAX_VCPUS,
    WIRT_VIRT_READ_NAME,
    WIRT_VIRT_READ_OS_TYPE,
    WIRT_VIRT_READ_SCHEDULER_PARAMETERS,
    WIRT_VIRT_READ_SCHEDULER_TYPE,
    WIRT_VIRT_READ_UUID,
    WIRT_VIRT_READ_UUID_STRING,
    WIRT_VIRT_READ_VCPUS,
    WIRT_VIRT_READ_INTERFACE_STATS, /* every interface of the running domain */
    WIRT_VIRT_READ_LAST,
} WirtVirtRead;

/* "domainGetID" for WIRT_VIRT_READ_ID (any thread); NULL past the end. */
const char *wirt_virt_read_to_string(WirtVirtRead what);
/* (transfer full): the answer to @what as one XML element named after the command
 * (docs/api.md, "seed 001's XML interface"). */
char *wirt_virt_vm_read(WirtConn *conn, const char *uuid, WirtVirtRead what, GError **error);

/* A device document for domainAttachDevice/domainDetachDevice, parsed with GMarkup
 * (no DTD, no entities but XML's five): any thread, no libvirt. */
typedef struct {
    char *element;           /* "disk" or "interface" */
    char *type;              /* its type attribute */
    char *device;            /* disk: its device attribute */
    char *pool;              /* <source pool=…> */
    char *volume;            /* <source volume=…> */
    char *source;            /* any other <source>: file, dev, dir, network, bridge… (history) */
    char *target;            /* <target dev=…> */
    char *bus;               /* <target bus=…> */
    char *driver_name;       /* <driver name=…> */
    char *driver_type;       /* <driver type=…> */
    gboolean readonly;       /* <readonly/> */
    char *outside_user_form; /* (nullable) the first thing users may not send */
} WirtVirtDevice;

void wirt_virt_device_clear(WirtVirtDevice *dev);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtVirtDevice, wirt_virt_device_clear)
/* INVALID unless @xml is one well-formed <disk> or <interface> element. */
gboolean wirt_virt_device_parse(const char *xml, gsize len, WirtVirtDevice *out_dev,
                                GError **error);
/* Whether a user may send @dev for a VM of @owner: a <disk type='volume'> of a
 * volume named OWNER.NAME (attach), raw, with nothing but driver, source, target
 * and readonly. DENIED (or INVALID for a missing part) says why not. */
gboolean wirt_virt_device_check_user(const WirtVirtDevice *dev, const char *owner, gboolean attach,
                                     GError **error);
/* Attaches (@attach) or detaches a device, live when the domain runs and in its
 * persistent config when it has one. @xml (admins) goes to libvirt verbatim;
 * with @xml NULL, the disk is rebuilt from @dev (users: after
 * wirt_virt_device_check_user()), its volume looked up and attached as raw. */
gboolean wirt_virt_vm_device(WirtConn *conn, const char *uuid, gboolean attach, const char *xml,
                             const WirtVirtDevice *dev, GError **error);

G_END_DECLS
