/* wirt-policy.h: the one decision every front door asks before acting. */
#pragma once

#include "wirt-config.h"
#include "wirt-model.h"

G_BEGIN_DECLS

typedef enum {
    WIRT_POLICY_ALLOW,
    WIRT_POLICY_DENY,      /* may see the object, may not do this */
    WIRT_POLICY_NOT_FOUND, /* may not even learn that it exists */
} WirtPolicyDecision;

/*
 * @vm_owner: the VM's owner; NULL for an unowned libvirt domain; for
 * collection-level actions (LIST, CREATE, ADOPT, VIEW_HOSTS) pass NULL.
 */
WirtPolicyDecision wirt_policy_decide(const WirtConfig *config, const WirtActor *actor,
                                      WirtAction action, const char *vm_owner,
                                      const char **out_reason);

/* wirt_policy_decide() turned into a GError: NOT_FOUND names @vm_label as
 * missing (same words as a VM that does not exist), DENY says why. */
gboolean wirt_policy_check(const WirtConfig *config, const WirtActor *actor, WirtAction action,
                           const char *vm_owner, const char *vm_label, GError **error);

/* wirt_policy_decide() for a box action (@box_owner NULL: a shared box) as a GError:
 * NOT_FOUND reads "box LABEL: not found", exactly like a box that does not exist. */
gboolean wirt_policy_check_box(const WirtConfig *config, const WirtActor *actor, WirtAction action,
                               const char *box_owner, const char *box_label, GError **error);

/* The same for a network action (@net_owner NULL: an admins' network):
 * NOT_FOUND reads "network LABEL: not found", like a network that does not exist. */
gboolean wirt_policy_check_net(const WirtConfig *config, const WirtActor *actor, WirtAction action,
                               const char *net_owner, const char *net_label, GError **error);

/* Things that belong to one user and are not VMs (API tokens, operations):
 * their owner and admins may see and manage them; to anyone else they do not
 * exist (NOT_FOUND, "LABEL: not found"). Outsiders are DENIED, as everywhere. */
WirtPolicyDecision wirt_policy_decide_personal(const WirtActor *actor, const char *owner);
gboolean wirt_policy_check_personal(const WirtActor *actor, const char *owner, const char *label,
                                    GError **error);

G_END_DECLS
