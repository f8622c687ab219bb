/* fuzz-device-xml.c: device XML a user posts to /virt/OWNER/VM/domainAttachDevice.
 * What a user may attach is decided from this parse, so it must never crash and
 * never accept something the check then misreads. */
#include "fuzz.h"
#include "virt/wirt-virt.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_auto(WirtVirtDevice) dev = {0};

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (wirt_virt_device_parse((const char *)data, size, &dev, NULL)) {
        wirt_virt_device_check_user(&dev, "alice", TRUE, NULL);
        wirt_virt_device_check_user(&dev, "alice", FALSE, NULL);
    }
    return 0;
}
