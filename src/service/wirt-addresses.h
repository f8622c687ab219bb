/* wirt-addresses.h: running VMs' addresses (issue 3): fetched on demand for one
 * VM's view, and watched for a while after each start, so that the event stream
 * tells subscribers once the guest has an address (docs/api.md, "Addresses").
 *
 * libvirt is called only in GTask workers; lists never ask for addresses. */
#pragma once

#include "core/wirt-addr.h"
#include "wirt-service-private.h"

G_BEGIN_DECLS

/* Watch: after a VM goes from not running to running, ask lease and ARP every
 * WIRT_ADDRESSES_POLL_MS for up to WIRT_ADDRESSES_POLL_SECONDS; stop once the
 * same non-empty answer came WIRT_ADDRESSES_STABLE times in a row, or the VM stops. */
#define WIRT_ADDRESSES_POLL_MS 1000
#define WIRT_ADDRESSES_POLL_SECONDS 120
#define WIRT_ADDRESSES_STABLE 3

WirtAddresses *wirt_addresses_new(WirtService *service, WirtHosts *hosts);
void wirt_addresses_free(WirtAddresses *self);

/* (transfer full): the addresses the watcher last reported for @vm, as the API's
 * array ([] when none are known). Main loop, no libvirt. */
JsonNode *wirt_service_vm_addresses_json(WirtService *service, const WirtVm *vm);

/* A fresh answer from every source (lease, agent, ARP) for a running @vm that the
 * caller already resolved with policy; the libvirt calls run in a worker.
 * Finish: (transfer full) the merged addresses, or NULL with the error. */
void wirt_service_vm_addresses_async(WirtService *service, WirtVm *vm, GAsyncReadyCallback callback,
                                     gpointer user_data);
WirtAddrList *wirt_service_vm_addresses_finish(GAsyncResult *result, GError **error);

G_END_DECLS
