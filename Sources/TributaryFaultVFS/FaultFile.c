// The io methods of a fault VFS file: writes held until synced, faults fired, every I/O failing after a power cut.
#include "TributaryFaultVFS.h"
#include "FaultVFSInternal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static int fClose(sqlite3_file *file) {
    FaultFile *f = (FaultFile *)file;
    int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
    pthread_mutex_lock(&f->vfs->mutex);
    f->vfs->openFiles -= 1;
    for (FaultFile **link = &f->vfs->open; *link; link = &(*link)->nextOpen) {
        if (*link == f) { *link = f->nextOpen; break; }
    }
    if (f->node) {
        f->node->refs -= 1;
        tfvfs_dropNodeIfUnused(f->vfs, f->node);
    }
    pthread_mutex_unlock(&f->vfs->mutex);
    return rc;
}

static int fRead(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    FaultFile *f = (FaultFile *)file;
    FaultVfs *vfs = f->vfs;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_READ; }
    if (!f->node || f->node->count == 0) {
        pthread_mutex_unlock(&vfs->mutex);
        return f->real->pMethods->xRead(f->real, buffer, amount, offset);
    }
    sqlite3_int64 size = 0;
    int rc = f->real->pMethods->xFileSize(f->real, &size);
    if (rc == SQLITE_OK) {
        rc = f->real->pMethods->xRead(f->real, buffer, amount, offset);
        if (rc == SQLITE_IOERR_SHORT_READ) rc = SQLITE_OK;  // the unix VFS zero-fills the rest
    }
    if (rc != SQLITE_OK) { pthread_mutex_unlock(&vfs->mutex); return rc; }
    unsigned char *out = buffer;
    sqlite3_int64 end = offset + amount;
    for (int i = 0; i < f->node->count; i++) {
        Op *op = &f->node->ops[i];
        if (op->truncate) {
            if (op->offset < end) {
                sqlite3_int64 from = op->offset > offset ? op->offset : offset;
                memset(out + (from - offset), 0, (size_t)(end - from));
            }
            size = op->offset;
        } else {
            sqlite3_int64 opEnd = op->offset + op->len;
            sqlite3_int64 from = op->offset > offset ? op->offset : offset;
            sqlite3_int64 to = opEnd < end ? opEnd : end;
            if (from < to) memcpy(out + (from - offset), op->data + (from - op->offset), (size_t)(to - from));
            if (opEnd > size) size = opEnd;
        }
    }
    pthread_mutex_unlock(&vfs->mutex);
    if (end > size) {
        if (offset < size) {
            memset(out + (size - offset), 0, (size_t)(end - size));
        } else {
            memset(out, 0, (size_t)amount);
        }
        return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
}

static int fWrite(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    FaultFile *f = (FaultFile *)file;
    FaultVfs *vfs = f->vfs;
    int fault = tfvfs_takeFault(vfs, TFVFS_WRITE);
    if (fault != SQLITE_OK) return fault;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_WRITE; }
    if (!f->node) {
        pthread_mutex_unlock(&vfs->mutex);
        return f->real->pMethods->xWrite(f->real, buffer, amount, offset);
    }
    unsigned char *copy = malloc((size_t)amount);
    if (!copy) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_NOMEM; }
    memcpy(copy, buffer, (size_t)amount);
    int rc = tfvfs_appendOp(f->node, (Op){ .truncate = 0, .offset = offset, .len = amount, .data = copy });
    if (rc != SQLITE_OK) free(copy);
    pthread_mutex_unlock(&vfs->mutex);
    return rc;
}

static int fTruncate(sqlite3_file *file, sqlite3_int64 size) {
    FaultFile *f = (FaultFile *)file;
    FaultVfs *vfs = f->vfs;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_TRUNCATE; }
    if (!f->node) {
        pthread_mutex_unlock(&vfs->mutex);
        return f->real->pMethods->xTruncate(f->real, size);
    }
    int rc = tfvfs_appendOp(f->node, (Op){ .truncate = 1, .offset = size, .len = 0, .data = NULL });
    pthread_mutex_unlock(&vfs->mutex);
    return rc;
}

static int fSync(sqlite3_file *file, int flags) {
    FaultFile *f = (FaultFile *)file;
    FaultVfs *vfs = f->vfs;
    int fault = tfvfs_takeFault(vfs, TFVFS_SYNC);
    // A failed fsync leaves what reached the disk unknown; here nothing held is written.
    if (fault != SQLITE_OK) return fault;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_FSYNC; }
    int rc = SQLITE_OK;
    if (f->node) rc = tfvfs_applyOps(f->real, f->node, f->node->count, -1);
    if (rc == SQLITE_OK) rc = f->real->pMethods->xSync(f->real, flags);
    pthread_mutex_unlock(&vfs->mutex);
    return rc;
}

static int fFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    FaultFile *f = (FaultFile *)file;
    FaultVfs *vfs = f->vfs;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_FSTAT; }
    int rc = f->real->pMethods->xFileSize(f->real, size);
    if (rc == SQLITE_OK && f->node) {
        for (int i = 0; i < f->node->count; i++) {
            Op *op = &f->node->ops[i];
            if (op->truncate) {
                *size = op->offset;
            } else if (op->offset + op->len > *size) {
                *size = op->offset + op->len;
            }
        }
    }
    pthread_mutex_unlock(&vfs->mutex);
    return rc;
}

static int fLock(sqlite3_file *file, int level) {
    FaultFile *f = (FaultFile *)file;
    if (level > SQLITE_LOCK_SHARED) {
        int fault = tfvfs_takeFault(f->vfs, TFVFS_LOCK);
        if (fault != SQLITE_OK) return fault;
    }
    return f->real->pMethods->xLock(f->real, level);
}

static int fUnlock(sqlite3_file *file, int level) {
    FaultFile *f = (FaultFile *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int fCheckReservedLock(sqlite3_file *file, int *out) {
    FaultFile *f = (FaultFile *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int fFileControl(sqlite3_file *file, int op, void *arg) {
    FaultFile *f = (FaultFile *)file;
    // Memory-mapped I/O would read the real file past the held writes.
    if (op == SQLITE_FCNTL_MMAP_SIZE) {
        if (arg) *(sqlite3_int64 *)arg = 0;
        return SQLITE_OK;
    }
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int fSectorSize(sqlite3_file *file) {
    FaultFile *f = (FaultFile *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int fDeviceCharacteristics(sqlite3_file *file) {
    FaultFile *f = (FaultFile *)file;
    // No "atomic write" or "safe append" promise: the fault model breaks both.
    return f->real->pMethods->xDeviceCharacteristics(f->real)
        & ~(SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_POWERSAFE_OVERWRITE);
}

static int fShmMap(sqlite3_file *file, int page, int size, int extend, void volatile **out) {
    FaultFile *f = (FaultFile *)file;
    return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int fShmLock(sqlite3_file *file, int offset, int n, int flags) {
    FaultFile *f = (FaultFile *)file;
    if ((flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE)) {
        int fault = tfvfs_takeFault(f->vfs, TFVFS_LOCK);
        if (fault != SQLITE_OK) return fault;
    }
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void fShmBarrier(sqlite3_file *file) {
    FaultFile *f = (FaultFile *)file;
    f->real->pMethods->xShmBarrier(f->real);
}

static int fShmUnmap(sqlite3_file *file, int deleteFlag) {
    FaultFile *f = (FaultFile *)file;
    return f->real->pMethods->xShmUnmap(f->real, deleteFlag);
}

static int fFetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    (void)file; (void)offset; (void)amount;
    *out = NULL;  // never map: SQLite falls back to xRead, which sees the held writes
    return SQLITE_OK;
}

static int fUnfetch(sqlite3_file *file, sqlite3_int64 offset, void *pointer) {
    (void)file; (void)offset; (void)pointer;
    return SQLITE_OK;
}

const sqlite3_io_methods tfvfs_fileMethods = {
    3, fClose, fRead, fWrite, fTruncate, fSync, fFileSize, fLock, fUnlock, fCheckReservedLock,
    fFileControl, fSectorSize, fDeviceCharacteristics, fShmMap, fShmLock, fShmBarrier, fShmUnmap,
    fFetch, fUnfetch,
};

// MARK: vfs methods
