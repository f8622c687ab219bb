/* main.c: the wirt command-line client; everything lives in libwirt-cli. */
#include "wirt-cli.h"

/**
 * main:
 * Returns: the exit status of wirt_cli_main(): 0, 2 for usage errors, or the one that belongs
 * to wirtd's error code (docs/api.md).
 */
int
main(int argc, char **argv)
{
    return wirt_cli_main(argc, (const char *const *)argv);
}
