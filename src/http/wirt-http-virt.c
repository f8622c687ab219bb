/* wirt-http-virt.c: seed 001's /virt XML interface (MISSION H2).
 *
 *   GET  /virt                          every VM the caller may see, as <vms>
 *   GET  /virt/OWNER                    the same, of one owner ("-": unowned domains)
 *   GET  /virt/OWNER/VM                 the domain XML (domainGetXMLDesc)
 *   GET  /virt/OWNER/VM/domainGet…      one read, named after libvirt's function
 *   POST /virt/OWNER/VM/domainReboot    (and domainShutdown, domainAttachDevice,
 *                                        domainDetachDevice)
 *
 * Each command is its own row of the route table, with the policy action it
 * needs, so --print-routes and the route walk cover every one and a GET of an
 * action (or a POST of a read) is the dispatcher's 405 with an Allow header.
 * Handlers only parse, call the service and reply: successes are XML, errors
 * keep the API's one JSON shape (docs/api.md).
 */
#include "wirt-http-private.h"

#include "core/wirt-api.h"

#define XML_TYPE "application/xml"

/* ---------------------------------------------------------------- replies */

/* Answers @body (XML without a prolog) after the prolog and, when configured,
 * the xml-stylesheet line. The URL comes from the admin's config but is still
 * escaped: a quote or "?>" in it cannot end the instruction early. */
static void
reply_xml(SoupServerMessage *msg, WirtService *service, const char *body)
{
    const char *xsl = wirt_service_get_config(service)->http.xsl_stylesheet;
    GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    gsize len;

    if (xsl && *xsl) {
        g_autofree char *href = g_markup_escape_text(xsl, -1);
        g_string_append_printf(out, "<?xml-stylesheet type=\"text/xsl\" href=\"%s\"?>\n", href);
    }
    g_string_append(out, body);
    len = out->len;
    soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control",
                                 "no-store");
    soup_server_message_set_response(msg, XML_TYPE, SOUP_MEMORY_TAKE, g_string_free(out, FALSE),
                                     len);
}

/* One request in flight: what the callback needs to answer it. */
typedef struct {
    SoupServerMessage *msg;
    WirtService *service; /* outlives every request */
    const char *command;  /* static */
} VirtCall;

static VirtCall *
virt_call_new(WirtHttpRequest *req, const char *command)
{
    VirtCall *call = g_new0(VirtCall, 1);

    call->msg = g_object_ref(req->msg);
    call->service = req->service;
    call->command = command;
    soup_server_message_pause(req->msg);
    return call;
}

static void
virt_call_free(VirtCall *call)
{
    soup_server_message_unpause(call->msg);
    g_object_unref(call->msg);
    g_free(call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VirtCall, virt_call_free)

/* ------------------------------------------------------------------ lists */

static void
append_vm(GString *out, const WirtVm *vm)
{
    const char *owner = vm->owner ? vm->owner : WIRT_SERVICE_UNOWNED;
    g_autofree char *owner_xml = g_markup_escape_text(owner, -1);
    g_autofree char *name_xml = g_markup_escape_text(vm->name, -1);
    g_autofree char *owner_uri = g_uri_escape_string(owner, NULL, FALSE);
    g_autofree char *name_uri = g_uri_escape_string(vm->name, NULL, FALSE);
    g_autofree char *href = g_strdup_printf("/virt/%s/%s", owner_uri, name_uri);
    g_autofree char *href_xml = g_markup_escape_text(href, -1);

    g_string_append_printf(out, "  <vm owner=\"%s\" name=\"%s\" state=\"%s\" href=\"%s\"/>\n",
                           owner_xml, name_xml, wirt_vm_state_to_string(vm->state), href_xml);
}

/* GET /virt (optionally ?owner=) and GET /virt/OWNER: what wirt_service_list_vms()
 * lets the caller see; OWNER "-" keeps the unowned domains (admins'). */
static void
handle_list(WirtHttpRequest *req)
{
    g_autoptr(GError) error = NULL;
    const char *owner = req->owner ? req->owner : wirt_http_query(req, "owner");
    g_autoptr(GPtrArray) vms = NULL;
    g_autoptr(GString) out = NULL;
    gboolean unowned = g_strcmp0(owner, WIRT_SERVICE_UNOWNED) == 0;

    if (!(vms = wirt_service_list_vms(req->service, req->actor, unowned ? NULL : owner, &error))) {
        wirt_http_reply_error(req->msg, error);
        return;
    }
    out = g_string_new("<vms>\n");
    for (guint i = 0; i < vms->len; i++) {
        const WirtVm *vm = g_ptr_array_index(vms, i);
        if (!unowned || !vm->owner)
            append_vm(out, vm);
    }
    g_string_append(out, "</vms>\n");
    reply_xml(req->msg, req->service, out->str);
}

/* ------------------------------------------------------------------ reads */

static void
on_read_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(VirtCall) call = user_data;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = wirt_service_vm_read_finish(res, &error);

    if (text)
        reply_xml(call->msg, call->service, text);
    else
        wirt_http_reply_error(call->msg, error);
}

static void
virt_read(WirtHttpRequest *req, WirtVirtRead what, const char *command)
{
    wirt_service_vm_read_async(req->service, req->actor, req->owner, req->name, what, on_read_done,
                               virt_call_new(req, command));
}

/* One handler per read command: the route table binds each path to its read. */
#define VIRT_READ_HANDLER(fn, what, command)                                                       \
    static void fn(WirtHttpRequest *req)                                                           \
    {                                                                                              \
        virt_read(req, what, command);                                                             \
    }

VIRT_READ_HANDLER(handle_xml_desc, WIRT_VIRT_READ_XML_DESC, "domainGetXMLDesc")
VIRT_READ_HANDLER(handle_id, WIRT_VIRT_READ_ID, "domainGetID")
VIRT_READ_HANDLER(handle_max_memory, WIRT_VIRT_READ_MAX_MEMORY, "domainGetMaxMemory")
VIRT_READ_HANDLER(handle_max_vcpus, WIRT_VIRT_READ_MAX_VCPUS, "domainGetMaxVcpus")
VIRT_READ_HANDLER(handle_name, WIRT_VIRT_READ_NAME, "domainGetName")
VIRT_READ_HANDLER(handle_os_type, WIRT_VIRT_READ_OS_TYPE, "domainGetOSType")
VIRT_READ_HANDLER(handle_sched_params, WIRT_VIRT_READ_SCHEDULER_PARAMETERS,
                  "domainGetSchedulerParameters")
VIRT_READ_HANDLER(handle_sched_type, WIRT_VIRT_READ_SCHEDULER_TYPE, "domainGetSchedulerType")
VIRT_READ_HANDLER(handle_uuid, WIRT_VIRT_READ_UUID, "domainGetUUID")
VIRT_READ_HANDLER(handle_uuid_string, WIRT_VIRT_READ_UUID_STRING, "domainGetUUIDString")
VIRT_READ_HANDLER(handle_vcpus, WIRT_VIRT_READ_VCPUS, "domainGetVcpus")
VIRT_READ_HANDLER(handle_interface_stats, WIRT_VIRT_READ_INTERFACE_STATS, "domainInterfaceStats")

/* ---------------------------------------------------------------- actions */

/* <domainReboot state="running"/>: the VM's state once libvirt has answered. */
static void
on_action_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(VirtCall) call = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtVm) vm = wirt_service_finish(res, &error);
    g_autofree char *body = NULL;

    if (!vm) {
        wirt_http_reply_error(call->msg, error);
        return;
    }
    body =
        g_strdup_printf("<%s state=\"%s\"/>\n", call->command, wirt_vm_state_to_string(vm->state));
    reply_xml(call->msg, call->service, body);
}

static void
virt_power(WirtHttpRequest *req, WirtAction action, const char *command)
{
    wirt_service_vm_power_async(req->service, req->actor, req->owner, req->name, action,
                                on_action_done, virt_call_new(req, command));
}

static void
handle_reboot(WirtHttpRequest *req)
{
    virt_power(req, WIRT_ACTION_REBOOT, "domainReboot");
}

/* libvirt's virDomainShutdown: the ACPI request, nothing more (the JSON API's
 * "stop" is the one that waits and powers off). */
static void
handle_shutdown(WirtHttpRequest *req)
{
    virt_power(req, WIRT_ACTION_STOP, "domainShutdown");
}

/* The device document: XML (or no Content-Type), not empty; size is capped by
 * the dispatcher's early handler, and once more here. */
static GBytes *
read_device_body(WirtHttpRequest *req)
{
    SoupMessageBody *body = soup_server_message_get_request_body(req->msg);
    const char *ctype = soup_message_headers_get_content_type(
        soup_server_message_get_request_headers(req->msg), NULL);
    g_autoptr(GBytes) bytes = NULL;
    gsize len;

    if (ctype && !g_str_equal(ctype, XML_TYPE) && !g_str_equal(ctype, "text/xml")) {
        g_autoptr(GError) error =
            g_error_new(WIRT_ERROR, WIRT_ERROR_MEDIA_TYPE,
                        "request body must be application/xml, not %s", ctype);
        wirt_http_reply_error(req->msg, error);
        return NULL;
    }
    bytes = soup_message_body_flatten(body);
    len = g_bytes_get_size(bytes);
    if (len > WIRT_API_BODY_MAX) {
        g_autofree char *message = g_strdup_printf(
            "request body of %zu bytes is over the %d byte limit", len, WIRT_API_BODY_MAX);
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                                     WIRT_ERROR_INVALID, message);
        return NULL;
    }
    if (len == 0) {
        wirt_http_reply_error_status(req->msg, SOUP_STATUS_BAD_REQUEST, WIRT_ERROR_INVALID,
                                     "the body must be the device XML, e.g. <disk "
                                     "type='volume'>…</disk>");
        return NULL;
    }
    return g_steal_pointer(&bytes);
}

static void
virt_device(WirtHttpRequest *req, gboolean attach)
{
    g_autoptr(GBytes) bytes = NULL;
    gsize len = 0;
    const char *data;

    if (!(bytes = read_device_body(req)))
        return;
    data = g_bytes_get_data(bytes, &len);
    wirt_service_vm_device_async(
        req->service, req->actor, req->owner, req->name, attach, data, len, on_action_done,
        virt_call_new(req, attach ? "domainAttachDevice" : "domainDetachDevice"));
}

static void
handle_attach(WirtHttpRequest *req)
{
    virt_device(req, TRUE);
}

static void
handle_detach(WirtHttpRequest *req)
{
    virt_device(req, FALSE);
}

/* ------------------------------------------------------------------ table */

/* The walk's example device: a volume disk in the user's own namespace. */
#define EXAMPLE_DISK                                                                               \
    "<disk type='volume' device='disk'><source pool='default-pool' volume='wt-alice.walk'/>"       \
    "<target dev='vdz'/></disk>"

#define VM "/virt/{owner}/{name}"

static const WirtHttpRoute routes[] = {
    {{"GET", "/virt", WIRT_ACTION_LIST, NULL}, handle_list},
    {{"GET", "/virt/{owner}", WIRT_ACTION_LIST, NULL}, handle_list},
    {{"GET", VM, WIRT_ACTION_VIEW, NULL}, handle_xml_desc},
    {{"GET", VM "/domainGetXMLDesc", WIRT_ACTION_VIEW, NULL}, handle_xml_desc},
    {{"GET", VM "/domainGetID", WIRT_ACTION_VIEW, NULL}, handle_id},
    {{"GET", VM "/domainGetMaxMemory", WIRT_ACTION_VIEW, NULL}, handle_max_memory},
    {{"GET", VM "/domainGetMaxVcpus", WIRT_ACTION_VIEW, NULL}, handle_max_vcpus},
    {{"GET", VM "/domainGetName", WIRT_ACTION_VIEW, NULL}, handle_name},
    {{"GET", VM "/domainGetOSType", WIRT_ACTION_VIEW, NULL}, handle_os_type},
    {{"GET", VM "/domainGetSchedulerParameters", WIRT_ACTION_VIEW, NULL}, handle_sched_params},
    {{"GET", VM "/domainGetSchedulerType", WIRT_ACTION_VIEW, NULL}, handle_sched_type},
    {{"GET", VM "/domainGetUUID", WIRT_ACTION_VIEW, NULL}, handle_uuid},
    {{"GET", VM "/domainGetUUIDString", WIRT_ACTION_VIEW, NULL}, handle_uuid_string},
    {{"GET", VM "/domainGetVcpus", WIRT_ACTION_VIEW, NULL}, handle_vcpus},
    {{"GET", VM "/domainInterfaceStats", WIRT_ACTION_VIEW, NULL}, handle_interface_stats},
    {{"POST", VM "/domainReboot", WIRT_ACTION_REBOOT, NULL}, handle_reboot},
    {{"POST", VM "/domainShutdown", WIRT_ACTION_STOP, NULL}, handle_shutdown},
    {{"POST", VM "/domainAttachDevice", WIRT_ACTION_ATTACH_DISK, EXAMPLE_DISK}, handle_attach},
    {{"POST", VM "/domainDetachDevice", WIRT_ACTION_ATTACH_DISK, EXAMPLE_DISK}, handle_detach},
};

/**
 * wirt_http_virt_routes:
 * @out_n: (out): the number of routes
 * Returns: (transfer none): the /virt routes, for the dispatcher in wirt-http.c.
 */
const WirtHttpRoute *
wirt_http_virt_routes(gsize *out_n)
{
    *out_n = G_N_ELEMENTS(routes);
    return routes;
}
