#ifndef TRIBUTARY_FAULT_VFS_H
#define TRIBUTARY_FAULT_VFS_H

/*
 * A fault-injecting SQLite VFS for tests and benchmarks, after SQLite's own crash VFS (test6.c)
 * and I/O-error VFS (test_vfs.c). It wraps the default VFS ("unix") of the system libsqlite3 and
 * is selected only by opening a database as `file:PATH?vfs=NAME`.
 *
 * Writes to a main database, rollback journal or WAL file are held in memory (per file, shared by
 * every handle on that path, as the OS page cache is) and reach the real file only when SQLite
 * syncs that file. So the real files always hold exactly what a disk would keep after a power cut.
 *
 * Operation kinds for tfvfs_inject and tfvfs_count: 0 write, 1 sync, 2 lock (a write lock:
 * xLock above SHARED, or an exclusive xShmLock, which is how WAL mode takes its write lock).
 */

#define TFVFS_WRITE 0
#define TFVFS_SYNC 1
#define TFVFS_LOCK 2

/* Registers a fault VFS called `name` (not the default). Returns 0, or an SQLite error code. */
int tfvfs_register(const char *name);

/*
 * A power cut: every write not yet synced is lost. With `keep_prefix`, a random prefix (seeded by
 * `seed`) of each file's unsynced writes survives instead, in order; with `tear`, the write after
 * that prefix survives in part (a random number of 512-byte sectors of it). From then on every
 * read, write, sync, truncate and delete through this VFS fails with SQLITE_IOERR, as in a machine
 * that has lost power, until tfvfs_restore. Returns the number of unsynced writes discarded.
 */
long long tfvfs_power_cut(const char *name, unsigned long long seed, int keep_prefix, int tear);

/* Powers the machine back on: files may be opened and used again. Call after every connection closed. */
void tfvfs_restore(const char *name);

/*
 * Fails the `nth` call (1 = the next) of kind `op` from now on with `code` (an SQLite result
 * code such as SQLITE_IOERR_FSYNC, SQLITE_FULL or SQLITE_BUSY); with `persistent`, that call and
 * every later one of that kind. One fault per kind; a new one replaces it.
 */
void tfvfs_inject(const char *name, int op, long long nth, int code, int persistent);

/* Clears every injected fault. */
void tfvfs_clear(const char *name);

/* Calls of kind `op` seen so far, and how many of them were failed by an injected fault. */
long long tfvfs_count(const char *name, int op);
long long tfvfs_failed(const char *name, int op);

/* Bytes written but not yet synced, over every file of this VFS. */
long long tfvfs_unsynced_bytes(const char *name);

/* Files currently open through this VFS. */
int tfvfs_open_files(const char *name);

#endif
