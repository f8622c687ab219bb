/* wirt-http-virt.c: seed 001's /virt XML interface (MISSION H2). Being written. */
#include "wirt-http-private.h"

/**
 * wirt_http_virt_routes:
 * @out_n: (out): the number of routes
 * Returns: (transfer none): the /virt routes.
 */
const WirtHttpRoute *
wirt_http_virt_routes(gsize *out_n)
{
    *out_n = 0;
    return NULL;
}
