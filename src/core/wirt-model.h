/* wirt-model.h: the pure model shared by every layer: VMs, actors, actions. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* libvirt's state words (virDomainState), so clients can compare with virsh. */
typedef enum {
    WIRT_VM_STATE_NOSTATE,
    WIRT_VM_STATE_RUNNING,
    WIRT_VM_STATE_BLOCKED,
    WIRT_VM_STATE_PAUSED,
    WIRT_VM_STATE_SHUTDOWN, /* being shut down */
    WIRT_VM_STATE_SHUTOFF,
    WIRT_VM_STATE_CRASHED,
    WIRT_VM_STATE_PMSUSPENDED,
} WirtVmState;

const char *wirt_vm_state_to_string(WirtVmState state);

/* Everything a front door can ask for. Each has exactly one policy class. */
typedef enum {
    WIRT_ACTION_LIST,   /* list VMs (filtered by VIEW per VM) */
    WIRT_ACTION_VIEW,   /* info, state, history of one VM */
    WIRT_ACTION_CREATE, /* define a new VM owned by the actor */
    WIRT_ACTION_START,
    WIRT_ACTION_STOP,    /* graceful shutdown, power-off after a timeout */
    WIRT_ACTION_DESTROY, /* power off at once */
    WIRT_ACTION_REBOOT,
    WIRT_ACTION_SUSPEND,
    WIRT_ACTION_RESUME,
    WIRT_ACTION_AUTOSTART,   /* enable or disable */
    WIRT_ACTION_DELETE,      /* undefine + remove storage; allow-delete */
    WIRT_ACTION_ATTACH_DISK, /* allow-attach-disk */
    WIRT_ACTION_ADOPT,       /* admin only: claim an existing libvirt domain */
    WIRT_ACTION_VIEW_HOSTS,  /* pools and nodes: users see names only */
    WIRT_ACTION_CONFIGURE,   /* memory, vcpus: from the next boot on */
    WIRT_ACTION_BOX_ADD,     /* upload a box: users into their own namespace, admins shared */
    WIRT_ACTION_BOX_VIEW,    /* list boxes, show one (shared boxes: every member) */
    WIRT_ACTION_BOX_REMOVE,  /* delete a box's volume (refused while a VM uses it) */
    WIRT_ACTION_NET_CREATE,  /* define a network: users their own, admins' come from the config */
    WIRT_ACTION_NET_VIEW,    /* list networks, show one (admins' visible ones: every member) */
    WIRT_ACTION_NET_DELETE,  /* destroy and undefine a network (refused while a VM uses it) */
    WIRT_ACTION_SSH,         /* a byte stream to the VM's port 22: its owner only, every mode */
    WIRT_ACTION_LAST,
} WirtAction;

const char *wirt_action_to_string(WirtAction action);
gboolean wirt_action_from_string(const char *text, WirtAction *out_action);
/* TRUE for actions that change a VM (refused in read-only modes). */
gboolean wirt_action_is_change(WirtAction action);
/* TRUE for the box actions, whose object is a box, not a VM (policy: boxes are private). */
gboolean wirt_action_is_box(WirtAction action);
/* TRUE for the network actions, whose object is a network (policy: like boxes). */
gboolean wirt_action_is_net(WirtAction action);

/* Which front door an actor came through (recorded in history). */
typedef enum {
    WIRT_DOOR_CLI,   /* unix socket: the wirt CLI or any local HTTP client */
    WIRT_DOOR_HTTP,  /* TCP */
    WIRT_DOOR_FILES, /* ~/wirt command files */
    WIRT_DOOR_DAEMON,
} WirtDoor;

const char *wirt_door_to_string(WirtDoor door);

/* Who is asking. Built by a front door from credentials it verified. */
typedef struct {
    uid_t uid;
    char *user;
    GStrv groups;       /* every group name the user is in (NSS), primary included */
    gboolean is_admin;  /* root or admin-group */
    gboolean is_member; /* user-group (admins count as members) */
    WirtDoor door;
} WirtActor;

WirtActor *wirt_actor_new(uid_t uid, const char *user, const char *const *groups,
                          const char *user_group, const char *admin_group, WirtDoor door);
WirtActor *wirt_actor_copy(const WirtActor *actor);
void wirt_actor_free(WirtActor *actor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtActor, wirt_actor_free)

/* A VM as wirt sees it: an immutable, refcounted snapshot. The cache replaces
 * snapshots, it never edits one, so a worker thread may hold a reference. */
typedef struct {
    char *uuid;
    char *domain; /* libvirt domain name */
    char *owner;  /* NULL: not a wirt VM (only admins see it, can adopt it) */
    char *name;   /* owner's short name; the domain name when owner is NULL */
    WirtVmState state;
    guint64 memory_mib;
    guint vcpus;
    gboolean autostart;
    gboolean persistent;
    char *pool;       /* pool name from the config */
    char *node;       /* host label (the host's name) */
    char *created;    /* ISO 8601, from metadata; may be NULL */
    char *created_by; /* user that created or adopted it */
    char *door;       /* front door it was created through */
    char *box;      /* (nullable) the box its disk is an overlay of ("alice/tiny", "shared/tiny") */
    char *ssh_user; /* (nullable) the guest user `wirt ssh` logs in as */
} WirtVm;

WirtVm *wirt_vm_new(void);
WirtVm *wirt_vm_ref(WirtVm *vm);
void wirt_vm_unref(WirtVm *vm);
WirtVm *wirt_vm_dup(const WirtVm *vm); /* a new, unshared copy (refcount 1) to edit */
gboolean wirt_vm_equal(const WirtVm *a, const WirtVm *b); /* every field the same */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtVm, wirt_vm_unref)

/* What create asks for, after the front door parsed it. */
typedef struct {
    char *owner;
    char *name;
    guint64 memory_mib;
    guint vcpus;
    char *pool; /* NULL: the first pool */
    char *node; /* NULL: placement decides */

    /* A VM from a box (issue 3): NULL box makes a VM with no disk. */
    char *box;               /* (nullable) the box's name as asked */
    char *box_volume;        /* the owner's box of that name (service), tried first */
    char *box_shared_volume; /* the shared box of that name (service), tried next */
    guint64 disk_bytes;      /* 0: the box's virtual size; else at least that */
    char *network;           /* (nullable) the owner's network ("wirt-alice.lab"), tried first */
    char *network_admin;     /* (nullable) the admins' network of that name ("wirt-lab") */
    char *network_admin_xml; /* its XML, to define it where a host lacks it */
    char *ip;                /* (nullable) a DHCP reservation on the network */
    char *mac;               /* (nullable) the NIC's MAC; generated when NULL */
    char **ssh_keys;         /* (nullable) public keys for the seed */
    char *ssh_user;          /* (nullable) the box's user; "vagrant" when NULL */
    char *storage_pool;      /* the libvirt storage pool of boxes and disks */
    char *domain_type;       /* (nullable) "kvm", "qemu" or "auto" (the default) */
    char *machine;           /* (nullable) QEMU machine type; "pc" when NULL */
    char *disk_cache;        /* (nullable) the disk's cache mode; the hypervisor's default */
    gboolean nested;         /* expose the host CPU (KVM only), for VMs in the VM */
} WirtVmSpec;

/* The devices of a VM made from a box, for wirt_domain_xml_build(). */
typedef struct {
    const char *disk_path;    /* the overlay (qcow2) */
    const char *backing_path; /* the box's base volume (qcow2) */
    const char *seed_path;    /* (nullable) the NoCloud seed ISO, an IDE CD-ROM */
    const char *network;      /* (nullable) libvirt network name */
    const char *mac;          /* with @network */
    const char *uuid;         /* (nullable) the domain's uuid (the seed's instance id) */
} WirtVmDevices;

void wirt_vm_spec_clear(WirtVmSpec *spec);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtVmSpec, wirt_vm_spec_clear)

G_END_DECLS
