/*
 * A block cache in front of a slow memory source (/proc/PID/mem, a gdb
 * callback): 16 KiB blocks, each page of which is known readable or not, so
 * a walk makes one read call per block, not one per object.  The block last
 * used is published as the memory's peek window, which keeps the walker's
 * fast path.
 */
#ifndef GCI_BLOCKCACHE_H
#define GCI_BLOCKCACHE_H

#include "memory.h"

#define GCI_BLOCK_SHIFT 14
#define GCI_BLOCK_SIZE (1u << GCI_BLOCK_SHIFT)

/* Read exactly size bytes; 0 or -1 (then the cache retries page by page). */
typedef int gci_block_read_fn(void *arg, uint64_t address, void *buf, size_t size);

struct gci_block_cache;

struct gci_block_cache *gci_block_cache_create(struct gci_memory *mem,
					       gci_block_read_fn *read, void *arg,
					       size_t nblocks);
void gci_block_cache_destroy(struct gci_block_cache *c);
/* Forget everything read so far (the target ran). */
void gci_block_cache_invalidate(struct gci_block_cache *c);
/*
 * A source that may already hold a whole block (live.c's prefetch ring):
 * given the block's address and the cache's buffer for it, it either
 * swaps in a buffer holding the block (taking the cache's in exchange,
 * both of GCI_BLOCK_SIZE bytes from malloc) and returns true, or returns
 * false and the block is read as usual.
 */
typedef bool gci_block_take_fn(void *arg, uint64_t address, unsigned char **buf);
void gci_block_cache_set_take(struct gci_block_cache *c, gci_block_take_fn *take);

/*
 * Tracing: with it on, every block loaded is appended, in order, to a list
 * (at most GCI_BLOCK_TRACE_MAX entries); a walk's list is the order in which
 * a walk of a forked twin will read (live.c's prefetch).  Turning it on
 * clears the list.
 */
#define GCI_BLOCK_TRACE_MAX (1u << 22)
void gci_block_cache_trace(struct gci_block_cache *c, bool on);
/* Clear the list, tracing or not (the target was stopped: a walk begins). */
void gci_block_cache_trace_reset(struct gci_block_cache *c);
size_t gci_block_cache_traced(const struct gci_block_cache *c, const uint64_t **ret);
/* A gci_segment_read_fn: arg is the cache. */
struct gci_error *gci_block_cache_read(void *arg, uint64_t address, void *buf,
				       size_t size);

#endif
