/* The address space: segments in two tiers, looked up by binary search. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "memory.h"

void gci_memory_init(struct gci_memory *mem)
{
	memset(mem, 0, sizeof(*mem));
	mem->pointer_mask = UINT64_MAX;
}

void gci_memory_deinit(struct gci_memory *mem)
{
	if (!mem)
		return;
	free(mem->segs[0]);
	free(mem->segs[1]);
	memset(mem, 0, sizeof(*mem));
}

struct gci_error *gci_memory_add(struct gci_memory *mem, enum gci_tier tier,
				 const struct gci_segment *seg)
{
	if (seg->end <= seg->start || seg->saved_end < seg->start ||
	    seg->saved_end > seg->end)
		return gci_error_at(GCI_ERR_INPUT, seg->start,
				    "invalid segment [0x%" PRIx64 ", 0x%" PRIx64 ") in %s",
				    seg->start, seg->end, seg->what ? seg->what : "?");
	struct gci_segment *v = mem->segs[tier];
	size_t n = mem->nsegs[tier];
	/* The first segment starting after seg: insert before it. */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].start <= seg->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Refuse an overlap with either neighbour before anything changes. */
	const struct gci_segment *o = NULL;
	if (lo > 0 && v[lo - 1].end > seg->start)
		o = &v[lo - 1];
	else if (lo < n && v[lo].start < seg->end)
		o = &v[lo];
	if (o) {
		uint64_t at = seg->start > o->start ? seg->start : o->start;
		return gci_error_at(GCI_ERR_INPUT, at, "segments overlap at 0x%" PRIx64
				    " (%s and %s)", at, o->what ? o->what : "?",
				    seg->what ? seg->what : "?");
	}
	if (n == mem->capsegs[tier]) {
		size_t cap = n ? 2 * n : 64;
		v = gci_reallocarray(v, cap, sizeof(*v));
		if (!v)
			return &gci_enomem;
		mem->segs[tier] = v;
		mem->capsegs[tier] = cap;
	}
	memmove(&v[lo + 1], &v[lo], (n - lo) * sizeof(*v));
	v[lo] = *seg;
	mem->nsegs[tier] = n + 1;
	mem->last[tier] = 0;
	return NULL;
}

static const struct gci_segment *tier_find(struct gci_memory *mem, enum gci_tier tier,
					   uint64_t address)
{
	const struct gci_segment *s = mem->segs[tier];
	size_t n = mem->nsegs[tier];
	size_t last = mem->last[tier];
	if (last < n && address >= s[last].start && address < s[last].end)
		return &s[last];
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (address < s[mid].start)
			hi = mid;
		else if (address >= s[mid].end)
			lo = mid + 1;
		else {
			mem->last[tier] = mid;
			return &s[mid];
		}
	}
	return NULL;
}

const struct gci_segment *gci_memory_find(struct gci_memory *mem, uint64_t address,
					  enum gci_tier tier)
{
	return tier_find(mem, tier, address);
}

/*
 * Where the primary tier next has bytes at or after address: the end of the
 * segment p holding address, or the start of the next segment.
 */
static uint64_t next_primary(struct gci_memory *mem, uint64_t address,
			     const struct gci_segment *p)
{
	if (p)
		return p->end;
	const struct gci_segment *s = mem->segs[GCI_TIER_PRIMARY];
	size_t lo = 0, hi = mem->nsegs[GCI_TIER_PRIMARY];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s[mid].start <= address)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mem->nsegs[GCI_TIER_PRIMARY] ? s[lo].start : UINT64_MAX;
}

/* How many bytes from address on one segment serves (0: none). */
static uint64_t readable_run(struct gci_memory *mem, uint64_t address)
{
	const struct gci_segment *p = tier_find(mem, GCI_TIER_PRIMARY, address);
	if (p && address < p->saved_end)
		return p->saved_end - address;
	const struct gci_segment *f = tier_find(mem, GCI_TIER_FALLBACK, address);
	if (f && address < f->saved_end) {
		uint64_t avail = f->saved_end - address;
		uint64_t next = next_primary(mem, address, p);
		return next - address < avail ? next - address : avail;
	}
	return 0;
}

/* Read from one segment what it has at address, up to size bytes. */
static struct gci_error *segment_read(const struct gci_segment *s, uint64_t address,
				      void *buf, size_t size)
{
	if (s->buf) {
		memcpy(buf, s->buf + (address - s->start), size);
		return NULL;
	}
	return s->read(s->arg, address, buf, size);
}

struct gci_error *gci_memory_read(struct gci_memory *mem, uint64_t address,
				  void *buf, size_t size)
{
	unsigned char *out = buf;
	uint64_t first = address;
	if (size && address + size - 1 < address)
		return gci_error_at(GCI_ERR_FAULT, address,
				    "read of %zu bytes at 0x%" PRIx64 " wraps around",
				    size, address);
	while (size) {
		const struct gci_segment *p = tier_find(mem, GCI_TIER_PRIMARY, address);
		const struct gci_segment *s = NULL;
		uint64_t avail = 0;
		if (p && address < p->saved_end) {
			s = p;
			avail = p->saved_end - address;
		} else {
			/* The target's memory has no bytes here: try the files. */
			const struct gci_segment *f = tier_find(mem, GCI_TIER_FALLBACK, address);
			if (f && address < f->saved_end) {
				s = f;
				avail = f->saved_end - address;
				/* Stop where primary memory begins again: it
				 * has the bytes itself. */
				uint64_t next = next_primary(mem, address, p);
				if (next - address < avail)
					avail = next - address;
			} else if (p) {
				return gci_error_at(GCI_ERR_FAULT, address,
						    "memory at 0x%" PRIx64 " %s (%s)",
						    address,
						    p->why_unsaved ? p->why_unsaved
								   : "was not saved",
						    p->what ? p->what : "segment");
			} else {
				if (address == first)
					return gci_error_at(GCI_ERR_FAULT, address,
							    "address 0x%" PRIx64 " is not mapped",
							    address);
				return gci_error_at(GCI_ERR_FAULT, address,
						    "address 0x%" PRIx64 " is not mapped "
						    "(reading %zu bytes at 0x%" PRIx64 ")",
						    address, size + (size_t)(address - first),
						    first);
			}
		}
		size_t chunk = avail < size ? (size_t)avail : size;
		struct gci_error *err = segment_read(s, address, out, chunk);
		if (err)
			return err;
		out += chunk;
		address += chunk;
		size -= chunk;
	}
	return NULL;
}

#define DEFINE_READ(name, type)                                                     \
	struct gci_error *name(struct gci_memory *mem, uint64_t a, type *ret)       \
	{                                                                           \
		const unsigned char *p = gci_memory_peek(mem, a, sizeof(type));     \
		type v;                                                             \
		if (p) {                                                            \
			memcpy(&v, p, sizeof(v));                                   \
		} else {                                                            \
			struct gci_error *err = gci_memory_read(mem, a, &v, sizeof(v)); \
			if (err)                                                    \
				return err;                                         \
		}                                                                   \
		*ret = v;                                                           \
		return NULL;                                                        \
	}

DEFINE_READ(gci_read_u8, uint8_t)
DEFINE_READ(gci_read_u32, uint32_t)
DEFINE_READ(gci_read_i32, int32_t)
DEFINE_READ(gci_read_u64, uint64_t)
DEFINE_READ(gci_read_i64, int64_t)

struct gci_error *gci_read_int(struct gci_memory *mem, uint64_t a, size_t size,
			       bool is_signed, int64_t *ret)
{
	unsigned char b[8];
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return gci_error_create(GCI_ERR_OTHER, "unsupported integer size %zu", size);
	struct gci_error *err = gci_memory_read(mem, a, b, size);
	if (err)
		return err;
	uint64_t v = 0;
	for (size_t i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	if (is_signed && size < 8 && (v >> (8 * size - 1)) & 1)
		v |= UINT64_MAX << (8 * size);
	*ret = (int64_t)v;
	return NULL;
}

struct gci_error *gci_read_cstr(struct gci_memory *mem, uint64_t a, size_t max,
				char **ret)
{
	char *s = malloc(max + 1);
	if (!s)
		return &gci_enomem;
	size_t len = 0;
	/* Read in chunks that do not cross a 4 KiB page, so that a string
	 * near the end of a mapping is still readable. */
	while (len <= max) {
		uint64_t at = a + len;
		size_t chunk = 4096 - (size_t)(at & 4095);
		if (chunk > max + 1 - len)
			chunk = max + 1 - len;
		/* Nor past the end of the memory that has the bytes. */
		uint64_t run = readable_run(mem, at);
		if (run && run < chunk)
			chunk = (size_t)run;
		struct gci_error *err = gci_memory_read(mem, at, s + len, chunk);
		if (err) {
			free(s);
			return err;
		}
		char *nul = memchr(s + len, '\0', chunk);
		if (nul) {
			*ret = s;
			return NULL;
		}
		len += chunk;
	}
	free(s);
	return gci_error_at(GCI_ERR_INTEGRITY, a,
			    "string at 0x%" PRIx64 " is longer than %zu bytes", a, max);
}
