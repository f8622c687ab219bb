/* wirt-model.c: the pure model shared by every layer. */
#include "wirt-model.h"

static const char *const state_names[] = {
    [WIRT_VM_STATE_NOSTATE] = "nostate",   [WIRT_VM_STATE_RUNNING] = "running",
    [WIRT_VM_STATE_BLOCKED] = "blocked",   [WIRT_VM_STATE_PAUSED] = "paused",
    [WIRT_VM_STATE_SHUTDOWN] = "shutdown", [WIRT_VM_STATE_SHUTOFF] = "shutoff",
    [WIRT_VM_STATE_CRASHED] = "crashed",   [WIRT_VM_STATE_PMSUSPENDED] = "pmsuspended",
};

/**
 * wirt_vm_state_to_string:
 * Returns: (transfer none): libvirt's word for @state ("running", "shutoff", ...).
 */
const char *
wirt_vm_state_to_string(WirtVmState state)
{
    if ((gsize)state < G_N_ELEMENTS(state_names))
        return state_names[state];
    return "nostate";
}

static const char *const action_names[WIRT_ACTION_LAST] = {
    [WIRT_ACTION_LIST] = "list",
    [WIRT_ACTION_VIEW] = "view",
    [WIRT_ACTION_CREATE] = "create",
    [WIRT_ACTION_START] = "start",
    [WIRT_ACTION_STOP] = "stop",
    [WIRT_ACTION_DESTROY] = "destroy",
    [WIRT_ACTION_REBOOT] = "reboot",
    [WIRT_ACTION_SUSPEND] = "suspend",
    [WIRT_ACTION_RESUME] = "resume",
    [WIRT_ACTION_AUTOSTART] = "autostart",
    [WIRT_ACTION_DELETE] = "delete",
    [WIRT_ACTION_ATTACH_DISK] = "attach-disk",
    [WIRT_ACTION_ADOPT] = "adopt",
    [WIRT_ACTION_VIEW_HOSTS] = "view-hosts",
    [WIRT_ACTION_CONFIGURE] = "configure",
    [WIRT_ACTION_BOX_ADD] = "box-add",
    [WIRT_ACTION_BOX_VIEW] = "box-view",
    [WIRT_ACTION_BOX_REMOVE] = "box-remove",
    [WIRT_ACTION_NET_CREATE] = "net-create",
    [WIRT_ACTION_NET_VIEW] = "net-view",
    [WIRT_ACTION_NET_DELETE] = "net-delete",
    [WIRT_ACTION_SSH] = "ssh",
};

/**
 * wirt_action_to_string:
 * Returns: (transfer none): the action's stable name, as used in history and the API.
 */
const char *
wirt_action_to_string(WirtAction action)
{
    if ((gsize)action < G_N_ELEMENTS(action_names))
        return action_names[action];
    return "unknown";
}

/**
 * wirt_action_from_string:
 * Returns: %TRUE and sets @out_action when @text names an action.
 */
gboolean
wirt_action_from_string(const char *text, WirtAction *out_action)
{
    for (gsize i = 0; text && i < G_N_ELEMENTS(action_names); i++) {
        if (g_str_equal(action_names[i], text)) {
            *out_action = (WirtAction)i;
            return TRUE;
        }
    }
    return FALSE;
}

/**
 * wirt_action_is_change:
 * Returns: %TRUE when @action changes something (refused in read-only modes).
 */
gboolean
wirt_action_is_change(WirtAction action)
{
    switch (action) {
    case WIRT_ACTION_LIST:
    case WIRT_ACTION_VIEW:
    case WIRT_ACTION_VIEW_HOSTS:
    case WIRT_ACTION_BOX_VIEW:
    case WIRT_ACTION_NET_VIEW:
        return FALSE;
    default:
        return TRUE;
    }
}

/**
 * wirt_action_is_box:
 * Returns: %TRUE for BOX_ADD, BOX_VIEW and BOX_REMOVE.
 */
gboolean
wirt_action_is_box(WirtAction action)
{
    return action == WIRT_ACTION_BOX_ADD || action == WIRT_ACTION_BOX_VIEW ||
           action == WIRT_ACTION_BOX_REMOVE;
}

/**
 * wirt_action_is_net:
 * Returns: %TRUE for NET_CREATE, NET_VIEW and NET_DELETE.
 */
gboolean
wirt_action_is_net(WirtAction action)
{
    return action == WIRT_ACTION_NET_CREATE || action == WIRT_ACTION_NET_VIEW ||
           action == WIRT_ACTION_NET_DELETE;
}

/**
 * wirt_door_to_string:
 * Returns: (transfer none): "cli", "http", "files" or "daemon".
 */
const char *
wirt_door_to_string(WirtDoor door)
{
    switch (door) {
    case WIRT_DOOR_CLI:
        return "cli";
    case WIRT_DOOR_HTTP:
        return "http";
    case WIRT_DOOR_FILES:
        return "files";
    case WIRT_DOOR_DAEMON:
    default:
        return "daemon";
    }
}

/**
 * wirt_actor_new:
 * @uid: the verified uid
 * @user: the user's name
 * @groups: (nullable): every group name the user belongs to
 * @user_group: (nullable): the configured member group
 * @admin_group: (nullable): the configured admin group
 * @door: the front door the actor came through
 * Returns: (transfer full): an actor; uid 0 is always an admin.
 */
WirtActor *
wirt_actor_new(uid_t uid, const char *user, const char *const *groups, const char *user_group,
               const char *admin_group, WirtDoor door)
{
    WirtActor *actor = g_new0(WirtActor, 1);

    actor->uid = uid;
    actor->user = g_strdup(user);
    actor->groups = g_strdupv((char **)groups);
    actor->door = door;
    actor->is_admin =
        uid == 0 || (admin_group && *admin_group && groups && g_strv_contains(groups, admin_group));
    actor->is_member = actor->is_admin ||
                       (user_group && *user_group && groups && g_strv_contains(groups, user_group));
    return actor;
}

/**
 * wirt_actor_free:
 * @actor: (nullable): an actor
 */
/**
 * wirt_actor_copy:
 * Returns: (transfer full): a copy of @actor that lives on its own (for a worker or a watch).
 */
WirtActor *
wirt_actor_copy(const WirtActor *actor)
{
    WirtActor *copy = g_new0(WirtActor, 1);

    *copy = *actor;
    copy->user = g_strdup(actor->user);
    copy->groups = g_strdupv(actor->groups);
    return copy;
}

void
wirt_actor_free(WirtActor *actor)
{
    if (!actor)
        return;
    g_free(actor->user);
    g_strfreev(actor->groups);
    g_free(actor);
}

static void
vm_clear(WirtVm *vm)
{
    g_free(vm->uuid);
    g_free(vm->domain);
    g_free(vm->owner);
    g_free(vm->name);
    g_free(vm->pool);
    g_free(vm->node);
    g_free(vm->created);
    g_free(vm->created_by);
    g_free(vm->box);
    g_free(vm->ssh_user);
    g_free(vm->door);
}

/**
 * wirt_vm_new:
 * Returns: (transfer full): an empty VM snapshot with refcount 1.
 */
WirtVm *
wirt_vm_new(void)
{
    return g_atomic_rc_box_new0(WirtVm);
}

/**
 * wirt_vm_ref:
 * Returns: (transfer full): @vm with one more reference (atomic: any thread).
 */
WirtVm *
wirt_vm_ref(WirtVm *vm)
{
    return g_atomic_rc_box_acquire(vm);
}

static void
vm_clear_cb(gpointer data)
{
    vm_clear(data);
}

/**
 * wirt_vm_unref:
 * @vm: (nullable) (transfer full): a VM snapshot
 */
void
wirt_vm_unref(WirtVm *vm)
{
    if (vm)
        g_atomic_rc_box_release_full(vm, vm_clear_cb);
}

/**
 * wirt_vm_dup:
 * Returns: (transfer full): an unshared deep copy of @vm, free to edit.
 */
WirtVm *
wirt_vm_dup(const WirtVm *vm)
{
    WirtVm *copy = wirt_vm_new();

    *copy = *vm;
    copy->uuid = g_strdup(vm->uuid);
    copy->domain = g_strdup(vm->domain);
    copy->owner = g_strdup(vm->owner);
    copy->name = g_strdup(vm->name);
    copy->pool = g_strdup(vm->pool);
    copy->node = g_strdup(vm->node);
    copy->created = g_strdup(vm->created);
    copy->created_by = g_strdup(vm->created_by);
    copy->box = g_strdup(vm->box);
    copy->ssh_user = g_strdup(vm->ssh_user);
    copy->door = g_strdup(vm->door);
    return copy;
}

/**
 * wirt_vm_equal:
 * Returns: %TRUE when @a and @b say the same about a VM, field by field.
 */
gboolean
wirt_vm_equal(const WirtVm *a, const WirtVm *b)
{
    return g_strcmp0(a->uuid, b->uuid) == 0 && g_strcmp0(a->domain, b->domain) == 0 &&
           g_strcmp0(a->owner, b->owner) == 0 && g_strcmp0(a->name, b->name) == 0 &&
           a->state == b->state && a->memory_mib == b->memory_mib && a->vcpus == b->vcpus &&
           a->autostart == b->autostart && a->persistent == b->persistent &&
           g_strcmp0(a->pool, b->pool) == 0 && g_strcmp0(a->node, b->node) == 0 &&
           g_strcmp0(a->created, b->created) == 0 && g_strcmp0(a->created_by, b->created_by) == 0 &&
           g_strcmp0(a->door, b->door) == 0 && g_strcmp0(a->box, b->box) == 0 &&
           g_strcmp0(a->ssh_user, b->ssh_user) == 0;
}

/**
 * wirt_vm_spec_clear:
 * @spec: a spec whose strings are freed (the struct itself is not)
 */
void
wirt_vm_spec_clear(WirtVmSpec *spec)
{
    g_clear_pointer(&spec->owner, g_free);
    g_clear_pointer(&spec->name, g_free);
    g_clear_pointer(&spec->pool, g_free);
    g_clear_pointer(&spec->node, g_free);
    g_clear_pointer(&spec->box, g_free);
    g_clear_pointer(&spec->box_volume, g_free);
    g_clear_pointer(&spec->box_shared_volume, g_free);
    g_clear_pointer(&spec->network, g_free);
    g_clear_pointer(&spec->network_admin, g_free);
    g_clear_pointer(&spec->network_admin_xml, g_free);
    g_clear_pointer(&spec->ip, g_free);
    g_clear_pointer(&spec->mac, g_free);
    g_clear_pointer(&spec->ssh_keys, g_strfreev);
    g_clear_pointer(&spec->ssh_user, g_free);
    g_clear_pointer(&spec->storage_pool, g_free);
    g_clear_pointer(&spec->domain_type, g_free);
    g_clear_pointer(&spec->machine, g_free);
    g_clear_pointer(&spec->disk_cache, g_free);
}
