/* fuzz-meta.c: wirt's <metadata> parser. Anyone with libvirt access can write
 * a domain's metadata, so wirtd treats it as untrusted input. */
#include "core/wirt-meta.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_auto(WirtMeta) meta = {0};

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (wirt_meta_parse((const char *)data, (gssize)size, &meta, NULL)) {
        /* What parses must format and parse back to the same owner and name. */
        g_autofree char *again = wirt_meta_format(&meta);
        g_auto(WirtMeta) back = {0};
        g_assert_true(wirt_meta_parse(again, -1, &back, NULL));
        g_assert_cmpstr(back.owner, ==, meta.owner);
        g_assert_cmpstr(back.name, ==, meta.name);
    }
    return 0;
}
