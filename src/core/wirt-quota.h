/* wirt-quota.h: quota arithmetic, computed from what the hosts hold. */
#pragma once

#include "wirt-config.h"
#include "wirt-model.h"

G_BEGIN_DECLS

typedef struct {
    gint64 vms;
    gint64 vcpus;
    gint64 memory_mib;
} WirtUsage;

/* Sums the VMs of @owner in @vms (WirtVm*). */
void wirt_usage_for_owner(GPtrArray *vms, const char *owner, WirtUsage *out_usage);
/* %WIRT_ERROR_QUOTA "quota: vms 2 of 2 used" when adding @request would pass @quota. */
gboolean wirt_quota_check(const WirtQuota *quota, const WirtUsage *usage, const WirtUsage *request,
                          GError **error);

G_END_DECLS
