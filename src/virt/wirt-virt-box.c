/* wirt-virt-box.c: boxes as libvirt storage volumes (docs/boxes.md, "Storage").
 *
 * An upload is one worker thread doing, in order: read the box up to box.img
 * and check its header (WirtBoxReader), create the volume with the header's
 * virtual size as capacity and an explicit qcow2 format, stream box.img into
 * it with virStorageVolUpload, read the rest of the archive and cross-check it
 * (wirt_box_reader_finish), and only then finish the stream. Any failure after
 * the volume exists aborts the stream and deletes the volume, so a refused or
 * interrupted upload leaves nothing behind.
 */
#include "wirt-virt-box.h"
#include "wirt-virt-private.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-names.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStream, virStreamFree)

#define VOLUME_PREFIX "box."
#define VOLUME_SUFFIX ".qcow2"
/* One virStreamSend per this many bytes: libvirt's RPC messages carry at most 256 KiB. */
#define UPLOAD_CHUNK (256 * 1024)

/**
 * wirt_virt_box_free:
 * @box: (nullable) (transfer full): a box
 */
void
wirt_virt_box_free(WirtVirtBox *box)
{
    if (!box)
        return;
    g_free(box->volume);
    g_free(box->owner);
    g_free(box->name);
    g_free(box);
}

static void
box_free_cb(gpointer data)
{
    wirt_virt_box_free(data);
}

/**
 * wirt_virt_box_volume_name:
 * @owner: (nullable): the box's owner; %NULL for a shared box
 * @name: the box's name (the VM-name grammar)
 * Returns: (transfer full) (nullable): "box.NAME.qcow2" or "box.OWNER.NAME.qcow2", or %NULL
 * with %WIRT_ERROR_INVALID.
 */
char *
wirt_virt_box_volume_name(const char *owner, const char *name, GError **error)
{
    if (!wirt_name_validate(name, error)) {
        g_prefix_error(error, "box: ");
        return NULL;
    }
    if (!owner)
        return g_strconcat(VOLUME_PREFIX, name, VOLUME_SUFFIX, NULL);
    if (!wirt_name_validate_owner(owner, error))
        return NULL;
    return g_strconcat(VOLUME_PREFIX, owner, ".", name, VOLUME_SUFFIX, NULL);
}

/**
 * wirt_virt_box_parse_volume:
 * @volume: a libvirt volume name
 * @out_owner: (out) (transfer full) (nullable): the owner, %NULL for a shared box
 * @out_name: (out) (transfer full): the box's name
 * Returns: %TRUE when @volume is a box volume wirt_virt_box_volume_name() could have made.
 */
gboolean
wirt_virt_box_parse_volume(const char *volume, char **out_owner, char **out_name)
{
    gsize len = strlen(volume);
    g_autofree char *middle = NULL;
    const char *dot;
    g_autofree char *owner = NULL;
    g_autofree char *name = NULL;

    if (!g_str_has_prefix(volume, VOLUME_PREFIX) || !g_str_has_suffix(volume, VOLUME_SUFFIX) ||
        len <= strlen(VOLUME_PREFIX) + strlen(VOLUME_SUFFIX))
        return FALSE;
    middle = g_strndup(volume + strlen(VOLUME_PREFIX),
                       len - strlen(VOLUME_PREFIX) - strlen(VOLUME_SUFFIX));
    if ((dot = strrchr(middle, '.'))) {
        owner = g_strndup(middle, (gsize)(dot - middle));
        name = g_strdup(dot + 1);
        if (!wirt_name_validate_owner(owner, NULL))
            return FALSE;
    } else {
        name = g_strdup(middle);
    }
    if (!wirt_name_validate(name, NULL))
        return FALSE;
    *out_owner = g_steal_pointer(&owner);
    *out_name = g_steal_pointer(&name);
    return TRUE;
}

/* The thread's last libvirt error as a GError; a missing or existing volume gets its own code. */
static void
box_set_error(WirtConn *conn, GError **error, const char *what)
{
    const virError *verr = virGetLastError();
    int code = verr ? verr->code : VIR_ERR_OK;
    g_autoptr(GError) local = NULL;

    wirt_conn_set_error(conn, &local, "%s", what);
    if (local->code == WIRT_ERROR_FAILED && code == VIR_ERR_STORAGE_VOL_EXIST)
        local->code = WIRT_ERROR_CONFLICT;
    else if (local->code == WIRT_ERROR_FAILED &&
             (code == VIR_ERR_NO_STORAGE_VOL || code == VIR_ERR_NO_STORAGE_POOL))
        local->code = WIRT_ERROR_NOT_FOUND;
    g_propagate_error(error, g_steal_pointer(&local));
}

static virStoragePoolPtr
lookup_pool(WirtConn *conn, const char *storage_pool, GError **error)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(wirt_conn_get_virt(conn), storage_pool);

    if (!pool) {
        g_autofree char *what = g_strdup_printf(
            "storage pool '%s' ([vm] storage-pool) is not usable on this host", storage_pool);
        box_set_error(conn, error, what);
    }
    return pool;
}

/* Deletes a volume an upload made and failed to fill. Its own failure is
 * reported to nobody: the upload's error is the one that counts. */
static void
discard_volume(virStorageVolPtr vol, virStreamPtr stream)
{
    if (stream)
        virStreamAbort(stream);
    virStorageVolDelete(vol, 0);
}

static gboolean
send_all(WirtConn *conn, virStreamPtr stream, const char *volume, const guint8 *buf, gsize len,
         GError **error)
{
    while (len > 0) {
        int sent = virStreamSend(stream, (const char *)buf, len);
        if (sent < 0) {
            g_autofree char *what = g_strdup_printf("cannot upload box volume %s", volume);
            box_set_error(conn, error, what);
            return FALSE;
        }
        buf += sent;
        len -= (gsize)sent;
    }
    return TRUE;
}

/**
 * wirt_virt_box_upload:
 * @conn: a connection handle
 * @storage_pool: the libvirt storage pool ([vm] storage-pool)
 * @volume: a name from wirt_virt_box_volume_name()
 * @reader: (transfer none): a reader on the upload, nothing read yet
 * @out_info: (out caller-allocates): what the reader found, on success
 * @error: INVALID for a malformed box (the reader's message), CONFLICT when the volume
 * exists, else what libvirt said
 *
 * Worker: blocks on @reader's stream and on libvirt.
 * Returns: %TRUE when the volume holds box.img and the whole box was checked.
 */
gboolean
wirt_virt_box_upload(WirtConn *conn, const char *storage_pool, const char *volume,
                     WirtBoxReader *reader, WirtBoxInfo *out_info, GError **error)
{
    WirtBoxImage image = {0};
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;
    g_autoptr(virStream) stream = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *name_xml = NULL;
    g_auto(WirtBoxInfo) info = {0};
    g_autoptr(GError) local = NULL;

    /* Everything up to box.img's header is checked before libvirt hears of the box. */
    if (!wirt_box_reader_open_image(reader, &image, error))
        return FALSE;
    if (!(pool = lookup_pool(conn, storage_pool, &local))) {
        /* A missing storage pool is the host's setup, not a missing box. */
        if (local->code == WIRT_ERROR_NOT_FOUND)
            local->code = WIRT_ERROR_FAILED;
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if ((vol = virStorageVolLookupByName(pool, volume))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "box volume %s already exists", volume);
        return FALSE;
    }
    /* Explicit format and capacity: libvirt never probes the image (docs/boxes.md). */
    name_xml = g_markup_escape_text(volume, -1);
    xml = g_strdup_printf("<volume><name>%s</name>"
                          "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
                          "<allocation unit='bytes'>0</allocation>"
                          "<target><format type='qcow2'/></target></volume>",
                          name_xml, image.qcow2.virtual_size);
    if (!(vol = virStorageVolCreateXML(pool, xml, 0))) {
        g_autofree char *what = g_strdup_printf("cannot create box volume %s", volume);
        box_set_error(conn, error, what);
        return FALSE;
    }
    if (!(stream = virStreamNew(wirt_conn_get_virt(conn), 0))) {
        g_autofree char *what = g_strdup_printf("cannot open a stream for box volume %s", volume);
        box_set_error(conn, error, what);
        discard_volume(vol, NULL);
        return FALSE;
    }
    if (virStorageVolUpload(vol, stream, 0, image.size, 0) < 0) {
        g_autofree char *what = g_strdup_printf("cannot upload box volume %s", volume);
        box_set_error(conn, error, what);
        virStreamFree(g_steal_pointer(&stream));
        discard_volume(vol, NULL);
        return FALSE;
    }
    /* Straight from the reader's buffer into the stream: no copy of our own. */
    for (;;) {
        const guint8 *data = NULL;
        gsize n = 0;
        if (!wirt_box_reader_read_image_block(reader, UPLOAD_CHUNK, &data, &n, &local) ||
            (n > 0 && !send_all(conn, stream, volume, data, n, &local))) {
            discard_volume(vol, stream);
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        if (n == 0)
            break;
    }
    /* The rest of the archive decides whether the bytes sent may stay. */
    if (!wirt_box_reader_finish(reader, &info, &local)) {
        discard_volume(vol, stream);
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (virStreamFinish(stream) < 0) {
        g_autofree char *what =
            g_strdup_printf("cannot finish the upload of box volume %s", volume);
        box_set_error(conn, error, what);
        virStorageVolDelete(vol, 0);
        return FALSE;
    }
    *out_info = info;
    memset(&info, 0, sizeof(info));
    return TRUE;
}

/**
 * wirt_virt_box_list:
 * @conn: a connection handle
 * @storage_pool: the libvirt storage pool
 * Worker.
 * Returns: (transfer container) (element-type WirtVirtBox) (nullable): the pool's box volumes,
 * or %NULL with @error set (NOT_FOUND when the host has no such storage pool).
 */
GPtrArray *
wirt_virt_box_list(WirtConn *conn, const char *storage_pool, GError **error)
{
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(GPtrArray) boxes = g_ptr_array_new_with_free_func(box_free_cb);
    virStorageVolPtr *vols = NULL;
    int n;

    if (!(pool = lookup_pool(conn, storage_pool, error)))
        return NULL;
    if ((n = virStoragePoolListAllVolumes(pool, &vols, 0)) < 0) {
        g_autofree char *what = g_strdup_printf("cannot list storage pool '%s'", storage_pool);
        box_set_error(conn, error, what);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const char *volume = virStorageVolGetName(vols[i]);
        g_autofree char *owner = NULL;
        g_autofree char *name = NULL;
        virStorageVolInfo vinfo;

        if (volume && wirt_virt_box_parse_volume(volume, &owner, &name) &&
            virStorageVolGetInfo(vols[i], &vinfo) == 0) {
            WirtVirtBox *box = g_new0(WirtVirtBox, 1);
            box->volume = g_strdup(volume);
            box->owner = g_steal_pointer(&owner);
            box->name = g_steal_pointer(&name);
            box->capacity = vinfo.capacity;
            box->allocation = vinfo.allocation;
            g_ptr_array_add(boxes, box);
        }
        virStorageVolFree(vols[i]);
    }
    free(vols);
    return g_steal_pointer(&boxes);
}

/**
 * wirt_virt_box_delete:
 * @conn: a connection handle
 * @storage_pool: the libvirt storage pool
 * @volume: a box volume name
 * Worker.
 * Returns: %TRUE when deleted; else %FALSE with NOT_FOUND when it is not there.
 */
gboolean
wirt_virt_box_delete(WirtConn *conn, const char *storage_pool, const char *volume, GError **error)
{
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(virStorageVol) vol = NULL;

    if (!(pool = lookup_pool(conn, storage_pool, error)))
        return FALSE;
    if (!(vol = virStorageVolLookupByName(pool, volume))) {
        g_autofree char *what = g_strdup_printf("box volume %s", volume);
        box_set_error(conn, error, what);
        return FALSE;
    }
    if (virStorageVolDelete(vol, 0) < 0) {
        g_autofree char *what = g_strdup_printf("cannot delete box volume %s", volume);
        box_set_error(conn, error, what);
        return FALSE;
    }
    return TRUE;
}
