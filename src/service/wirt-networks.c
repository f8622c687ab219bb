/* wirt-networks.c: wirt's networks, policy to libvirt (see wirt-networks.h).
 *
 * Policy, names and the XML are decided here on the main loop; the libvirt
 * calls (list, define + start, destroy + undefine, the in-use check) run in a
 * GTask worker per request, one host after the other. The one thing held here
 * is the set of creates in flight, so that two requests for one network cannot
 * both pass the "exists already" check.
 *
 * Where networks exist: a user's network on every host that is up when it is
 * created (a VM of any pool can then use it); an admins' network on the hosts
 * of its pool= (default: every pool), defined the first time an admin asks for
 * it (`wirt net create NAME`) and shown as not active until then.
 */
#include "wirt-networks.h"

#include "core/wirt-error.h"
#include "core/wirt-names.h"
#include "core/wirt-policy.h"
#include "util/wirt-util.h"
#include "virt/wirt-virt-net.h"

typedef struct {
    WirtConn *conn;
    char *pool;
    char *node;
} NetHost;

static void
net_host_free(gpointer data)
{
    NetHost *nh = data;

    wirt_conn_unref(nh->conn);
    g_free(nh->pool);
    g_free(nh->node);
    g_free(nh);
}

typedef struct {
    WirtVirtNet *net;
    const NetHost *host; /* borrowed from NetWork.hosts */
} NetRow;

static void
net_row_free(gpointer data)
{
    NetRow *row = data;

    wirt_virt_net_free(row->net);
    g_free(row);
}

typedef struct {
    WirtService *service;
    WirtActor *actor;
    WirtAction action;
    char *owner;           /* (nullable): NULL = an admins' network */
    char *name;            /* (nullable): list */
    gboolean own_or_admin; /* get by a user: their own, else a visible admins' network */
    char *label;           /* "lab", "alice/lab" */
    char *libvirt_name;
    char *xml;           /* create */
    gboolean may_exist;  /* create of an admins' network: start what is there */
    gboolean registered; /* create: libvirt_name is in creates_in_flight */
    WirtNetMode mode;
    char *subnet;
    gboolean dhcp;
    GPtrArray *hosts; /* NetHost* */
    GPtrArray *rows;  /* NetRow*: what the worker found */
} NetWork;

/* libvirt names of the creates in flight (main loop only). */
static GHashTable *creates_in_flight;

static void
actor_free_cb(WirtActor *actor)
{
    wirt_actor_free(actor);
}

static void
net_work_free(gpointer data)
{
    NetWork *work = data;

    if (work->registered)
        g_hash_table_remove(creates_in_flight, work->libvirt_name);
    g_clear_pointer(&work->actor, actor_free_cb);
    g_free(work->owner);
    g_free(work->name);
    g_free(work->label);
    g_free(work->libvirt_name);
    g_free(work->xml);
    g_free(work->subnet);
    g_clear_pointer(&work->hosts, g_ptr_array_unref);
    g_clear_pointer(&work->rows, g_ptr_array_unref);
    g_free(work);
}

static void
net_json_free_cb(gpointer data)
{
    json_node_unref(data);
}

static char *
net_label(const char *owner, const char *name)
{
    return owner ? g_strdup_printf("%s/%s", owner, name) : g_strdup(name);
}

static void
net_record(NetWork *work, const GError *error)
{
    g_auto(WirtHistoryRecord) rec = {0};

    rec.time = wirt_util_iso8601_now();
    rec.actor = g_strdup(work->actor->user);
    rec.uid = work->actor->uid;
    rec.door = g_strdup(wirt_door_to_string(work->actor->door));
    rec.owner = g_strdup(work->owner);
    rec.action = g_strdup(wirt_action_to_string(work->action));
    rec.ok = error == NULL;
    rec.error = error ? g_strdup(error->message) : NULL;
    if (work->action == WIRT_ACTION_NET_CREATE && work->subnet)
        rec.detail =
            g_strdup_printf("network=%s libvirt=%s subnet=%s mode=%s dhcp=%s",
                            work->name ? work->name : "", work->libvirt_name, work->subnet,
                            wirt_net_mode_to_string(work->mode), work->dhcp ? "on" : "off");
    else
        rec.detail = g_strdup_printf("network=%s", work->name ? work->name : "");
    wirt_service_record(work->service, &rec);
}

/* The admins' network @owner/@name stands for, if any (@owner NULL only). */
static const WirtNetworkConfig *
config_net(WirtService *service, const char *owner, const char *name)
{
    return owner ? NULL : wirt_config_find_network(wirt_service_get_config(service), name);
}

/* Whether @actor may know about the network: policy, and hidden admins' networks. */
static gboolean
net_visible(NetWork *work, const char *owner, const char *name)
{
    const WirtConfig *config = wirt_service_get_config(work->service);
    const WirtNetworkConfig *cn = config_net(work->service, owner, name);

    if (wirt_policy_decide(config, work->actor, WIRT_ACTION_NET_VIEW, owner, NULL) !=
        WIRT_POLICY_ALLOW)
        return FALSE;
    if (work->actor->is_admin)
        return TRUE;
    /* An unowned wirt network that is not (or no longer) in the config is the admins'. */
    return owner != NULL || (cn && !cn->hidden);
}

/* Up hosts with a connection; @pool (nullable) restricts them to one pool. */
static GPtrArray *
net_hosts(WirtService *service, const char *pool, GError **error)
{
    g_autoptr(GPtrArray) hosts = wirt_hosts_list(wirt_service_get_hosts(service));
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(net_host_free);

    for (guint i = 0; i < hosts->len; i++) {
        WirtHost *host = g_ptr_array_index(hosts, i);
        WirtConn *conn;
        NetHost *nh;

        if (pool && !g_str_equal(wirt_host_get_pool(host), pool))
            continue;
        if (!wirt_host_is_up(host) || !(conn = wirt_host_get_conn(host, NULL)))
            continue;
        nh = g_new0(NetHost, 1);
        nh->conn = conn;
        nh->pool = g_strdup(wirt_host_get_pool(host));
        nh->node = g_strdup(wirt_host_get_node(host));
        g_ptr_array_add(out, nh);
    }
    if (out->len == 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                    "networks: no host%s%s is up, try again later", pool ? " of pool " : "",
                    pool ? pool : "");
        return NULL;
    }
    return g_steal_pointer(&out);
}

static GTask *
net_task_new(WirtService *service, const WirtActor *actor, WirtAction action,
             GAsyncReadyCallback callback, gpointer user_data, NetWork **out_work)
{
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    NetWork *work = g_new0(NetWork, 1);

    if (!creates_in_flight)
        creates_in_flight = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    work->service = service;
    work->actor = wirt_actor_copy(actor);
    work->action = action;
    g_task_set_task_data(task, work, net_work_free);
    g_task_set_source_tag(task, wirt_service_net_finish);
    *out_work = work;
    return task;
}

static void
net_fail(GTask *task, GError *error)
{
    NetWork *work = g_task_get_task_data(task);

    if (work->action != WIRT_ACTION_NET_VIEW)
        net_record(work, error);
    g_task_return_error(task, error);
    g_object_unref(task);
}

/**
 * wirt_service_net_finish:
 * Returns: (transfer full) (nullable): the answer as JSON, or %NULL with @error set.
 */
JsonNode *
wirt_service_net_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == wirt_service_net_finish, NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* One network as the API shows it: merged over the hosts that have it. */
typedef struct {
    char *owner;
    char *name;
    char *libvirt_name;
    WirtNetMode mode;
    char *subnet;
    char *bridge;
    gboolean dhcp;
    gboolean active;
    gboolean defined;
    gboolean hidden;
    GPtrArray *nodes; /* char* */
} NetView;

static void
net_view_free(gpointer data)
{
    NetView *v = data;

    g_free(v->owner);
    g_free(v->name);
    g_free(v->libvirt_name);
    g_free(v->subnet);
    g_free(v->bridge);
    g_ptr_array_unref(v->nodes);
    g_free(v);
}

static JsonNode *
net_view_to_json(const NetView *v, gboolean is_admin)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, v->name);
    json_builder_set_member_name(b, "owner");
    if (v->owner)
        json_builder_add_string_value(b, v->owner);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "mode");
    json_builder_add_string_value(b, wirt_net_mode_to_string(v->mode));
    json_builder_set_member_name(b, "subnet");
    json_builder_add_string_value(b, v->subnet ? v->subnet : "");
    json_builder_set_member_name(b, "dhcp");
    json_builder_add_boolean_value(b, v->dhcp);
    json_builder_set_member_name(b, "active");
    json_builder_add_boolean_value(b, v->active);
    json_builder_set_member_name(b, "defined");
    json_builder_add_boolean_value(b, v->defined);
    json_builder_set_member_name(b, "libvirt_name");
    json_builder_add_string_value(b, v->libvirt_name);
    json_builder_set_member_name(b, "bridge");
    if (v->bridge)
        json_builder_add_string_value(b, v->bridge);
    else
        json_builder_add_null_value(b);
    if (is_admin) {
        json_builder_set_member_name(b, "hidden");
        json_builder_add_boolean_value(b, v->hidden);
    }
    json_builder_set_member_name(b, "nodes");
    json_builder_begin_array(b);
    for (guint i = 0; i < v->nodes->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(v->nodes, i));
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* What the worker found plus the config's networks not defined yet, filtered for the
 * actor, in order: admins' networks first (config order), then users' by name. */
static GPtrArray *
net_views(NetWork *work)
{
    const WirtConfig *config = wirt_service_get_config(work->service);
    g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func(net_view_free);
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < config->networks->len; i++) {
        const WirtNetworkConfig *cn = g_ptr_array_index(config->networks, i);
        NetView *v = g_new0(NetView, 1);

        v->name = g_strdup(cn->name);
        v->libvirt_name = wirt_net_libvirt_name(NULL, cn->name);
        v->mode = cn->mode;
        v->subnet = g_strdup(cn->subnet);
        v->dhcp = cn->dhcp;
        v->hidden = cn->hidden;
        v->nodes = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(views, v);
        g_hash_table_insert(by_name, v->libvirt_name, v);
    }
    for (guint i = 0; work->rows && i < work->rows->len; i++) {
        const NetRow *row = g_ptr_array_index(work->rows, i);
        NetView *v = g_hash_table_lookup(by_name, row->net->libvirt_name);

        if (!v) {
            v = g_new0(NetView, 1);
            v->owner = g_strdup(row->net->owner);
            v->name = g_strdup(row->net->name);
            v->libvirt_name = g_strdup(row->net->libvirt_name);
            v->mode = row->net->mode;
            v->subnet = g_strdup(row->net->subnet);
            v->dhcp = row->net->dhcp;
            v->nodes = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(views, v);
            g_hash_table_insert(by_name, v->libvirt_name, v);
        }
        v->defined = TRUE;
        v->active = v->active || row->net->active;
        if (!v->bridge)
            v->bridge = g_strdup(row->net->bridge);
        g_ptr_array_add(v->nodes, g_strdup(row->host->node));
    }
    for (guint i = 0; i < views->len; i++) {
        NetView *v = g_ptr_array_index(views, i);

        if (!net_visible(work, v->owner, v->name))
            g_ptr_array_remove_index(views, i--);
    }
    return g_steal_pointer(&views);
}

static void
net_worker_done(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    NetWork *work = g_task_get_task_data(task);
    GError *error = NULL;
    JsonNode *node = NULL;
    g_autoptr(GPtrArray) views = NULL;

    if (!g_task_propagate_boolean(G_TASK(res), &error)) {
        /* Users do not see libvirt URIs (E4): a down host is named, nothing more. */
        if (!work->actor->is_admin && g_error_matches(error, WIRT_ERROR, WIRT_ERROR_HOST_DOWN)) {
            g_clear_error(&error);
            error = g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN,
                                "network %s: a host is down, try again later", work->label);
        }
        net_fail(task, error);
        return;
    }
    views = net_views(work);
    if (work->action == WIRT_ACTION_NET_VIEW && !work->name) {
        g_autoptr(JsonArray) array = json_array_new();

        for (guint i = 0; i < views->len; i++)
            json_array_add_element(
                array, net_view_to_json(g_ptr_array_index(views, i), work->actor->is_admin));
        node = json_node_init_array(json_node_alloc(), array);
    } else {
        const NetView *found = NULL;

        for (guint i = 0; i < views->len; i++) {
            const NetView *v = g_ptr_array_index(views, i);

            if (!g_str_equal(v->name, work->name))
                continue;
            if (g_strcmp0(v->owner, work->owner) == 0) {
                found = v;
                break;
            }
            if (work->own_or_admin && !v->owner)
                found = v; /* unless the user's own comes later */
        }
        if (work->action == WIRT_ACTION_NET_DELETE) {
            /* Deleted: name what is gone. */
            g_autoptr(JsonObject) gone = json_object_new();

            json_object_set_string_member(gone, "name", work->name);
            json_object_set_string_member(gone, "libvirt_name", work->libvirt_name);
            json_object_set_boolean_member(gone, "deleted", TRUE);
            node = json_node_init_object(json_node_alloc(), gone);
        } else if (!found) {
            net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "network %s: not found",
                                       work->label));
            return;
        } else {
            node = net_view_to_json(found, work->actor->is_admin);
        }
    }
    if (work->action != WIRT_ACTION_NET_VIEW)
        net_record(work, NULL);
    g_task_return_pointer(task, node, net_json_free_cb);
    g_object_unref(task);
}

/* Every wirt network of every host of @work into work->rows. */
static gboolean
net_list_all(NetWork *work, GError **error)
{
    g_clear_pointer(&work->rows, g_ptr_array_unref);
    work->rows = g_ptr_array_new_with_free_func(net_row_free);
    for (guint i = 0; i < work->hosts->len; i++) {
        const NetHost *nh = g_ptr_array_index(work->hosts, i);
        g_autoptr(GPtrArray) nets = wirt_virt_net_list(nh->conn, error);

        if (!nets)
            return FALSE;
        for (guint j = 0; j < nets->len; j++) {
            NetRow *row = g_new0(NetRow, 1);

            row->net = g_ptr_array_steal_index(nets, j--);
            row->host = nh;
            g_ptr_array_add(work->rows, row);
        }
    }
    return TRUE;
}

static gboolean
net_create_worker(NetWork *work, GError **error)
{
    const WirtConfig *config = wirt_service_get_config(work->service);
    g_autoptr(GHashTable) mine = g_hash_table_new(g_str_hash, g_str_equal);
    guint done = 0;

    if (!net_list_all(work, error))
        return FALSE;
    for (guint i = 0; i < work->rows->len; i++) {
        const NetRow *row = g_ptr_array_index(work->rows, i);

        if (g_str_equal(row->net->libvirt_name, work->libvirt_name) && !work->may_exist) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "network %s: exists already",
                        work->label);
            return FALSE;
        }
        if (work->owner && g_strcmp0(row->net->owner, work->owner) == 0)
            g_hash_table_add(mine, row->net->libvirt_name);
    }
    if (work->owner && g_hash_table_size(mine) >= config->max_networks_per_user) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_QUOTA, "quota: networks %u of %u used",
                    g_hash_table_size(mine), config->max_networks_per_user);
        return FALSE;
    }
    for (; done < work->hosts->len; done++) {
        const NetHost *nh = g_ptr_array_index(work->hosts, done);

        if (!wirt_virt_net_create(nh->conn, work->libvirt_name, work->xml, work->may_exist, error))
            break;
    }
    if (done < work->hosts->len && !work->may_exist) {
        /* All or nothing for users: undo the hosts that took it. */
        for (guint i = 0; i < done; i++) {
            const NetHost *nh = g_ptr_array_index(work->hosts, i);
            wirt_virt_net_delete(nh->conn, work->libvirt_name, NULL);
        }
        return FALSE;
    }
    if (done < work->hosts->len)
        return FALSE;
    return net_list_all(work, error); /* what the hosts have now */
}

static gboolean
net_delete_worker(NetWork *work, GError **error)
{
    gboolean any = FALSE;

    for (guint i = 0; i < work->hosts->len; i++) {
        const NetHost *nh = g_ptr_array_index(work->hosts, i);
        g_autoptr(GError) local = NULL;
        g_autofree char *vm = wirt_virt_net_user(nh->conn, work->libvirt_name, &local);

        if (local) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        if (vm) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                        "network %s: VM %s on %s uses it; delete the VM or its interface first",
                        work->label, vm, nh->node);
            return FALSE;
        }
    }
    for (guint i = 0; i < work->hosts->len; i++) {
        const NetHost *nh = g_ptr_array_index(work->hosts, i);
        g_autoptr(GError) local = NULL;

        if (wirt_virt_net_delete(nh->conn, work->libvirt_name, &local)) {
            any = TRUE;
        } else if (!g_error_matches(local, WIRT_ERROR, WIRT_ERROR_NOT_FOUND)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
    }
    if (!any) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "network %s: not found", work->label);
        return FALSE;
    }
    return TRUE;
}

static void
net_thread(GTask *inner, gpointer source G_GNUC_UNUSED, gpointer task_data,
           GCancellable *cancellable G_GNUC_UNUSED)
{
    NetWork *work = task_data;
    GError *error = NULL;
    gboolean ok;

    switch (work->action) {
    case WIRT_ACTION_NET_CREATE:
        ok = net_create_worker(work, &error);
        break;
    case WIRT_ACTION_NET_DELETE:
        ok = net_delete_worker(work, &error);
        break;
    case WIRT_ACTION_NET_VIEW:
    default:
        ok = net_list_all(work, &error);
        break;
    }
    if (ok)
        g_task_return_boolean(inner, TRUE);
    else
        g_task_return_error(inner, error);
}

static void
net_run(GTask *task)
{
    GTask *inner = g_task_new(NULL, NULL, net_worker_done, task); /* @task ref moves in */

    g_task_set_task_data(inner, g_task_get_task_data(task), NULL);
    g_task_run_in_thread(inner, net_thread);
    g_object_unref(inner);
}

/**
 * wirt_service_net_create_async:
 * @subnet: (nullable): users: required; admins: must be %NULL (from the config)
 * @mode: (nullable): "isolated" (the default), "nat" or "route"
 * @dhcp: 1 on, 0 off, -1 the default (on)
 */
void
wirt_service_net_create_async(WirtService *service, const WirtActor *actor, const char *owner,
                              const char *name, const char *subnet, const char *mode, int dhcp,
                              GAsyncReadyCallback callback, gpointer user_data)
{
    const WirtConfig *config = wirt_service_get_config(service);
    NetWork *work;
    GTask *task = net_task_new(service, actor, WIRT_ACTION_NET_CREATE, callback, user_data, &work);
    g_auto(WirtNetSpec) spec = {0};
    const WirtNetworkConfig *cn = NULL;
    const char *pool = NULL;
    GError *error = NULL;

    work->name = g_strdup(name);
    work->owner = g_strdup(owner ? owner : actor->is_admin ? NULL : actor->user);
    work->label = g_strdup(name ? name : "");
    if ((owner && !wirt_name_validate_owner(owner, &error)) || !wirt_name_validate(name, &error) ||
        !wirt_policy_check_net(config, actor, WIRT_ACTION_NET_CREATE, work->owner, work->label,
                               &error)) {
        net_fail(task, error);
        return;
    }
    if (!work->owner) {
        /* An admin's network is a config section; the API only brings it up. */
        if (!(cn = wirt_config_find_network(config, name))) {
            net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID,
                                       "network %s: admins' networks are [network %s] sections "
                                       "of %s; add one and restart wirtd",
                                       name, name, config->path ? config->path : "wirtd.conf"));
            return;
        }
        if (subnet || mode || dhcp >= 0) {
            net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID,
                                       "network %s: its subnet, mode and dhcp come from the "
                                       "configuration ([network %s])",
                                       name, name));
            return;
        }
        work->mode = cn->mode;
        work->subnet = g_strdup(cn->subnet);
        work->dhcp = cn->dhcp;
        work->may_exist = TRUE;
        pool = cn->pool;
        if (!(work->xml = wirt_config_network_xml(cn, &error))) {
            net_fail(task, error);
            return;
        }
    } else {
        if (!subnet) {
            net_fail(task,
                     g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID,
                                 "network %s: a subnet is required (like 10.77.0.0/24)", name));
            return;
        }
        work->mode = WIRT_NET_ISOLATED;
        if (mode &&
            (!wirt_net_mode_from_string(mode, &work->mode) || work->mode == WIRT_NET_DIRECT)) {
            net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_INVALID,
                                       "network %s: mode '%s' is not isolated, nat or route", name,
                                       mode));
            return;
        }
        /* NAT on a shared host reaches the outside world from the host's addresses. */
        if (work->mode == WIRT_NET_NAT && !config->allow_nat_networks && !actor->is_admin) {
            net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_DENIED,
                                       "network %s: NAT networks are for admins here ([vm] "
                                       "allow-nat-networks is off); use isolated or route",
                                       name));
            return;
        }
        if (config->max_networks_per_user == 0) {
            net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_QUOTA,
                                       "quota: networks 0 of 0 allowed ([vm] "
                                       "max-networks-per-user)"));
            return;
        }
        work->subnet = g_strdup(subnet);
        work->dhcp = dhcp != 0;
        g_free(work->label);
        work->label =
            net_label(g_strcmp0(work->owner, actor->user) != 0 ? work->owner : NULL, name);
    }
    spec.owner = g_strdup(work->owner);
    spec.name = g_strdup(name);
    spec.mode = work->mode;
    spec.subnet = g_strdup(work->subnet);
    spec.dhcp = work->dhcp;
    work->libvirt_name = wirt_net_libvirt_name(work->owner, name);
    if (!work->xml && !(work->xml = wirt_net_xml_build(&spec, &error))) {
        net_fail(task, error);
        return;
    }
    if (g_hash_table_contains(creates_in_flight, work->libvirt_name)) {
        net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT, "network %s: is being created",
                                   work->label));
        return;
    }
    if (!(work->hosts = net_hosts(service, pool, &error))) {
        net_fail(task, error);
        return;
    }
    g_hash_table_add(creates_in_flight, g_strdup(work->libvirt_name));
    work->registered = TRUE;
    net_run(task);
}

/**
 * wirt_service_net_list_async:
 */
void
wirt_service_net_list_async(WirtService *service, const WirtActor *actor,
                            GAsyncReadyCallback callback, gpointer user_data)
{
    NetWork *work;
    GTask *task = net_task_new(service, actor, WIRT_ACTION_NET_VIEW, callback, user_data, &work);
    GError *error = NULL;

    work->label = g_strdup("list");
    if (!wirt_policy_check_net(wirt_service_get_config(service), actor, WIRT_ACTION_NET_VIEW, NULL,
                               "list", &error) ||
        !(work->hosts = net_hosts(service, NULL, &error))) {
        net_fail(task, error);
        return;
    }
    net_run(task);
}

/* Who owns the network a request names: users their own, admins ?owner= or the config's. */
static gboolean
net_target(NetWork *work, const WirtActor *actor, const char *owner, const char *name,
           GError **error)
{
    work->name = g_strdup(name);
    if (owner && !wirt_name_validate_owner(owner, error))
        return FALSE;
    work->owner = g_strdup(owner ? owner : actor->is_admin ? NULL : actor->user);
    work->label = net_label(
        owner && !g_str_equal(owner, actor->user ? actor->user : "") ? owner : NULL, name);
    work->libvirt_name = wirt_net_libvirt_name(work->owner, name);
    return wirt_name_validate(name, error);
}

/**
 * wirt_service_net_get_async:
 * @owner: (nullable): see wirt-networks.h
 */
void
wirt_service_net_get_async(WirtService *service, const WirtActor *actor, const char *owner,
                           const char *name, GAsyncReadyCallback callback, gpointer user_data)
{
    NetWork *work;
    GTask *task = net_task_new(service, actor, WIRT_ACTION_NET_VIEW, callback, user_data, &work);
    GError *error = NULL;

    work->own_or_admin = owner == NULL && !actor->is_admin;
    if (!net_target(work, actor, owner, name, &error) ||
        !wirt_policy_check_net(wirt_service_get_config(service), actor, WIRT_ACTION_NET_VIEW,
                               work->owner, work->label, &error) ||
        !(work->hosts = net_hosts(service, NULL, &error))) {
        net_fail(task, error);
        return;
    }
    net_run(task);
}

/**
 * wirt_service_net_delete_async:
 * @owner: (nullable): see wirt-networks.h
 */
void
wirt_service_net_delete_async(WirtService *service, const WirtActor *actor, const char *owner,
                              const char *name, GAsyncReadyCallback callback, gpointer user_data)
{
    NetWork *work;
    GTask *task = net_task_new(service, actor, WIRT_ACTION_NET_DELETE, callback, user_data, &work);
    GError *error = NULL;

    if (!net_target(work, actor, owner, name, &error) ||
        !wirt_policy_check_net(wirt_service_get_config(service), actor, WIRT_ACTION_NET_DELETE,
                               work->owner, work->label, &error)) {
        net_fail(task, error);
        return;
    }
    if (g_hash_table_contains(creates_in_flight, work->libvirt_name)) {
        net_fail(task, g_error_new(WIRT_ERROR, WIRT_ERROR_CONFLICT, "network %s: is being created",
                                   work->label));
        return;
    }
    if (!(work->hosts = net_hosts(service, NULL, &error))) {
        net_fail(task, error);
        return;
    }
    net_run(task);
}
