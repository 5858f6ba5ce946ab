// A fault-injecting SQLite VFS for tests: see include/TributaryFaultVFS.h.
#include "TributaryFaultVFS.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

// One write or truncation not yet synced.
typedef struct Op {
    int truncate;            // 0: write `len` bytes of `data` at `offset`; 1: truncate to `offset`
    sqlite3_int64 offset;
    int len;
    unsigned char *data;
} Op;

// What the OS would hold in its page cache for one path: shared by every handle on it.
typedef struct Node {
    char *path;
    Op *ops;
    int count, capacity;
    int refs;
    struct Node *next;
} Node;

typedef struct Fault {
    long long remaining;      // calls until the fault fires (0: none armed)
    int code;
    int persistent;
    int firing;               // a persistent fault that has fired
} Fault;

typedef struct FaultVfs {
    sqlite3_vfs base;
    sqlite3_vfs *real;
    pthread_mutex_t mutex;
    int crashed;
    int openFiles;
    struct FaultFile *open;          // every open file, to write through one of a path's own handles
    Node *nodes;
    Fault faults[3];
    long long counts[3];
    long long failed[3];
} FaultVfs;

typedef struct FaultFile {
    sqlite3_file base;
    FaultVfs *vfs;
    Node *node;               // NULL for files whose writes are not held (temporary files)
    sqlite3_file *real;       // follows this struct in the same allocation
    struct FaultFile *nextOpen;
} FaultFile;

static const sqlite3_io_methods faultMethods;

// MARK: faults

// Counts a call of kind `op` and returns the injected error it must fail with, or SQLITE_OK.
static int takeFault(FaultVfs *vfs, int op) {
    pthread_mutex_lock(&vfs->mutex);
    vfs->counts[op] += 1;
    Fault *fault = &vfs->faults[op];
    int code = SQLITE_OK;
    if (fault->firing) {
        code = fault->code;
    } else if (fault->remaining > 0) {
        fault->remaining -= 1;
        if (fault->remaining == 0) {
            code = fault->code;
            fault->firing = fault->persistent;
        }
    }
    if (code != SQLITE_OK) vfs->failed[op] += 1;
    pthread_mutex_unlock(&vfs->mutex);
    return code;
}

// MARK: nodes (call with the mutex held)

static Node *nodeFor(FaultVfs *vfs, const char *path) {
    for (Node *node = vfs->nodes; node; node = node->next) {
        if (strcmp(node->path, path) == 0) return node;
    }
    Node *node = calloc(1, sizeof(Node));
    if (!node) return NULL;
    node->path = strdup(path);
    if (!node->path) { free(node); return NULL; }
    node->next = vfs->nodes;
    vfs->nodes = node;
    return node;
}

static void clearOps(Node *node) {
    for (int i = 0; i < node->count; i++) free(node->ops[i].data);
    node->count = 0;
}

static void dropNodeIfUnused(FaultVfs *vfs, Node *node) {
    if (node->refs > 0 || node->count > 0) return;
    for (Node **link = &vfs->nodes; *link; link = &(*link)->next) {
        if (*link == node) {
            *link = node->next;
            free(node->ops);
            free(node->path);
            free(node);
            return;
        }
    }
}

static int appendOp(Node *node, Op op) {
    if (node->count == node->capacity) {
        int capacity = node->capacity ? node->capacity * 2 : 16;
        Op *ops = realloc(node->ops, sizeof(Op) * (size_t)capacity);
        if (!ops) return SQLITE_NOMEM;
        node->ops = ops;
        node->capacity = capacity;
    }
    node->ops[node->count++] = op;
    return SQLITE_OK;
}

// Writes the first `count` held operations to the real file (the last one cut to `lastLen`
// bytes when `lastLen` >= 0), then forgets every held operation.
static int applyOps(sqlite3_file *real, Node *node, int count, int lastLen) {
    int rc = SQLITE_OK;
    for (int i = 0; i < count && rc == SQLITE_OK; i++) {
        Op *op = &node->ops[i];
        if (op->truncate) {
            rc = real->pMethods->xTruncate(real, op->offset);
        } else {
            int len = (i == count - 1 && lastLen >= 0) ? lastLen : op->len;
            if (len > 0) rc = real->pMethods->xWrite(real, op->data, len, op->offset);
        }
    }
    clearOps(node);
    return rc;
}

// MARK: io methods

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
        dropNodeIfUnused(f->vfs, f->node);
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
    int fault = takeFault(vfs, TFVFS_WRITE);
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
    int rc = appendOp(f->node, (Op){ .truncate = 0, .offset = offset, .len = amount, .data = copy });
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
    int rc = appendOp(f->node, (Op){ .truncate = 1, .offset = size, .len = 0, .data = NULL });
    pthread_mutex_unlock(&vfs->mutex);
    return rc;
}

static int fSync(sqlite3_file *file, int flags) {
    FaultFile *f = (FaultFile *)file;
    FaultVfs *vfs = f->vfs;
    int fault = takeFault(vfs, TFVFS_SYNC);
    // A failed fsync leaves what reached the disk unknown; here nothing held is written.
    if (fault != SQLITE_OK) return fault;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_FSYNC; }
    int rc = SQLITE_OK;
    if (f->node) rc = applyOps(f->real, f->node, f->node->count, -1);
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
        int fault = takeFault(f->vfs, TFVFS_LOCK);
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
        int fault = takeFault(f->vfs, TFVFS_LOCK);
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

static const sqlite3_io_methods faultMethods = {
    3, fClose, fRead, fWrite, fTruncate, fSync, fFileSize, fLock, fUnlock, fCheckReservedLock,
    fFileControl, fSectorSize, fDeviceCharacteristics, fShmMap, fShmLock, fShmBarrier, fShmUnmap,
    fFetch, fUnfetch,
};

// MARK: vfs methods

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
        f->node = nodeFor(vfs, name);
        if (f->node) f->node->refs += 1;
    }
    pthread_mutex_unlock(&vfs->mutex);
    f->base.pMethods = &faultMethods;
    return SQLITE_OK;
}

static int vDelete(sqlite3_vfs *base, const char *name, int syncDir) {
    FaultVfs *vfs = (FaultVfs *)base;
    pthread_mutex_lock(&vfs->mutex);
    if (vfs->crashed) { pthread_mutex_unlock(&vfs->mutex); return SQLITE_IOERR_DELETE; }
    for (Node *node = vfs->nodes; node; node = node->next) {
        if (strcmp(node->path, name) == 0) {
            clearOps(node);
            dropNodeIfUnused(vfs, node);
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
                applyOps(holder->real, node, keep, lastLen);
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
        clearOps(node);
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
        dropNodeIfUnused(vfs, node);
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
