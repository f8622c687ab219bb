/* fuzz-config.c: the wirtd.conf parser (GKeyFile plus our line scanner). */
#include "core/wirt-config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(WirtConfig) config = NULL;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    config = wirt_config_load_data((const char *)data, size, "fuzz.conf", NULL);
    if (config) {
        WirtQuota q;
        const char *groups[] = {"students", "staff", NULL};
        wirt_config_quota_for(config, "alice", groups, &q);
    }
    return 0;
}
