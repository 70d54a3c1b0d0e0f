/* Page sets: chunked bitmaps in an open-addressing table. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pageset.h"

void gci_pageset_init(struct gci_pageset *ps)
{
	memset(ps, 0, sizeof(*ps));
}

void gci_pageset_deinit(struct gci_pageset *ps)
{
	free(ps->chunks);
	memset(ps, 0, sizeof(*ps));
}

static size_t chunk_hash(uint64_t key)
{
	key *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(key >> 20);
}

static struct gci_pageset_chunk *slot_for(struct gci_pageset_chunk *t, size_t cap,
					  uint64_t key)
{
	size_t i = chunk_hash(key) & (cap - 1);
	while (t[i].key && t[i].key != key)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static bool grow(struct gci_pageset *ps)
{
	size_t cap = ps->cap ? ps->cap * 2 : 16;
	struct gci_pageset_chunk *t = calloc(cap, sizeof(*t));
	if (!t)
		return false;
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->chunks[i].key)
			*slot_for(t, cap, ps->chunks[i].key) = ps->chunks[i];
	free(ps->chunks);
	ps->chunks = t;
	ps->cap = cap;
	ps->last = NULL;
	ps->last_key = 0;
	return true;
}

static struct gci_pageset_chunk *chunk_get(struct gci_pageset *ps, uint64_t key)
{
	if (ps->last && ps->last_key == key)
		return ps->last;
	if ((ps->used + 1) * 2 > ps->cap && !grow(ps))
		return NULL;
	struct gci_pageset_chunk *c = slot_for(ps->chunks, ps->cap, key);
	if (!c->key) {
		c->key = key;
		ps->used++;
	}
	ps->last = c;
	ps->last_key = key;
	return c;
}

bool gci_pageset_add_range(struct gci_pageset *ps, uint64_t address, uint64_t size)
{
	if (!size)
		return true;
	uint64_t first = address >> GCI_PAGE_SHIFT;
	uint64_t last = (address + size - 1) >> GCI_PAGE_SHIFT;
	for (uint64_t p = first; p <= last; p++) {
		struct gci_pageset_chunk *c = chunk_get(ps, (p >> 12) + 1);
		if (!c)
			return false;
		uint64_t bit = p & (GCI_CHUNK_PAGES - 1);
		c->bits[bit / 64] |= 1ULL << (bit % 64);
		if (p == UINT64_MAX)
			break;
	}
	return true;
}

uint64_t gci_pageset_count(const struct gci_pageset *ps)
{
	uint64_t n = 0;
	for (size_t i = 0; i < ps->cap; i++) {
		if (!ps->chunks[i].key)
			continue;
		for (size_t w = 0; w < GCI_CHUNK_PAGES / 64; w++)
			n += (uint64_t)__builtin_popcountll(ps->chunks[i].bits[w]);
	}
	return n;
}

static const struct gci_pageset_chunk *chunk_find(const struct gci_pageset *ps, uint64_t key)
{
	if (!ps->cap)
		return NULL;
	const struct gci_pageset_chunk *c = slot_for(ps->chunks, ps->cap, key);
	return c->key ? c : NULL;
}

bool gci_pageset_merge(struct gci_pageset *dst, const struct gci_pageset *src)
{
	for (size_t i = 0; i < src->cap; i++) {
		const struct gci_pageset_chunk *s = &src->chunks[i];
		if (!s->key)
			continue;
		struct gci_pageset_chunk *d = chunk_get(dst, s->key);
		if (!d)
			return false;
		for (size_t w = 0; w < GCI_CHUNK_PAGES / 64; w++)
			d->bits[w] |= s->bits[w];
	}
	return true;
}

uint64_t gci_pageset_count_and(const struct gci_pageset *a, const struct gci_pageset *b)
{
	uint64_t n = 0;
	for (size_t i = 0; i < a->cap; i++) {
		const struct gci_pageset_chunk *x = &a->chunks[i];
		const struct gci_pageset_chunk *y = x->key ? chunk_find(b, x->key) : NULL;
		if (!y)
			continue;
		for (size_t w = 0; w < GCI_CHUNK_PAGES / 64; w++)
			n += (uint64_t)__builtin_popcountll(x->bits[w] & y->bits[w]);
	}
	return n;
}

bool gci_pageset_has(const struct gci_pageset *ps, uint64_t page)
{
	const struct gci_pageset_chunk *c = chunk_find(ps, (page >> 12) + 1);
	uint64_t bit = page & (GCI_CHUNK_PAGES - 1);
	return c && (c->bits[bit / 64] >> (bit % 64)) & 1;
}

static int u64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

bool gci_pageset_list(const struct gci_pageset *ps, uint64_t **ret, size_t *ret_count)
{
	size_t n = (size_t)gci_pageset_count(ps), k = 0;
	uint64_t *out = malloc((n ? n : 1) * sizeof(*out));
	if (!out)
		return false;
	for (size_t i = 0; i < ps->cap; i++) {
		const struct gci_pageset_chunk *c = &ps->chunks[i];
		if (!c->key)
			continue;
		for (size_t w = 0; w < GCI_CHUNK_PAGES / 64; w++) {
			for (uint64_t bits = c->bits[w]; bits; bits &= bits - 1) {
				unsigned b = (unsigned)__builtin_ctzll(bits);
				out[k++] = ((c->key - 1) << 12) | (w * 64 + b);
			}
		}
	}
	qsort(out, k, sizeof(*out), u64_compare);
	*ret = out;
	*ret_count = k;
	return true;
}
