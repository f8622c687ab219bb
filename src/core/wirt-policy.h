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

/* Things that belong to one user and are not VMs (API tokens, operations):
 * their owner and admins may see and manage them; to anyone else they do not
 * exist (NOT_FOUND, "LABEL: not found"). Outsiders are DENIED, as everywhere. */
WirtPolicyDecision wirt_policy_decide_personal(const WirtActor *actor, const char *owner);
gboolean wirt_policy_check_personal(const WirtActor *actor, const char *owner, const char *label,
                                    GError **error);

G_END_DECLS
