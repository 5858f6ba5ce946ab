// Faults armed on a fault VFS, and the writes it holds per path until they are synced.
#include "TributaryFaultVFS.h"
#include "FaultVFSInternal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

// MARK: faults

// Counts a call of kind `op` and returns the injected error it must fail with, or SQLITE_OK.
int tfvfs_takeFault(FaultVfs *vfs, int op) {
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

Node *tfvfs_nodeFor(FaultVfs *vfs, const char *path) {
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

void tfvfs_clearOps(Node *node) {
    for (int i = 0; i < node->count; i++) free(node->ops[i].data);
    node->count = 0;
}

void tfvfs_dropNodeIfUnused(FaultVfs *vfs, Node *node) {
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

int tfvfs_appendOp(Node *node, Op op) {
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
int tfvfs_applyOps(sqlite3_file *real, Node *node, int count, int lastLen) {
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
    tfvfs_clearOps(node);
    return rc;
}

// MARK: io methods
