/* fuzz-main.c: replays a corpus through a fuzz target without libFuzzer, so
 * `meson test --suite fuzz` turns every saved input (and every crasher ever
 * found) into a regression test. Arguments: files or directories. */
#include <glib.h>
#include <stdio.h>

#include "fuzz.h"

static int
replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) error = NULL;

    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "fuzz-main: %s\n", error->message);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    return 0;
}

int
main(int argc, char **argv)
{
    int n = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            g_autoptr(GDir) dir = g_dir_open(argv[i], 0, NULL);
            const char *name;
            while (dir && (name = g_dir_read_name(dir))) {
                g_autofree char *path = g_build_filename(argv[i], name, NULL);
                failed |= replay_file(path);
                n++;
            }
        } else {
            failed |= replay_file(argv[i]);
            n++;
        }
    }
    printf("1..1\nok 1 - replayed %d inputs\n", n);
    return failed;
}
