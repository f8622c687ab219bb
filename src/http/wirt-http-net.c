/* wirt-http-net.c: /1.0/networks (docs/api.md, "Networks").
 *
 *   GET    /1.0/networks            the networks the caller may see
 *   POST   /1.0/networks            create one: {"name","subnet","mode","dhcp"} (admins:
 *                                    "owner": USER for a user's)
 *   GET    /1.0/networks/NAME       one network (admins: ?owner= for a user's)
 *   DELETE /1.0/networks/NAME       delete it (409 while a VM uses it)
 *
 * Handlers only parse, call the service (service/wirt-networks.h) and reply.
 */
#include "wirt-http-private.h"

#include "service/wirt-networks.h"

static void
on_net_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(SoupServerMessage) msg = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = wirt_service_net_finish(res, &error);

    wirt_http_reply_node_or_error(msg, node, error);
    soup_server_message_unpause(msg);
}

static void
on_net_created(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(SoupServerMessage) msg = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = wirt_service_net_finish(res, &error);

    if (node)
        wirt_http_reply_json(msg, SOUP_STATUS_CREATED, node);
    else
        wirt_http_reply_error(msg, error);
    soup_server_message_unpause(msg);
}

static gpointer
pause_msg(WirtHttpRequest *req)
{
    soup_server_message_pause(req->msg);
    return g_object_ref(req->msg);
}

static void
handle_list(WirtHttpRequest *req)
{
    wirt_service_net_list_async(req->service, req->actor, on_net_done, pause_msg(req));
}

static void
handle_create(WirtHttpRequest *req)
{
    static const char *const allowed[] = {"name", "subnet", "mode", "dhcp", "owner", NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) body = wirt_http_read_body(req, allowed, &error);
    const char *name = NULL, *subnet = NULL, *mode = NULL, *owner = NULL;
    gboolean dhcp = TRUE;

    if (!body || !wirt_http_get_string_member(body, "name", TRUE, &name, &error) ||
        !wirt_http_get_string_member(body, "subnet", FALSE, &subnet, &error) ||
        !wirt_http_get_string_member(body, "mode", FALSE, &mode, &error) ||
        !wirt_http_get_string_member(body, "owner", FALSE, &owner, &error) ||
        !wirt_http_get_bool_member(body, "dhcp", FALSE, &dhcp, &error)) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    wirt_service_net_create_async(
        req->service, req->actor, owner, name, subnet, mode,
        json_object_has_member(body, "dhcp") && !json_object_get_null_member(body, "dhcp") ? dhcp
                                                                                           : -1,
        on_net_created, pause_msg(req));
}

static void
handle_get(WirtHttpRequest *req)
{
    wirt_service_net_get_async(req->service, req->actor, wirt_http_query(req, "owner"), req->name,
                               on_net_done, pause_msg(req));
}

static void
handle_delete(WirtHttpRequest *req)
{
    wirt_service_net_delete_async(req->service, req->actor, wirt_http_query(req, "owner"),
                                  req->name, on_net_done, pause_msg(req));
}

static const WirtHttpRoute routes[] = {
    {{"GET", "/1.0/networks", WIRT_ACTION_NET_VIEW, NULL}, handle_list},
    {{"POST", "/1.0/networks", WIRT_ACTION_NET_CREATE,
      "{\"name\":\"lab\",\"subnet\":\"10.77.0.0/24\"}"},
     handle_create},
    {{"GET", "/1.0/networks/{name}", WIRT_ACTION_NET_VIEW, NULL}, handle_get},
    {{"DELETE", "/1.0/networks/{name}", WIRT_ACTION_NET_DELETE, NULL}, handle_delete},
};

/**
 * wirt_http_net_routes:
 * @out_n: (out): the number of routes
 * Returns: (transfer none): the /1.0/networks routes, for the dispatcher in wirt-http.c.
 */
const WirtHttpRoute *
wirt_http_net_routes(gsize *out_n)
{
    *out_n = G_N_ELEMENTS(routes);
    return routes;
}
