/* wirt-virt-box.h: boxes as libvirt storage volumes (docs/boxes.md, "Storage").
 *
 * A box is one qcow2 volume in the storage pool named by [vm] storage-pool on
 * each host. Its name is all wirt keeps: box.NAME.qcow2 for a shared box (the
 * admins'), box.OWNER.NAME.qcow2 for a user's own. NAME follows the VM-name
 * grammar (no '.'), so the last '.' before ".qcow2" always separates OWNER from
 * NAME. Names become libvirt volume names only, never host paths of ours.
 *
 * Functions marked "worker" do blocking RPCs: call them from a GTask thread.
 */
#pragma once

#include <gio/gio.h>

#include "core/wirt-box.h"
#include "wirt-virt.h"

G_BEGIN_DECLS

/* One box volume as libvirt reports it. */
typedef struct {
    char *volume;       /* the libvirt volume name */
    char *owner;        /* (nullable): NULL for a shared box */
    char *name;         /* the box's name */
    guint64 capacity;   /* bytes: the image's virtual size */
    guint64 allocation; /* bytes the volume takes on the host */
} WirtVirtBox;

void wirt_virt_box_free(WirtVirtBox *box);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtVirtBox, wirt_virt_box_free)

/* Any thread. (transfer full) (nullable): the volume name of @owner's (NULL: shared) box
 * @name; NULL with INVALID when @name breaks the VM-name grammar or @owner has characters
 * other than letters, digits, '.', '_' and '-'. */
char *wirt_virt_box_volume_name(const char *owner, const char *name, GError **error);
/* Any thread. Parses a volume name made by wirt_virt_box_volume_name(); FALSE for any other
 * volume (not a box, or not one wirt could have made). */
gboolean wirt_virt_box_parse_volume(const char *volume, char **out_owner, char **out_name);

/* Worker. Reads a box from @reader and uploads its box.img into a new qcow2 volume @volume
 * of @storage_pool (virStorageVolCreateXML + virStorageVolUpload). The volume is kept only
 * when the whole box passed wirt_box_reader_finish(); on any error it is deleted again.
 * CONFLICT when the volume exists, INVALID (the reader's "box: …") for a malformed box. */
gboolean wirt_virt_box_upload(WirtConn *conn, const char *storage_pool, const char *volume,
                              WirtBoxReader *reader, WirtBoxInfo *out_info, GError **error);
/* Worker. (transfer container) (element-type WirtVirtBox): every box volume of @storage_pool. */
GPtrArray *wirt_virt_box_list(WirtConn *conn, const char *storage_pool, GError **error);
/* Worker. Deletes the volume; NOT_FOUND when it is not there. */
gboolean wirt_virt_box_delete(WirtConn *conn, const char *storage_pool, const char *volume,
                              GError **error);

G_END_DECLS
