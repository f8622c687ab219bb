/* test-policy.c: wirt_policy_decide() for every mode x role x target x action.
 *
 * The expected answers come from the table in issue 2 / docs/security.md,
 * written out here independently of the implementation.
 */
#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-policy.h"

typedef enum { ROLE_ADMIN, ROLE_OWNER, ROLE_OTHER_USER, ROLE_OUTSIDER, ROLE_LAST } Role;
typedef enum { TARGET_OWN, TARGET_OTHERS, TARGET_UNOWNED, TARGET_LAST } Target;

static const char *const role_names[] = {"admin", "owner", "other-user", "outsider"};
static const char *const target_names[] = {"own-vm", "others-vm", "unowned-domain"};

typedef struct {
    WirtSecurityMode mode;
    gboolean allow_delete;
    Role role;
    Target target;
    WirtAction action;
} Case;

/* A = allow, D = deny, N = not found: [mode][view, change] for a member on a target */
static const char member_table[4][TARGET_LAST][3] = {
    [WIRT_SECURITY_OPEN] = {"AA", "AA", "NN"},
    [WIRT_SECURITY_READ_ONLY] = {"AD", "AD", "NN"},
    [WIRT_SECURITY_OWNER_VIEW] = {"AD", "NN", "NN"},
    [WIRT_SECURITY_OWNER_MANAGE] = {"AA", "NN", "NN"},
};

/* Boxes, per docs/boxes.md: private to their owner in every mode; shared ones
 * (TARGET_UNOWNED) are seen by every member and managed by admins only.
 * [mode][view, add or remove] for a member on a target. */
static const char box_table[4][TARGET_LAST][3] = {
    [WIRT_SECURITY_OPEN] = {"AA", "NN", "AD"},
    [WIRT_SECURITY_READ_ONLY] = {"AD", "NN", "AD"},
    [WIRT_SECURITY_OWNER_VIEW] = {"AD", "NN", "AD"},
    [WIRT_SECURITY_OWNER_MANAGE] = {"AA", "NN", "AD"},
};

/* Networks, per docs/configuration.md ([network NAME]): the same shape as boxes,
 * written out again so that one table cannot silently follow the other.
 * TARGET_UNOWNED is an admins' (config) network. */
static const char net_table[4][TARGET_LAST][3] = {
    [WIRT_SECURITY_OPEN] = {"AA", "NN", "AD"},
    [WIRT_SECURITY_READ_ONLY] = {"AD", "NN", "AD"},
    [WIRT_SECURITY_OWNER_VIEW] = {"AD", "NN", "AD"},
    [WIRT_SECURITY_OWNER_MANAGE] = {"AA", "NN", "AD"},
};

static gboolean
is_net(WirtAction a)
{
    return a == WIRT_ACTION_NET_CREATE || a == WIRT_ACTION_NET_VIEW || a == WIRT_ACTION_NET_DELETE;
}

static gboolean
is_box(WirtAction a)
{
    return a == WIRT_ACTION_BOX_ADD || a == WIRT_ACTION_BOX_VIEW || a == WIRT_ACTION_BOX_REMOVE;
}

static gboolean
is_collection(WirtAction a)
{
    return a == WIRT_ACTION_LIST || a == WIRT_ACTION_CREATE || a == WIRT_ACTION_ADOPT ||
           a == WIRT_ACTION_VIEW_HOSTS;
}

static WirtPolicyDecision
letter(char c)
{
    return c == 'A' ? WIRT_POLICY_ALLOW : c == 'D' ? WIRT_POLICY_DENY : WIRT_POLICY_NOT_FOUND;
}

static const char *
target_name(WirtAction a, Target t)
{
    static const char *const box_target_names[] = {"own-box", "others-box", "shared-box"};

    static const char *const net_target_names[] = {"own-net", "others-net", "admins-net"};

    if (is_net(a))
        return net_target_names[t];
    return is_box(a) ? box_target_names[t] : target_names[t];
}

/* SSH, per issue 3: the owner's alone in every mode, admins included; other users
 * are denied where they may see the VM and find nothing where they may not.
 * [mode][target] for an admin and for a member. */
static const char ssh_admin_table[4][TARGET_LAST + 1] = {"ADD", "ADD", "ADD", "ADD"};
static const char ssh_member_table[4][TARGET_LAST + 1] = {
    [WIRT_SECURITY_OPEN] = "ADN",
    [WIRT_SECURITY_READ_ONLY] = "ADN",
    [WIRT_SECURITY_OWNER_VIEW] = "ANN",
    [WIRT_SECURITY_OWNER_MANAGE] = "ANN",
};

static WirtPolicyDecision
expected(const Case *c)
{
    if (c->action == WIRT_ACTION_SSH) {
        if (c->role == ROLE_OUTSIDER)
            return WIRT_POLICY_DENY;
        if (c->role == ROLE_ADMIN)
            return letter(ssh_admin_table[c->mode][c->target]);
        return letter(ssh_member_table[c->mode][c->target]);
    }
    if (c->role == ROLE_ADMIN)
        return WIRT_POLICY_ALLOW;
    if (c->role == ROLE_OUTSIDER)
        return WIRT_POLICY_DENY;
    if (is_net(c->action))
        return letter(net_table[c->mode][c->target][c->action == WIRT_ACTION_NET_VIEW ? 0 : 1]);
    if (is_box(c->action))
        return letter(box_table[c->mode][c->target][c->action == WIRT_ACTION_BOX_VIEW ? 0 : 1]);
    if (is_collection(c->action)) {
        switch (c->action) {
        case WIRT_ACTION_CREATE:
            return (c->mode == WIRT_SECURITY_OPEN || c->mode == WIRT_SECURITY_OWNER_MANAGE)
                       ? WIRT_POLICY_ALLOW
                       : WIRT_POLICY_DENY;
        case WIRT_ACTION_ADOPT:
            return WIRT_POLICY_DENY;
        default:
            return WIRT_POLICY_ALLOW;
        }
    }
    {
        const char *row = member_table[c->mode][c->target];
        gboolean change = wirt_action_is_change(c->action);
        WirtPolicyDecision d = letter(row[change ? 1 : 0]);
        if (d == WIRT_POLICY_ALLOW && c->action == WIRT_ACTION_DELETE && !c->allow_delete)
            return WIRT_POLICY_DENY;
        return d;
    }
}

static void
run_case(gconstpointer data)
{
    const Case *c = data;
    g_autoptr(WirtConfig) config = wirt_config_new_default();
    const char *member_groups[] = {"users", "wirt", NULL};
    const char *admin_groups[] = {"wirt-admin", NULL};
    const char *outsider_groups[] = {"users", NULL};
    g_autoptr(WirtActor) actor = NULL;
    const char *owner = NULL;
    const char *reason = NULL;
    WirtPolicyDecision got;

    config->security_mode = c->mode;
    config->allow_delete = c->allow_delete;
    switch (c->role) {
    case ROLE_ADMIN:
        actor = wirt_actor_new(1500, "ann", admin_groups, "wirt", "wirt-admin", WIRT_DOOR_CLI);
        break;
    case ROLE_OWNER:
    case ROLE_OTHER_USER:
        actor = wirt_actor_new(1001, "alice", member_groups, "wirt", "wirt-admin", WIRT_DOOR_CLI);
        break;
    default:
        actor = wirt_actor_new(1003, "carol", outsider_groups, "wirt", "wirt-admin", WIRT_DOOR_CLI);
        break;
    }
    if (!is_collection(c->action)) {
        if (c->target == TARGET_OWN)
            owner = c->role == ROLE_ADMIN ? "ann" : actor->user;
        else if (c->target == TARGET_OTHERS)
            owner = "bob";
    }
    got = wirt_policy_decide(config, actor, c->action, owner, &reason);
    g_assert_cmpint(got, ==, expected(c));
    if (got != WIRT_POLICY_ALLOW)
        g_assert_nonnull(reason);
}

static void
test_check_messages(void)
{
    g_autoptr(WirtConfig) config = wirt_config_new_default();
    const char *groups[] = {"wirt", NULL};
    g_autoptr(WirtActor) alice =
        wirt_actor_new(1001, "alice", groups, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    /* Another user's VM reads exactly like a missing one. */
    g_assert_false(wirt_policy_check(config, alice, WIRT_ACTION_START, "bob", "bob/web", &e1));
    g_assert_error(e1, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_assert_cmpstr(e1->message, ==, "vm bob/web: not found");

    config->security_mode = WIRT_SECURITY_READ_ONLY;
    g_assert_false(wirt_policy_check(config, alice, WIRT_ACTION_START, "alice", "web", &e2));
    g_assert_error(e2, WIRT_ERROR, WIRT_ERROR_DENIED);
    g_assert_nonnull(strstr(e2->message, "read-only"));
}

static void
test_personal(void)
{
    const char *members[] = {"wirt", NULL};
    const char *admins[] = {"wirt-admin", NULL};
    const char *none[] = {"users", NULL};
    g_autoptr(WirtActor) alice =
        wirt_actor_new(1001, "alice", members, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(WirtActor) ann =
        wirt_actor_new(1500, "ann", admins, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(WirtActor) carol =
        wirt_actor_new(1003, "carol", none, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(wirt_policy_decide_personal(alice, "alice"), ==, WIRT_POLICY_ALLOW);
    g_assert_cmpint(wirt_policy_decide_personal(alice, "bob"), ==, WIRT_POLICY_NOT_FOUND);
    g_assert_cmpint(wirt_policy_decide_personal(alice, NULL), ==, WIRT_POLICY_NOT_FOUND);
    g_assert_cmpint(wirt_policy_decide_personal(ann, "bob"), ==, WIRT_POLICY_ALLOW);
    g_assert_cmpint(wirt_policy_decide_personal(carol, "carol"), ==, WIRT_POLICY_DENY);
    g_assert_false(wirt_policy_check_personal(alice, "bob", "operation x", &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_assert_cmpstr(error->message, ==, "operation x: not found");
}

static void
test_box_messages(void)
{
    g_autoptr(WirtConfig) config = wirt_config_new_default();
    const char *groups[] = {"wirt", NULL};
    g_autoptr(WirtActor) alice =
        wirt_actor_new(1001, "alice", groups, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    /* Another user's box reads exactly like a missing one, in the open mode too. */
    config->security_mode = WIRT_SECURITY_OPEN;
    g_assert_false(
        wirt_policy_check_box(config, alice, WIRT_ACTION_BOX_VIEW, "bob", "bob/tiny", &e1));
    g_assert_error(e1, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_assert_cmpstr(e1->message, ==, "box bob/tiny: not found");
    g_assert_false(
        wirt_policy_check_box(config, alice, WIRT_ACTION_BOX_REMOVE, NULL, "shared/tiny", &e2));
    g_assert_error(e2, WIRT_ERROR, WIRT_ERROR_DENIED);
    g_assert_nonnull(strstr(e2->message, "admins"));
}

static void
test_net_messages(void)
{
    g_autoptr(WirtConfig) config = wirt_config_new_default();
    const char *groups[] = {"wirt", NULL};
    g_autoptr(WirtActor) alice =
        wirt_actor_new(1001, "alice", groups, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    /* Another user's network reads exactly like a missing one, in the open mode too. */
    config->security_mode = WIRT_SECURITY_OPEN;
    g_assert_false(
        wirt_policy_check_net(config, alice, WIRT_ACTION_NET_DELETE, "bob", "bob/lab", &e1));
    g_assert_error(e1, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_assert_cmpstr(e1->message, ==, "network bob/lab: not found");
    g_assert_false(wirt_policy_check_net(config, alice, WIRT_ACTION_NET_DELETE, NULL, "lan", &e2));
    g_assert_error(e2, WIRT_ERROR, WIRT_ERROR_DENIED);
    config->security_mode = WIRT_SECURITY_READ_ONLY;
    g_assert_false(
        wirt_policy_check_net(config, alice, WIRT_ACTION_NET_CREATE, "alice", "lab", &e3));
    g_assert_error(e3, WIRT_ERROR, WIRT_ERROR_DENIED);
    g_assert_nonnull(strstr(e3->message, "read-only"));
}

static void
test_ssh_messages(void)
{
    g_autoptr(WirtConfig) config = wirt_config_new_default();
    const char *groups[] = {"wirt", NULL};
    const char *admins[] = {"wirt-admin", NULL};
    g_autoptr(WirtActor) alice =
        wirt_actor_new(1001, "alice", groups, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(WirtActor) ann =
        wirt_actor_new(1500, "ann", admins, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    /* Another user's VM reads exactly like a missing one (the default mode)... */
    g_assert_false(wirt_policy_check(config, alice, WIRT_ACTION_SSH, "bob", "bob/web", &e1));
    g_assert_error(e1, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_assert_cmpstr(e1->message, ==, "vm bob/web: not found");
    /* ...an admin may see it, and is told why not... */
    g_assert_false(wirt_policy_check(config, ann, WIRT_ACTION_SSH, "bob", "bob/web", &e2));
    g_assert_error(e2, WIRT_ERROR, WIRT_ERROR_DENIED);
    g_assert_nonnull(strstr(e2->message, "owner only"));
    /* ...and the owner may, even where users may change nothing. */
    config->security_mode = WIRT_SECURITY_READ_ONLY;
    g_assert_true(wirt_policy_check(config, alice, WIRT_ACTION_SSH, "alice", "web", &e3));
    g_assert_no_error(e3);
    g_assert_cmpstr(wirt_action_to_string(WIRT_ACTION_SSH), ==, "ssh");
}

static void
test_root_is_admin(void)
{
    g_autoptr(WirtActor) root =
        wirt_actor_new(0, "root", NULL, "wirt", "wirt-admin", WIRT_DOOR_CLI);
    g_assert_true(root->is_admin);
    g_assert_true(root->is_member);
}

int
main(int argc, char **argv)
{
    g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func(g_free);

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    for (int mode = 0; mode < 4; mode++) {
        for (int del = 0; del < 2; del++) {
            for (int role = 0; role < ROLE_LAST; role++) {
                for (int target = 0; target < TARGET_LAST; target++) {
                    for (int action = 0; action < WIRT_ACTION_LAST; action++) {
                        Case *c;
                        g_autofree char *path = NULL;

                        if (is_collection(action) && target != TARGET_OWN)
                            continue; /* collection actions have no target */
                        if (role == ROLE_OWNER && target != TARGET_OWN)
                            continue;
                        if (role == ROLE_OTHER_USER && target == TARGET_OWN)
                            continue;
                        c = g_new0(Case, 1);
                        *c = (Case){mode, del, role, target, action};
                        g_ptr_array_add(cases, c);
                        path = g_strdup_printf(
                            "/policy/%s/%s/%s/%s/%s", wirt_security_mode_to_string(mode),
                            del ? "delete-on" : "delete-off", role_names[role],
                            is_collection(action) ? "collection" : target_name(action, target),
                            wirt_action_to_string(action));
                        g_test_add_data_func(path, c, run_case);
                    }
                }
            }
        }
    }
    g_test_add_func("/policy/check/messages", test_check_messages);
    g_test_add_func("/policy/actor/root-is-admin", test_root_is_admin);
    g_test_add_func("/policy/personal", test_personal);
    g_test_add_func("/policy/check/box-messages", test_box_messages);
    g_test_add_func("/policy/check/net-messages", test_net_messages);
    g_test_add_func("/policy/check/ssh-messages", test_ssh_messages);
    return g_test_run();
}
