// A fault-injecting SQLite VFS for tests: see include/TributaryFaultVFS.h. The VFS methods and the public API.
#include "TributaryFaultVFS.h"
#include "FaultVFSInternal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static int vOpen(sqlite3_vfs *base, sqlite3_filename name, sqlite3_file *file, int flags, int *outFlags) {
    FaultVfs *vfs = (FaultVfs *)base;
    FaultFile *f = (FaultFile *)file;
    memset(f, 0, sizeof(FaultFile));
    f->vfs = vfs;
    f->real = (sqlite3_file *)(f + 1);
    pthread_mutex_lock(&vfs->mutex);
    int crashed = vfs->crashed;
    pthread_mutex_unlock(&vfs->mutex);
    if (crashed) return SQLITE_IOERR;
    int rc = vfs->real->xOpen(vfs->real, name, f->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        f->base.pMethods = NULL;
        return rc;
    }
    pthread_mutex_lock(&vfs->mutex);
    vfs->openFiles += 1;
    f->nextOpen = vfs->open;
    vfs->open = f;
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL))) {
        f->node = tfvfs_nodeFor(vfs, name);
        if (f->node) f->node->refs += 1;
    }
    pthread_mutex_unlock(&vfs->mutex);
    f->base.pMethods = &tfvfs_fileMethods;
    return SQLITE_OK;
}

static int vDelete(sqlite3_vfs *base, const char *name, int syncDir) {
    FaultVfs *vfs = (FaultVfs *)base;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_DELETE; }
    for (Node *node = vfs->nodes; node; node = node->next) {
        if (strcmp(node->path, name) == 0) {
            tfvfs_clearOps(node);
            tfvfs_dropNodeIfUnused(vfs, node);
            break;
        }
    }
    pthread_mutex_unlock(&vfs->mutex);
    return vfs->real->xDelete(vfs->real, name, syncDir);
}

static int vAccess(sqlite3_vfs *base, const char *name, int flags, int *out) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xAccess(vfs->real, name, flags, out);
}

static int vFullPathname(sqlite3_vfs *base, const char *name, int size, char *out) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xFullPathname(vfs->real, name, size, out);
}

static void *vDlOpen(sqlite3_vfs *base, const char *name) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xDlOpen(vfs->real, name);
}

static void vDlError(sqlite3_vfs *base, int size, char *out) {
    FaultVfs *vfs = (FaultVfs *)base;
    vfs->real->xDlError(vfs->real, size, out);
}

static void (*vDlSym(sqlite3_vfs *base, void *handle, const char *symbol))(void) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xDlSym(vfs->real, handle, symbol);
}

static void vDlClose(sqlite3_vfs *base, void *handle) {
    FaultVfs *vfs = (FaultVfs *)base;
    vfs->real->xDlClose(vfs->real, handle);
}

static int vRandomness(sqlite3_vfs *base, int size, char *out) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xRandomness(vfs->real, size, out);
}

static int vSleep(sqlite3_vfs *base, int micros) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xSleep(vfs->real, micros);
}

static int vCurrentTime(sqlite3_vfs *base, double *out) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xCurrentTime(vfs->real, out);
}

static int vGetLastError(sqlite3_vfs *base, int size, char *out) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xGetLastError ? vfs->real->xGetLastError(vfs->real, size, out) : 0;
}

static int vCurrentTimeInt64(sqlite3_vfs *base, sqlite3_int64 *out) {
    FaultVfs *vfs = (FaultVfs *)base;
    return vfs->real->xCurrentTimeInt64(vfs->real, out);
}

// MARK: public API

static FaultVfs *lookup(const char *name) {
    sqlite3_vfs *found = sqlite3_vfs_find(name);
    if (!found || found->xOpen != vOpen) return NULL;
    return (FaultVfs *)found;
}

int tfvfs_register(const char *name) {
    if (lookup(name)) return SQLITE_OK;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real) return SQLITE_ERROR;
    FaultVfs *vfs = calloc(1, sizeof(FaultVfs));
    if (!vfs) return SQLITE_NOMEM;
    char *copy = strdup(name);
    if (!copy) { free(vfs); return SQLITE_NOMEM; }
    pthread_mutex_init(&vfs->mutex, NULL);
    vfs->real = real;
    vfs->base = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(FaultFile) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = copy,
        .pAppData = NULL,
        .xOpen = vOpen,
        .xDelete = vDelete,
        .xAccess = vAccess,
        .xFullPathname = vFullPathname,
        .xDlOpen = vDlOpen,
        .xDlError = vDlError,
        .xDlSym = vDlSym,
        .xDlClose = vDlClose,
        .xRandomness = vRandomness,
        .xSleep = vSleep,
        .xCurrentTime = vCurrentTime,
        .xGetLastError = vGetLastError,
        .xCurrentTimeInt64 = vCurrentTimeInt64,
    };
    int rc = sqlite3_vfs_register(&vfs->base, 0);
    if (rc != SQLITE_OK) {
        free(copy);
        free(vfs);
    }
    return rc;
}

long long tfvfs_power_cut(const char *name, unsigned long long seed, int keep_prefix, int tear) {
    FaultVfs *vfs = lookup(name);
    if (!vfs) return -1;
    long long lost = 0;
    uint64_t state = seed;
    pthread_mutex_lock(&vfs->mutex);
    for (Node *node = vfs->nodes; node; node = node->next) {
        int keep = 0;
        int lastLen = -1;
        if (keep_prefix && node->count > 0) {
            // SplitMix64: a seeded choice of how much of this file reached the disk.
            state += 0x9E3779B97F4A7C15ULL;
            uint64_t z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            z ^= z >> 31;
            keep = (int)(z % (uint64_t)(node->count + 1));
            if (tear && keep < node->count && !node->ops[keep].truncate && node->ops[keep].len > 512) {
                int sectors = node->ops[keep].len / 512;
                lastLen = (int)((z >> 32) % (uint64_t)sectors) * 512;
                keep += 1;
            }
        }
        lost += node->count - keep + (lastLen >= 0 ? 1 : 0);
        if (keep > 0) {
            // Written through one of the path's own open handles: opening and closing another
            // descriptor on a database file would drop the process's POSIX locks on it.
            FaultFile *holder = vfs->open;
            while (holder && holder->node != node) holder = holder->nextOpen;
            if (holder) {
                tfvfs_applyOps(holder->real, node, keep, lastLen);
            } else {
                int fd = open(node->path, O_RDWR | O_CLOEXEC);
                for (int i = 0; fd >= 0 && i < keep; i++) {
                    Op *op = &node->ops[i];
                    int len = (i == keep - 1 && lastLen >= 0) ? lastLen : op->len;
                    if (op->truncate) {
                        if (ftruncate(fd, op->offset) != 0) break;
                    } else if (len > 0 && pwrite(fd, op->data, (size_t)len, op->offset) != len) {
                        break;
                    }
                }
                if (fd >= 0) close(fd);
            }
        }
        tfvfs_clearOps(node);
    }
    vfs->crashed = 1;
    pthread_mutex_unlock(&vfs->mutex);
    return lost;
}

void tfvfs_restore(const char *name) {
    FaultVfs *vfs = lookup(name);
    if (!vfs) return;
    pthread_mutex_lock(&vfs->mutex);
    vfs->crashed = 0;
    for (Node *node = vfs->nodes, *next = NULL; node; node = next) {
        next = node->next;
        tfvfs_dropNodeIfUnused(vfs, node);
    }
    pthread_mutex_unlock(&vfs->mutex);
}

void tfvfs_inject(const char *name, int op, long long nth, int code, int persistent) {
    FaultVfs *vfs = lookup(name);
    if (!vfs || op < 0 || op > 2 || nth < 1) return;
    pthread_mutex_lock(&vfs->mutex);
    vfs->faults[op] = (Fault){ .remaining = nth, .code = code, .persistent = persistent, .firing = 0 };
    pthread_mutex_unlock(&vfs->mutex);
}

void tfvfs_clear(const char *name) {
    FaultVfs *vfs = lookup(name);
    if (!vfs) return;
    pthread_mutex_lock(&vfs->mutex);
    memset(vfs->faults, 0, sizeof(vfs->faults));
    pthread_mutex_unlock(&vfs->mutex);
}

// Reads one of `vfs`'s per-kind counters under its mutex; -1 for an unknown VFS or kind.
static long long readCounter(const char *name, int op, int failed) {
    FaultVfs *vfs = lookup(name);
    if (!vfs || op < 0 || op > 2) return -1;
    pthread_mutex_lock(&vfs->mutex);
    long long count = failed ? vfs->failed[op] : vfs->counts[op];
    pthread_mutex_unlock(&vfs->mutex);
    return count;
}

long long tfvfs_count(const char *name, int op) { return readCounter(name, op, 0); }

long long tfvfs_failed(const char *name, int op) { return readCounter(name, op, 1); }

long long tfvfs_unsynced_bytes(const char *name) {
    FaultVfs *vfs = lookup(name);
    if (!vfs) return -1;
    long long bytes = 0;
    pthread_mutex_lock(&vfs->mutex);
    for (Node *node = vfs->nodes; node; node = node->next) {
        for (int i = 0; i < node->count; i++) bytes += node->ops[i].len;
    }
    pthread_mutex_unlock(&vfs->mutex);
    return bytes;
}

int tfvfs_open_files(const char *name) {
    FaultVfs *vfs = lookup(name);
    if (!vfs) return -1;
    pthread_mutex_lock(&vfs->mutex);
    int count = vfs->openFiles;
    pthread_mutex_unlock(&vfs->mutex);
    return count;
}
