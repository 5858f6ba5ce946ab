// Shared between the fault VFS's files (not part of its public header).
#ifndef TRIBUTARY_FAULT_VFS_INTERNAL_H
#define TRIBUTARY_FAULT_VFS_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

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

// The io methods of every file the fault VFS opens (FaultFile.c).
extern const sqlite3_io_methods tfvfs_fileMethods;

// Faults and the held writes of each path (FaultState.c); callers hold the VFS's mutex.
int tfvfs_takeFault(FaultVfs *vfs, int op);
Node *tfvfs_nodeFor(FaultVfs *vfs, const char *path);
void tfvfs_clearOps(Node *node);
void tfvfs_dropNodeIfUnused(FaultVfs *vfs, Node *node);
int tfvfs_appendOp(Node *node, Op op);
int tfvfs_applyOps(sqlite3_file *real, Node *node, int count, int lastLen);

#endif
