/* The block cache: direct-mapped, with a readable-page mask per block. */
#include <stdlib.h>
#include <string.h>

#include "blockcache.h"
#include "error.h"

#define PAGES_PER_BLOCK (GCI_BLOCK_SIZE / 4096)

struct block {
	uint64_t number;       /* block address >> GCI_BLOCK_SHIFT, plus one */
	uint32_t readable;     /* bit i: page i could be read */
	unsigned char *data;
};

struct gci_block_cache {
	struct gci_memory *mem;
	gci_block_read_fn *read;
	void *arg;
	struct block *blocks;
	size_t nblocks;        /* a power of two */
	uint64_t reads;
	gci_block_take_fn *take;
	bool tracing;
	uint64_t *trace;       /* block numbers loaded, in order */
	size_t ntrace, captrace;
};

struct gci_block_cache *gci_block_cache_create(struct gci_memory *mem,
					       gci_block_read_fn *read, void *arg,
					       size_t nblocks)
{
	struct gci_block_cache *c = calloc(1, sizeof(*c));
	size_t n = 1;
	while (n < nblocks)
		n *= 2;
	if (!c || !(c->blocks = calloc(n, sizeof(*c->blocks)))) {
		free(c);
		return NULL;
	}
	c->mem = mem;
	c->read = read;
	c->arg = arg;
	c->nblocks = n;
	return c;
}

void gci_block_cache_destroy(struct gci_block_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nblocks; i++)
		free(c->blocks[i].data);
	free(c->blocks);
	free(c->trace);
	free(c);
}

void gci_block_cache_set_take(struct gci_block_cache *c, gci_block_take_fn *take)
{
	c->take = take;
}

void gci_block_cache_trace(struct gci_block_cache *c, bool on)
{
	c->tracing = on;
	c->ntrace = 0;
}

void gci_block_cache_trace_reset(struct gci_block_cache *c)
{
	c->ntrace = 0;
}

size_t gci_block_cache_traced(const struct gci_block_cache *c, const uint64_t **ret)
{
	*ret = c->trace;
	return c->ntrace;
}

static void trace_add(struct gci_block_cache *c, uint64_t number)
{
	if (c->ntrace == c->captrace) {
		if (c->captrace >= GCI_BLOCK_TRACE_MAX)
			return;
		size_t cap = c->captrace ? 2 * c->captrace : 4096;
		uint64_t *t = gci_reallocarray(c->trace, cap, sizeof(*t));
		if (!t)
			return;  /* a shorter trace: only a hint */
		c->trace = t;
		c->captrace = cap;
	}
	c->trace[c->ntrace++] = number;
}

void gci_block_cache_invalidate(struct gci_block_cache *c)
{
	for (size_t i = 0; i < c->nblocks; i++)
		c->blocks[i].number = 0;
	c->mem->win = NULL;
	c->mem->win_start = c->mem->win_end = 0;
}

static struct block *block_load(struct gci_block_cache *c, uint64_t number)
{
	struct block *b = &c->blocks[(number * 0x9e3779b97f4a7c15ULL >> 40) & (c->nblocks - 1)];
	if (b->number == number + 1)
		return b;
	if (!b->data && !(b->data = malloc(GCI_BLOCK_SIZE)))
		return NULL;
	/* The buffer is about to hold another block: the peek window must
	 * not go on claiming it for the old addresses. */
	if (c->mem->win == b->data) {
		c->mem->win = NULL;
		c->mem->win_start = c->mem->win_end = 0;
	}
	uint64_t base = number << GCI_BLOCK_SHIFT;
	b->number = number + 1;
	b->readable = 0;
	if (c->tracing)
		trace_add(c, number);
	if (c->take) {
		const struct gci_segment *seg = gci_memory_find(c->mem, base, GCI_TIER_PRIMARY);
		if (seg && seg->end - base >= GCI_BLOCK_SIZE && c->take(c->arg, base, &b->data)) {
			c->reads++;
			b->readable = (uint32_t)((1ULL << PAGES_PER_BLOCK) - 1);
			return b;
		}
	}
	/* Read each run of pages the address space maps, in one call; a run
	 * that still fails is tried page by page. */
	unsigned i = 0;
	while (i < PAGES_PER_BLOCK) {
		uint64_t page = base + i * 4096ULL;
		const struct gci_segment *seg = gci_memory_find(c->mem, page, GCI_TIER_PRIMARY);
		if (!seg) {
			i++;
			continue;
		}
		unsigned end = i + 1;
		while (end < PAGES_PER_BLOCK && base + end * 4096ULL < seg->end)
			end++;
		c->reads++;
		if (c->read(c->arg, page, b->data + i * 4096, (end - i) * 4096) == 0) {
			for (unsigned j = i; j < end; j++)
				b->readable |= 1u << j;
		} else {
			for (unsigned j = i; j < end; j++) {
				c->reads++;
				if (c->read(c->arg, base + j * 4096ULL, b->data + j * 4096, 4096) == 0)
					b->readable |= 1u << j;
			}
		}
		i = end;
	}
	return b;
}

struct gci_error *gci_block_cache_read(void *arg, uint64_t address, void *buf,
				       size_t size)
{
	struct gci_block_cache *c = arg;
	unsigned char *out = buf;
	while (size) {
		uint64_t number = address >> GCI_BLOCK_SHIFT;
		struct block *b = block_load(c, number);
		if (!b)
			return &gci_enomem;
		uint64_t base = number << GCI_BLOCK_SHIFT;
		size_t off = (size_t)(address - base);
		size_t chunk = GCI_BLOCK_SIZE - off;
		if (chunk > size)
			chunk = size;
		for (size_t p = off / 4096; p <= (off + chunk - 1) / 4096; p++) {
			if (!(b->readable & (1u << p))) {
				uint64_t bad = base + p * 4096 > address ? base + p * 4096 : address;
				return gci_error_at(GCI_ERR_FAULT, bad,
						    "memory at 0x%" PRIx64 " cannot be read", bad);
			}
		}
		memcpy(out, b->data + off, chunk);
		if (b->readable == (uint32_t)((1ULL << PAGES_PER_BLOCK) - 1)) {
			c->mem->win = b->data;
			c->mem->win_start = base;
			c->mem->win_end = base + GCI_BLOCK_SIZE;
		}
		out += chunk;
		address += chunk;
		size -= chunk;
	}
	return NULL;
}
