/* fuzz-auth-header.c: the Authorization header parser of the TCP front door:
 * bytes straight from the network, before anyone is authenticated. */
#include <string.h>

#include "fuzz.h"
#include "http/wirt-http-auth.h"
#include "util/wirt-util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *header = NULL;
    g_autofree char *user = NULL;
    char *password = NULL;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    header = g_strndup((const char *)data, size);
    if (wirt_auth_parse_basic(header, &user, &password)) {
        /* A user name is never empty and never carries the separator or a NUL. */
        g_assert_true(user[0] != '\0');
        g_assert_null(strchr(user, ':'));
        wirt_util_secure_free(password);
    }
    return 0;
}
