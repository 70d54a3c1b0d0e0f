/*
 * The address space of a target: an ordered set of non-overlapping segments,
 * each backed by a byte buffer (an mmap'd core, a file on disk, a test
 * buffer) or by a read callback.  Two tiers: segments of the primary tier
 * (what the target's memory holds: core PT_LOADs, live memory) win over the
 * fallback tier (read-only file-backed ranges served from the files the
 * target mapped, which a core does not contain).
 *
 * Reads never return invented bytes: an address inside a segment but past
 * the bytes it has (a core's p_filesz < p_memsz) fails with "not saved",
 * an address outside every segment with "not mapped".
 */
#ifndef GCI_MEMORY_H
#define GCI_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gcinspect.h"

enum gci_tier { GCI_TIER_PRIMARY, GCI_TIER_FALLBACK };

/* Fill a read that a buffer does not serve; returns NULL or an error. */
typedef struct gci_error *gci_segment_read_fn(void *arg, uint64_t address,
					      void *buf, size_t size);

struct gci_segment {
	uint64_t start, end;      /* [start, end) in the target */
	uint64_t saved_end;       /* bytes in [start, saved_end) can be read */
	const unsigned char *buf; /* the bytes of [start, saved_end), or NULL */
	gci_segment_read_fn *read;/* used when buf == NULL */
	void *arg;
	const char *what;         /* "core", "file /usr/bin/python3.11", ... */
	const char *why_unsaved;  /* message for reads in [saved_end, end) */
};

struct gci_memory {
	struct gci_segment *segs[2];
	size_t nsegs[2], capsegs[2];
	size_t last[2];             /* index of the last hit, per tier */
	uint64_t pointer_mask;      /* unused bits never set: all ones */
	/* Bytes a cache keeps for [win_start, win_end) (the peek fast path
	 * for sources without a buffer of their own), or NULL. */
	const unsigned char *win;
	uint64_t win_start, win_end;
};

void gci_memory_init(struct gci_memory *mem);
void gci_memory_deinit(struct gci_memory *mem);

/* Add a segment (copied).  Overlapping segments of one tier are refused. */
struct gci_error *gci_memory_add(struct gci_memory *mem, enum gci_tier tier,
				 const struct gci_segment *seg);

/* Read exactly size bytes at address, or fail naming the address. */
struct gci_error *gci_memory_read(struct gci_memory *mem, uint64_t address,
				  void *buf, size_t size);

/*
 * Fast path for the walker: a pointer to size contiguous saved bytes of a
 * buffer-backed primary segment at address, or NULL (then use
 * gci_memory_read for the error).
 */
static inline const unsigned char *gci_memory_peek(struct gci_memory *mem,
						   uint64_t address, size_t size)
{
	if (mem->win && address >= mem->win_start && address < mem->win_end &&
	    size <= mem->win_end - address)
		return mem->win + (address - mem->win_start);
	size_t i = mem->last[GCI_TIER_PRIMARY];
	if (i < mem->nsegs[GCI_TIER_PRIMARY]) {
		const struct gci_segment *s = &mem->segs[GCI_TIER_PRIMARY][i];
		if (s->buf && address >= s->start && address <= s->saved_end &&
		    size <= s->saved_end - address)
			return s->buf + (address - s->start);
	}
	return NULL;
}

struct gci_error *gci_read_u8(struct gci_memory *mem, uint64_t a, uint8_t *ret);
struct gci_error *gci_read_u32(struct gci_memory *mem, uint64_t a, uint32_t *ret);
struct gci_error *gci_read_i32(struct gci_memory *mem, uint64_t a, int32_t *ret);
struct gci_error *gci_read_u64(struct gci_memory *mem, uint64_t a, uint64_t *ret);
struct gci_error *gci_read_i64(struct gci_memory *mem, uint64_t a, int64_t *ret);
/* An integer field of 1, 2, 4 or 8 bytes, sign-extended if is_signed. */
struct gci_error *gci_read_int(struct gci_memory *mem, uint64_t a, size_t size,
			       bool is_signed, int64_t *ret);
/*
 * A NUL-terminated string of at most max bytes (not counting the NUL).  A
 * string that does not end within max bytes is an error.  *ret is malloc'd.
 */
struct gci_error *gci_read_cstr(struct gci_memory *mem, uint64_t a, size_t max,
				char **ret);

/* Find the segment holding address (NULL if none), tier by tier. */
const struct gci_segment *gci_memory_find(struct gci_memory *mem, uint64_t address,
					  enum gci_tier tier);

#endif
