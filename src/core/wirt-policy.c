/* wirt-policy.c: the one decision every front door asks before acting.
 *
 * The table is small enough to read in one go:
 *
 *   actor            | own VM                 | another user's VM      | unowned domain
 *   admin            | everything             | everything             | everything
 *   outsider         | denied                 | denied                 | denied
 *   open             | everything*            | everything*            | not found
 *   read-only        | view                   | view                   | not found
 *   owner-view       | view                   | not found              | not found
 *   owner-manage     | everything*            | not found              | not found
 *
 * (*) delete and attach-disk also need allow-delete / allow-attach-disk.
 * Adopt is for admins. Create needs a mode that lets users change things.
 * "Not found" is used whenever the actor may not see the VM, so that the
 * answer for another user's VM is the same as for a VM that does not exist.
 *
 * Boxes (box-add, box-view, box-remove; docs/boxes.md) have an owner too, or
 * none for shared boxes (@vm_owner NULL). A box is a user's private upload in
 * every security mode: another user's box is "not found", even where VMs are
 * open to everyone. Shared boxes are the admins': every member sees them,
 * only admins add or remove them. Users add and remove their own boxes when
 * the mode lets them change things.
 *
 *   member           | own box                 | another user's box | shared box
 *   box-view         | allow                   | not found          | allow
 *   box-add          | allow if mode changes   | not found          | denied
 *   box-remove       | allow if mode changes   | not found          | denied
 */
/*
 * Networks (net-create, net-view, net-delete; docs/configuration.md, [network
 * NAME]) follow the same table as boxes: a user's network is private in every
 * mode, the admins' networks (no owner) are seen by every member and managed
 * in the config only. Hidden admin networks are "not found" for users; the
 * service decides that, since only it knows the config section.
 *
 *   member           | own network             | another user's | admins' network
 *   net-view         | allow                   | not found      | allow
 *   net-create       | allow if mode changes   | not found      | denied
 *   net-delete       | allow if mode changes   | not found      | denied
 */
/*
 * SSH (a byte stream through wirtd to the VM's port 22, issue 3) is a shell in
 * the guest, not an action on the VM: it is its owner's alone, in every mode,
 * and admins are no exception (they manage VMs, they do not log into users'
 * guests; an admin's own VMs are theirs). Users who may see the VM (open,
 * read-only) are denied; where they may not, it is "not found" as always.
 *
 *   actor            | own VM   | another user's VM              | unowned domain
 *   admin            | allow    | denied                         | denied (adopt it first)
 *   member           | allow    | denied if visible, else n. f.  | not found
 *   outsider         | denied   | denied                         | denied
 */
#include "wirt-policy.h"

#include "wirt-error.h"

static gboolean
mode_lets_users_see_others(WirtSecurityMode mode)
{
    return mode == WIRT_SECURITY_OPEN || mode == WIRT_SECURITY_READ_ONLY;
}

static gboolean
mode_lets_users_change(WirtSecurityMode mode)
{
    return mode == WIRT_SECURITY_OPEN || mode == WIRT_SECURITY_OWNER_MANAGE;
}

static WirtPolicyDecision
deny(const char **out_reason, const char *reason)
{
    if (out_reason)
        *out_reason = reason;
    return WIRT_POLICY_DENY;
}

static WirtPolicyDecision
not_found(const char **out_reason)
{
    if (out_reason)
        *out_reason = "not found";
    return WIRT_POLICY_NOT_FOUND;
}

/* A member (not an admin) and a box: see the table above. */
static WirtPolicyDecision
decide_box(WirtSecurityMode mode, const WirtActor *actor, WirtAction action, const char *box_owner,
           const char **out_reason)
{
    gboolean own = box_owner && actor->user && g_str_equal(box_owner, actor->user);

    if (box_owner && !own)
        return not_found(out_reason);
    if (action == WIRT_ACTION_BOX_VIEW)
        return WIRT_POLICY_ALLOW;
    if (!box_owner)
        return deny(out_reason, "shared boxes are managed by admins");
    if (!mode_lets_users_change(mode))
        return deny(out_reason, "the security mode is read-only for users");
    return WIRT_POLICY_ALLOW;
}

/* A member (not an admin) and a network: see the table above. */
static WirtPolicyDecision
decide_net(WirtSecurityMode mode, const WirtActor *actor, WirtAction action, const char *net_owner,
           const char **out_reason)
{
    gboolean own = net_owner && actor->user && g_str_equal(net_owner, actor->user);

    if (net_owner && !own)
        return not_found(out_reason);
    if (action == WIRT_ACTION_NET_VIEW)
        return WIRT_POLICY_ALLOW;
    if (!net_owner)
        return deny(out_reason, "the admins' networks are managed in the configuration");
    if (!mode_lets_users_change(mode))
        return deny(out_reason, "the security mode is read-only for users");
    return WIRT_POLICY_ALLOW;
}

/* SSH: see the table above. Called before the admin shortcut. */
static WirtPolicyDecision
decide_ssh(WirtSecurityMode mode, const WirtActor *actor, const char *vm_owner,
           const char **out_reason)
{
    gboolean own = vm_owner && actor->user && g_str_equal(vm_owner, actor->user);

    if (!actor->is_admin && !actor->is_member)
        return deny(out_reason, "not a member of the wirt user group");
    if (own)
        return WIRT_POLICY_ALLOW;
    if (actor->is_admin)
        return deny(out_reason, vm_owner ? "ssh is for the VM's owner only"
                                         : "ssh needs an owner: adopt the domain first");
    if (!vm_owner || !mode_lets_users_see_others(mode))
        return not_found(out_reason);
    return deny(out_reason, "ssh is for the VM's owner only");
}

/**
 * wirt_policy_decide:
 * @config: the daemon's configuration (security mode, allow-* switches)
 * @actor: who asks
 * @action: what they ask
 * @vm_owner: (nullable): the VM's owner; NULL for unowned domains and collection actions
 * @out_reason: (out) (optional) (transfer none): why, when not allowed
 * Returns: the decision. Never touches anything.
 */
WirtPolicyDecision
wirt_policy_decide(const WirtConfig *config, const WirtActor *actor, WirtAction action,
                   const char *vm_owner, const char **out_reason)
{
    WirtSecurityMode mode = config->security_mode;
    gboolean collection = action == WIRT_ACTION_LIST || action == WIRT_ACTION_CREATE ||
                          action == WIRT_ACTION_ADOPT || action == WIRT_ACTION_VIEW_HOSTS;
    gboolean own;

    if (out_reason)
        *out_reason = NULL;
    if ((guint)action >= WIRT_ACTION_LAST)
        return deny(out_reason, "unknown action");
    if (action == WIRT_ACTION_SSH)
        return decide_ssh(mode, actor, vm_owner, out_reason);
    if (actor->is_admin)
        return WIRT_POLICY_ALLOW;
    if (!actor->is_member)
        return deny(out_reason, "not a member of the wirt user group");
    if (wirt_action_is_box(action))
        return decide_box(mode, actor, action, vm_owner, out_reason);
    if (wirt_action_is_net(action))
        return decide_net(mode, actor, action, vm_owner, out_reason);

    if (collection) {
        switch (action) {
        case WIRT_ACTION_LIST:
        case WIRT_ACTION_VIEW_HOSTS:
            return WIRT_POLICY_ALLOW; /* what is listed is filtered by VIEW per VM */
        case WIRT_ACTION_CREATE:
            if (!mode_lets_users_change(mode))
                return deny(out_reason, "the security mode is read-only for users");
            return WIRT_POLICY_ALLOW;
        default:
            return deny(out_reason, "only admins may adopt domains");
        }
    }

    /* Unowned domains are the admins' alone: users must not learn of them. */
    if (!vm_owner)
        return not_found(out_reason);
    own = actor->user && g_str_equal(vm_owner, actor->user);
    if (!own && !mode_lets_users_see_others(mode))
        return not_found(out_reason);
    if (!wirt_action_is_change(action))
        return WIRT_POLICY_ALLOW;
    if (!mode_lets_users_change(mode))
        return deny(out_reason, "the security mode is read-only for users");
    if (action == WIRT_ACTION_DELETE && !config->allow_delete)
        return deny(out_reason, "deleting VMs is switched off (allow-delete=false)");
    if (action == WIRT_ACTION_ATTACH_DISK && !config->allow_attach_disk)
        return deny(out_reason, "attaching disks is switched off (allow-attach-disk=false)");
    return WIRT_POLICY_ALLOW;
}

/**
 * wirt_policy_check:
 * @vm_label: (nullable): how to name the VM in a message ("web" or "bob/web")
 * Returns: %TRUE when allowed; else %FALSE with %WIRT_ERROR_NOT_FOUND (worded
 * exactly like a missing VM) or %WIRT_ERROR_DENIED.
 */
gboolean
wirt_policy_check(const WirtConfig *config, const WirtActor *actor, WirtAction action,
                  const char *vm_owner, const char *vm_label, GError **error)
{
    const char *reason = NULL;

    switch (wirt_policy_decide(config, actor, action, vm_owner, &reason)) {
    case WIRT_POLICY_ALLOW:
        return TRUE;
    case WIRT_POLICY_NOT_FOUND:
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "vm %s: not found",
                    vm_label ? vm_label : "?");
        return FALSE;
    case WIRT_POLICY_DENY:
    default:
        if (vm_label)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED, "vm %s: %s: %s", vm_label,
                        wirt_action_to_string(action), reason);
        else
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED, "%s: %s",
                        wirt_action_to_string(action), reason);
        return FALSE;
    }
}

/**
 * wirt_policy_check_box:
 * @box_owner: (nullable): the box's owner; %NULL for a shared box
 * @box_label: how to name the box in a message ("tiny", "shared/tiny", "bob/tiny")
 * Returns: %TRUE when allowed; else %FALSE with %WIRT_ERROR_NOT_FOUND (worded
 * exactly like a missing box) or %WIRT_ERROR_DENIED.
 */
gboolean
wirt_policy_check_box(const WirtConfig *config, const WirtActor *actor, WirtAction action,
                      const char *box_owner, const char *box_label, GError **error)
{
    const char *reason = NULL;

    g_return_val_if_fail(wirt_action_is_box(action), FALSE);
    switch (wirt_policy_decide(config, actor, action, box_owner, &reason)) {
    case WIRT_POLICY_ALLOW:
        return TRUE;
    case WIRT_POLICY_NOT_FOUND:
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "box %s: not found", box_label);
        return FALSE;
    case WIRT_POLICY_DENY:
    default:
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED, "box %s: %s: %s", box_label,
                    wirt_action_to_string(action), reason);
        return FALSE;
    }
}

/**
 * wirt_policy_check_net:
 * @net_owner: (nullable): the network's owner; %NULL for an admins' network
 * @net_label: how to name the network in a message ("lab", "bob/lab")
 * Returns: %TRUE when allowed; else %FALSE with %WIRT_ERROR_NOT_FOUND (worded
 * exactly like a missing network) or %WIRT_ERROR_DENIED.
 */
gboolean
wirt_policy_check_net(const WirtConfig *config, const WirtActor *actor, WirtAction action,
                      const char *net_owner, const char *net_label, GError **error)
{
    const char *reason = NULL;

    g_return_val_if_fail(wirt_action_is_net(action), FALSE);
    switch (wirt_policy_decide(config, actor, action, net_owner, &reason)) {
    case WIRT_POLICY_ALLOW:
        return TRUE;
    case WIRT_POLICY_NOT_FOUND:
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "network %s: not found", net_label);
        return FALSE;
    case WIRT_POLICY_DENY:
    default:
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED, "network %s: %s: %s", net_label,
                    wirt_action_to_string(action), reason);
        return FALSE;
    }
}

/**
 * wirt_policy_decide_personal:
 * @actor: who asks
 * @owner: (nullable): the user the thing belongs to
 * Returns: ALLOW for its owner and admins, DENY for outsiders, else NOT_FOUND.
 */
WirtPolicyDecision
wirt_policy_decide_personal(const WirtActor *actor, const char *owner)
{
    if (actor->is_admin)
        return WIRT_POLICY_ALLOW;
    if (!actor->is_member)
        return WIRT_POLICY_DENY;
    if (owner && actor->user && g_str_equal(owner, actor->user))
        return WIRT_POLICY_ALLOW;
    return WIRT_POLICY_NOT_FOUND;
}

/**
 * wirt_policy_check_personal:
 * @label: how to name the thing in a message ("operation 5b0c…", "tokens of bob")
 * Returns: %TRUE when allowed, else %FALSE with NOT_FOUND or DENIED.
 */
gboolean
wirt_policy_check_personal(const WirtActor *actor, const char *owner, const char *label,
                           GError **error)
{
    switch (wirt_policy_decide_personal(actor, owner)) {
    case WIRT_POLICY_ALLOW:
        return TRUE;
    case WIRT_POLICY_DENY:
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED, "%s: not a member of the wirt user group",
                    label);
        return FALSE;
    case WIRT_POLICY_NOT_FOUND:
    default:
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "%s: not found", label);
        return FALSE;
    }
}
