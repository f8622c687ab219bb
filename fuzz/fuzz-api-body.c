/* fuzz-api-body.c: request bodies of the HTTP API (size cap, UTF-8, JSON object). */
#include "core/wirt-api.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(JsonObject) obj = NULL;

    if (size > FUZZ_MAX_INPUT + 16)
        return 0;
    obj = wirt_api_parse_object((const char *)data, size, NULL);
    if (obj) {
        g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), obj);
        g_autofree char *text = wirt_api_to_string(node, FALSE);
        g_assert_nonnull(text);
    }
    return 0;
}
