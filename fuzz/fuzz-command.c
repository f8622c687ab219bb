/* fuzz-command.c: command files of the files API (~/wirt/command/vm/NAME/ACTION), which any
 * member writes. The first byte picks the file name; the rest is the content. */
#include <string.h>

#include "core/wirt-command.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *const *names = wirt_command_names();
    guint n = g_strv_length((GStrv)names);
    g_auto(WirtCommand) cmd = {0};
    g_autoptr(GError) error = NULL;

    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    if (wirt_command_parse(names[data[0] % n], (const char *)data + 1, size - 1, &cmd, &error)) {
        g_autofree char *text = wirt_command_describe(&cmd);
        g_assert_nonnull(text);
        g_assert_null(error);
    } else {
        g_assert_nonnull(error);
        g_assert_null(strchr(error->message, '\n'));
    }
    return 0;
}
