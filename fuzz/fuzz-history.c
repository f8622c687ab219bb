/* fuzz-history.c: lines of the history file, which `wirt history` reads back. */
#include <string.h>

#include "core/wirt-history.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *line = NULL;
    g_auto(WirtHistoryRecord) rec = {0};

    if (size > FUZZ_MAX_INPUT)
        return 0;
    line = g_strndup((const char *)data, size);
    if (wirt_history_record_from_line(line, &rec, NULL)) {
        g_autofree char *again = wirt_history_record_to_line(&rec);
        g_assert_null(strchr(again, '\n'));
    }
    return 0;
}
