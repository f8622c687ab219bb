/* wirt-quota.c: quota arithmetic, computed from what the hosts hold. */
#include "wirt-quota.h"

#include "wirt-error.h"

/**
 * wirt_usage_for_owner:
 * @vms: (element-type WirtVm): every VM wirt knows of
 * @owner: whose usage to sum
 * @out_usage: (out): VMs, vCPUs and memory of every VM @owner owns, running or not
 */
void
wirt_usage_for_owner(GPtrArray *vms, const char *owner, WirtUsage *out_usage)
{
    WirtUsage usage = {0, 0, 0};

    for (guint i = 0; vms && i < vms->len; i++) {
        const WirtVm *vm = g_ptr_array_index(vms, i);
        if (!vm->owner || !owner || !g_str_equal(vm->owner, owner))
            continue;
        usage.vms++;
        usage.vcpus += vm->vcpus;
        usage.memory_mib += (gint64)vm->memory_mib;
    }
    *out_usage = usage;
}

static gboolean
check_one(const char *what, gint64 limit, gint64 used, gint64 more, GError **error)
{
    if (limit < 0 || more <= 0 || used + more <= limit)
        return TRUE;
    if (more == 1 && g_str_equal(what, "vms"))
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_QUOTA,
                    "quota: vms %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " used", used, limit);
    else
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_QUOTA,
                    "quota: %s %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " used, %" G_GINT64_FORMAT
                    " more asked",
                    what, used, limit, more);
    return FALSE;
}

/**
 * wirt_quota_check:
 * @quota: the limits (-1 = unlimited)
 * @usage: what is in use now
 * @request: what the action adds
 * Returns: %TRUE when it fits, else %FALSE with %WIRT_ERROR_QUOTA naming the limit.
 */
gboolean
wirt_quota_check(const WirtQuota *quota, const WirtUsage *usage, const WirtUsage *request,
                 GError **error)
{
    return check_one("vms", quota->vms, usage->vms, request->vms, error) &&
           check_one("vcpus", quota->vcpus, usage->vcpus, request->vcpus, error) &&
           check_one("memory-mib", quota->memory_mib, usage->memory_mib, request->memory_mib,
                     error);
}
