/*
 * What a worker has copied of its master's memory, and what lives on each
 * copied page.
 *
 * A page of the worker is copied when the worker and the master map the same
 * virtual address, both present, to different physical frames
 * (/proc/PID/pagemap).  Frame numbers are shown to root only (Linux 4.2+);
 * without them a page counts as copied when the worker maps it exclusively
 * while the master has a page there too, which also counts pages the master
 * rewrote after the fork (documented in docs/workers.md).
 *
 * Each copied page gets one cause, the first that fits:
 *   1. it holds a GC head of a tracked object (the worker's walk);
 *   2. it holds the interpreter's GC state;
 *   3. it lies in a pool of CPython's object allocator (pymalloc), found by
 *      the pool header at the pool-aligned address before it, whose fields
 *      must agree with each other (the pool size is data per version);
 *   4. it is malloc's: [heap], a chunk malloc mapped by itself (its header
 *      says IS_MMAPPED and its size), or a thread's malloc heap (64 MiB
 *      aligned, with a heap_info header);
 *   5. it is a thread's stack ([stack], or the mapping holding a thread's
 *      stack pointer from /proc/PID/task/TID/syscall);
 *   6. anything else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blockcache.h"
#include "error.h"
#include "program.h"
#include "server.h"
#include "snapshot.h"
#include "walker.h"

#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_EXCLUSIVE (1ULL << 56)
#define PM_FILE (1ULL << 61)      /* a file page, or shared anonymous memory */
#define PM_SWAPPED (1ULL << 62)
#define PM_PRESENT (1ULL << 63)

#define PAGEMAP_CHUNK 4096               /* entries per read */
#define MAX_SCANNED_PAGES (16ULL << 20)  /* 64 GiB of address space per process */
#define MAX_TYPES_KEPT 20
#define MAX_CHUNK_STEPS 100000

const char *const gci_copy_cause_names[GCI_COPY_NCAUSES] = {
	"gc_objects", "gc_state", "allocator", "malloc", "stacks", "other",
};
const char *const gci_copy_cause_text[GCI_COPY_NCAUSES] = {
	"GC heads of tracked objects", "the GC state",
	"object allocator, no GC head", "malloc heap", "stacks", "other",
};

/*
 * CPython's object allocator (Objects/obmalloc.c, 3.12+
 * Include/internal/pycore_obmalloc.h) on 64-bit builds: the pool and arena
 * sizes and the alignment of its size classes.  3.10 added the radix tree,
 * with which 64-bit builds use 16 KiB pools in 1 MiB arenas.  Measured with
 * sys._debugmallocstats() on pyenv's 3.6.15, 3.7.16, 3.8.18 and 3.9.18
 * (262,144-byte arenas, 4,096-byte pools, 32 size classes) and 3.10.13,
 * 3.11.7 (1,048,576 and 16,384), and read in the headers of 3.12.1 and
 * 3.13.0.  struct pool_header is the same 48 bytes in every version.
 */
static const struct obmalloc_shape {
	uint32_t min_hex;
	uint32_t pool_size, arena_size, alignment;
} obmalloc_shapes[] = {
	{ 0x03060000, 4096, 256 << 10, 16 },
	{ 0x030a0000, 16384, 1 << 20, 16 },
};
#define POOL_OVERHEAD 48
#define SMALL_REQUEST_THRESHOLD 512

static const struct obmalloc_shape *obmalloc_shape(uint32_t version_hex)
{
	const struct obmalloc_shape *s = NULL;
	for (size_t i = 0; i < sizeof(obmalloc_shapes) / sizeof(obmalloc_shapes[0]); i++)
		if (version_hex >= obmalloc_shapes[i].min_hex)
			s = &obmalloc_shapes[i];
	return s;
}

/* ------------------------------------------------------------------ */
/* Mappings */

enum vma_kind { VMA_ANON, VMA_HEAP, VMA_STACK, VMA_FILE, VMA_SPECIAL };

struct vma {
	uint64_t start, end;
	bool rw_private;
	enum vma_kind kind;
	bool malloc;       /* a thread's malloc heap, as a whole */
};

static struct gci_error *read_vmas(int pid, struct vma **ret, size_t *ret_n)
{
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	char *text = gci_proc_read(path, &len);
	if (!text)
		return gci_error_create(GCI_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
	size_t n = 0, cap = 0;
	struct vma *v = NULL;
	struct gci_error *err = NULL;
	for (char *cur = text, *line; (line = gci_proc_next_line(&cur));) {
		unsigned long long start, end;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &start, &end, perms, &name_at) < 3 ||
		    end <= start || strlen(perms) < 4)
			continue;
		const char *name = name_at ? line + name_at : "";
		if (n == cap) {
			struct vma *nv = gci_reallocarray(v, cap = cap ? 2 * cap : 256, sizeof(*nv));
			if (!nv) {
				err = &gci_enomem;
				break;
			}
			v = nv;
		}
		struct vma *m = &v[n++];
		memset(m, 0, sizeof(*m));
		m->start = start;
		m->end = end;
		m->rw_private = perms[0] == 'r' && perms[1] == 'w' && perms[3] == 'p';
		if (!*name)
			m->kind = VMA_ANON;
		else if (!strcmp(name, "[heap]"))
			m->kind = VMA_HEAP;
		else if (!strncmp(name, "[stack", 6))
			m->kind = VMA_STACK;
		else if (name[0] == '/')
			m->kind = VMA_FILE;
		else
			m->kind = VMA_SPECIAL;  /* [vdso], [vvar], memfd:, [anon:...] */
		if (m->kind == VMA_SPECIAL && !strncmp(name, "[anon:", 6))
			m->kind = VMA_ANON;
		if (m->kind == VMA_SPECIAL)
			m->rw_private = false;
	}
	free(text);
	if (err) {
		free(v);
		return err;
	}
	*ret = v;
	*ret_n = n;
	return NULL;
}

static int open_pagemap(int pid, struct gci_error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		*err = gci_error_create(GCI_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

/* n entries from page first on; a short read (the mapping went away) is zeros. */
static struct gci_error *pagemap_read(int fd, int pid, uint64_t first, size_t n, uint64_t *buf)
{
	ssize_t r = pread(fd, buf, n * 8, (off_t)(first * 8));
	if (r < 0)
		return gci_error_create(GCI_ERR_INPUT, "reading /proc/%d/pagemap at page 0x%"
					PRIx64 ": %s", pid, first << 12, strerror(errno));
	size_t got = (size_t)r / 8;
	memset(buf + got, 0, (n - got) * 8);
	return NULL;
}

/*
 * The shared zero page (and the huge zero page): what an anonymous page
 * that was read but never written maps to, in every process at once.  Two
 * processes that never shared anything map it at the same addresses, so it
 * is no evidence of a fork, and it holds no data to copy: such pages count
 * as absent.  Their frame numbers come from reading fresh pages of our own.
 */
static uint64_t zero_pfn, huge_zero_pfn;
static pthread_once_t zero_once = PTHREAD_ONCE_INIT;

static uint64_t self_pfn(const volatile char *p)
{
	(void)*p;  /* a read fault: maps the zero page */
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	if (fd >= 0) {
		if (pread(fd, &e, 8, (off_t)((uintptr_t)p / 4096 * 8)) != 8)
			e = 0;
		close(fd);
	}
	return (e & PM_PRESENT) ? e & PM_PFN_MASK : 0;
}

static void find_zero_pages_once(void)
{
	char *small = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (small != MAP_FAILED) {
		zero_pfn = self_pfn(small);
		munmap(small, 4096);
	}
#ifdef MADV_HUGEPAGE
	size_t len = 4 << 20;
	char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return;
	char *huge = (char *)(((uintptr_t)m + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	madvise(huge, 2 << 20, MADV_HUGEPAGE);
	uint64_t h = self_pfn(huge);
	if (h && h != zero_pfn)
		huge_zero_pfn = h & ~511ULL;
	munmap(m, len);
#endif
}

static void find_zero_pages(void)
{
	pthread_once(&zero_once, find_zero_pages_once);
}

/*
 * A present page of private anonymous memory: what a fork shares and a
 * write copies.  A private file mapping's page that nobody wrote is still
 * the file's page in the page cache, the same frame in every process that
 * maps the file, forked or not: it is neither evidence nor a copy.
 */
static bool present(uint64_t e)
{
	if (!(e & PM_PRESENT) || (e & (PM_SWAPPED | PM_FILE)))
		return false;
	uint64_t pfn = e & PM_PFN_MASK;
	return !pfn || (pfn != zero_pfn && (!huge_zero_pfn || (pfn & ~511ULL) != huge_zero_pfn));
}

/* ------------------------------------------------------------------ */
/* The master's pages */

struct gci_master_pages {
	int pid;
	size_t n, cap;
	uint64_t *pages;    /* page numbers, ascending */
	uint64_t *entries;  /* their pagemap entries */
	bool frames;        /* frame numbers readable */
};

void gci_master_pages_destroy(struct gci_master_pages *mp)
{
	if (!mp)
		return;
	free(mp->pages);
	free(mp->entries);
	free(mp);
}

static bool mp_append(struct gci_master_pages *mp, uint64_t page, uint64_t entry)
{
	if (mp->n == mp->cap) {
		size_t cap = mp->cap ? 2 * mp->cap : 65536;
		uint64_t *p = gci_reallocarray(mp->pages, cap, 8);
		if (!p)
			return false;
		mp->pages = p;
		uint64_t *e = gci_reallocarray(mp->entries, cap, 8);
		if (!e)
			return false;
		mp->entries = e;
		mp->cap = cap;
	}
	mp->pages[mp->n] = page;
	mp->entries[mp->n++] = entry;
	return true;
}

struct gci_error *gci_master_pages_read(int pid, struct gci_master_pages **ret,
					uint64_t *ret_present, bool *ret_frames)
{
	struct vma *v;
	size_t nv;
	find_zero_pages();
	struct gci_error *err = read_vmas(pid, &v, &nv);
	if (err)
		return err;
	int fd = open_pagemap(pid, &err);
	if (fd < 0) {
		free(v);
		return err;
	}
	struct gci_master_pages *mp = calloc(1, sizeof(*mp));
	uint64_t *buf = malloc(PAGEMAP_CHUNK * 8);
	if (!mp || !buf) {
		err = &gci_enomem;
		goto out;
	}
	mp->pid = pid;
	uint64_t scanned = 0;
	for (size_t i = 0; i < nv && !err; i++) {
		if (!v[i].rw_private)
			continue;
		uint64_t first = v[i].start >> 12, last = v[i].end >> 12;
		for (uint64_t p = first; p < last && !err && scanned < MAX_SCANNED_PAGES;) {
			size_t k = last - p < PAGEMAP_CHUNK ? (size_t)(last - p) : PAGEMAP_CHUNK;
			if ((err = pagemap_read(fd, pid, p, k, buf)))
				break;
			for (size_t j = 0; j < k; j++) {
				if (!present(buf[j]))
					continue;
				if (buf[j] & PM_PFN_MASK)
					mp->frames = true;
				if (!mp_append(mp, p + j, buf[j])) {
					err = &gci_enomem;
					break;
				}
			}
			p += k;
			scanned += k;
		}
	}
out:
	free(buf);
	free(v);
	close(fd);
	if (err) {
		gci_master_pages_destroy(mp);
		return err;
	}
	*ret = mp;
	*ret_present = mp->n;
	*ret_frames = mp->frames;
	return NULL;
}

/* The first index in [lo, hi) of pages whose page is not below page. */
static size_t lower_bound(const uint64_t *pages, size_t lo, size_t hi, uint64_t page)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pages[mid] < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The master's entry for page, or 0.  Lookups in rising order are cheap:
 * from *cursor, a gallop forward; behind it, a search from the start. */
static uint64_t mp_lookup(const struct gci_master_pages *mp, uint64_t page, size_t *cursor)
{
	size_t i = *cursor;
	if (i < mp->n && mp->pages[i] > page) {
		i = lower_bound(mp->pages, 0, i, page);
	} else {
		size_t step = 1;
		while (i + step < mp->n && mp->pages[i + step] < page)
			step *= 2;
		i = lower_bound(mp->pages, i, i + step < mp->n ? i + step : mp->n, page);
	}
	*cursor = i;
	return i < mp->n && mp->pages[i] == page ? mp->entries[i] : 0;
}

static bool same_page(const struct gci_master_pages *mp, uint64_t worker, uint64_t master)
{
	if (mp->frames)
		return (worker & PM_PFN_MASK) == (master & PM_PFN_MASK);
	return !(worker & PM_EXCLUSIVE);
}

struct gci_error *gci_master_pages_shared_with(const struct gci_master_pages *mp, int pid,
					       bool *ret)
{
	struct vma *v;
	size_t nv;
	*ret = false;
	struct gci_error *err = read_vmas(pid, &v, &nv);
	if (err)
		return err;
	int fd = open_pagemap(pid, &err);
	uint64_t *buf = fd >= 0 ? malloc(PAGEMAP_CHUNK * 8) : NULL;
	if (fd >= 0 && !buf)
		err = &gci_enomem;
	size_t cursor = 0;
	uint64_t scanned = 0;
	for (size_t i = 0; i < nv && !err && !*ret; i++) {
		if (!v[i].rw_private)
			continue;
		uint64_t first = v[i].start >> 12, last = v[i].end >> 12;
		for (uint64_t p = first; p < last && !err && !*ret && scanned < MAX_SCANNED_PAGES;) {
			size_t k = last - p < PAGEMAP_CHUNK ? (size_t)(last - p) : PAGEMAP_CHUNK;
			if ((err = pagemap_read(fd, pid, p, k, buf)))
				break;
			for (size_t j = 0; j < k && !*ret; j++) {
				if (!present(buf[j]))
					continue;
				uint64_t m = mp_lookup(mp, p + j, &cursor);
				*ret = m && same_page(mp, buf[j], m);
			}
			p += k;
			scanned += k;
		}
	}
	free(buf);
	free(v);
	if (fd >= 0)
		close(fd);
	return err;
}

/* ------------------------------------------------------------------ */
/* Shapes in the worker's memory */

struct range {
	uint64_t start, end;
};

struct shapes {
	struct gci_memory *mem;
	const struct obmalloc_shape *ob;
	uint64_t last_pool;      /* cache: pool address + 1, and the answer */
	bool last_pool_ok;
	struct range *malloc_ranges;
	size_t nmalloc, capmalloc;
	uint64_t *sps;           /* threads' stack pointers */
	size_t nsps;
};

/* Whether a valid pymalloc pool header sits at pool. */
static bool pool_header_at(struct shapes *sh, uint64_t pool)
{
	if (!sh->ob)
		return false;
	if (sh->last_pool == pool + 1)
		return sh->last_pool_ok;
	unsigned char h[POOL_OVERHEAD];
	bool ok = false;
	struct gci_error *err = gci_memory_read(sh->mem, pool, h, sizeof(h));
	if (!err) {
		uint64_t ref, freeblock, nextpool, prevpool;
		uint32_t szidx, nextoffset, maxnextoffset;
		memcpy(&ref, h, 8);
		memcpy(&freeblock, h + 8, 8);
		memcpy(&nextpool, h + 16, 8);
		memcpy(&prevpool, h + 24, 8);
		memcpy(&szidx, h + 36, 4);
		memcpy(&nextoffset, h + 40, 4);
		memcpy(&maxnextoffset, h + 44, 4);
		uint32_t count = (uint32_t)ref;
		uint32_t psize = sh->ob->pool_size, align = sh->ob->alignment;
		if (szidx < SMALL_REQUEST_THRESHOLD / align) {
			uint32_t size = (szidx + 1) * align;
			ok = maxnextoffset == psize - size &&
			     nextoffset >= POOL_OVERHEAD + size &&
			     nextoffset <= maxnextoffset + size &&
			     (nextoffset - POOL_OVERHEAD) % size == 0 &&
			     count <= (psize - POOL_OVERHEAD) / size &&
			     nextpool && prevpool && !(nextpool & 7) && !(prevpool & 7) &&
			     (!freeblock || (freeblock >= pool + POOL_OVERHEAD &&
					     freeblock < pool + psize));
		}
	} else {
		gci_error_destroy(err);
	}
	sh->last_pool = pool + 1;
	sh->last_pool_ok = ok;
	return ok;
}

static bool add_malloc_range(struct shapes *sh, uint64_t start, uint64_t end)
{
	if (sh->nmalloc == sh->capmalloc) {
		size_t cap = sh->capmalloc ? 2 * sh->capmalloc : 64;
		struct range *r = gci_reallocarray(sh->malloc_ranges, cap, sizeof(*r));
		if (!r)
			return false;
		sh->malloc_ranges = r;
		sh->capmalloc = cap;
	}
	sh->malloc_ranges[sh->nmalloc++] = (struct range){ start, end };
	return true;
}

#define HEAP_MAX_SIZE (64ULL << 20)   /* glibc 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX */

/*
 * An anonymous mapping, as glibc and pymalloc fill it: a thread's malloc
 * heap (64 MiB aligned, starting with heap_info), or a run of chunks that
 * malloc mapped by itself (each headed by prev_size and size | IS_MMAPPED)
 * and pymalloc arenas (a pool header at the first pool boundary), which
 * the kernel merges into one mapping when they are adjacent.
 */
static bool classify_anon(struct shapes *sh, struct vma *m, uint64_t *steps)
{
	uint64_t w[4];
	struct gci_error *err;
	if (!(m->start & (HEAP_MAX_SIZE - 1))) {
		/* heap_info: ar_ptr, prev, size, mprotect_size */
		if ((err = gci_memory_read(sh->mem, m->start, w, sizeof(w)))) {
			gci_error_destroy(err);
		} else if (w[0] && !(w[0] & 7) && w[2] >= 4096 && w[2] <= HEAP_MAX_SIZE &&
			   w[3] >= w[2] && w[3] <= HEAP_MAX_SIZE && !(w[2] & 4095)) {
			m->malloc = true;
			return true;
		}
	}
	uint64_t a = m->start;
	while (a < m->end && *steps < MAX_CHUNK_STEPS) {
		(*steps)++;
		if ((err = gci_memory_read(sh->mem, a, w, 16))) {
			gci_error_destroy(err);
			break;
		}
		uint64_t csize = w[1] & ~7ULL;
		if ((w[1] & 7) == 2 && csize && !(csize & 4095) && csize <= m->end - a &&
		    w[0] < csize && !(w[0] & 15)) {
			if (!add_malloc_range(sh, a, a + csize))
				return false;
			a += csize;
			continue;
		}
		uint64_t ps = sh->ob ? sh->ob->pool_size : 0;
		uint64_t first_pool = ps ? (a + ps - 1) & ~(ps - 1) : 0;
		if (ps && first_pool < m->end && pool_header_at(sh, first_pool)) {
			a += sh->ob->arena_size;
			continue;
		}
		break;
	}
	return true;
}

static bool in_malloc_range(const struct shapes *sh, uint64_t addr)
{
	size_t lo = 0, hi = sh->nmalloc;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sh->malloc_ranges[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sh->nmalloc && sh->malloc_ranges[lo].start <= addr;
}

static int range_compare(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Each thread's stack pointer, from /proc/PID/task/TID/syscall (a thread
 * blocked in a system call, as idle workers are; a running one says so). */
static void read_stack_pointers(int pid, struct shapes *sh)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) && sh->nsps < 65536) {
		int tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		char p[96];
		size_t len;
		snprintf(p, sizeof(p), "/proc/%d/task/%d/syscall", pid, tid);
		char *text = gci_proc_read(p, &len);
		if (!text)
			continue;
		/* "NR ARG1 .. ARG6 SP PC" or "-1 SP PC": SP is the next to last */
		char *words[16];
		size_t nw = 0;
		for (char *tok = strtok(text, " \n"); tok && nw < 16; tok = strtok(NULL, " \n"))
			words[nw++] = tok;
		if (nw >= 3 && !strncmp(words[nw - 2], "0x", 2)) {
			if (sh->nsps == cap) {
				uint64_t *s = gci_reallocarray(sh->sps, cap = cap ? 2 * cap : 16, 8);
				if (!s) {
					free(text);
					break;
				}
				sh->sps = s;
			}
			sh->sps[sh->nsps++] = strtoull(words[nw - 2], NULL, 16);
		}
		free(text);
	}
	closedir(d);
}

/* ------------------------------------------------------------------ */
/* The comparison */

void gci_copied_deinit(struct gci_copied *c)
{
	for (size_t i = 0; i < c->nlists; i++)
		free(c->lists[i].name);
	for (size_t i = 0; i < c->ntypes; i++)
		free(c->types[i].name);
	free(c->types);
	memset(c, 0, sizeof(*c));
}

static int count_compare(const void *a, const void *b)
{
	const struct gci_copied_count *x = a, *y = b;
	if (x->pages != y->pages)
		return x->pages > y->pages ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int type_name_compare(const void *a, const void *b, void *arg)
{
	const struct gci_type *types = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(types[x].name, types[y].name);
	return c ? c : (x < y ? -1 : x > y);
}

/* Per list and per type: how many copied GC pages hold their heads. */
static struct gci_error *attribute_gc(const struct gci_snapshot *snap,
				      const struct gci_pageset *cgc, struct gci_copied *c)
{
	const struct gci_interp *in0 = &snap->interps[0];
	const struct gci_gen *gen;
	struct gci_pageset u, young;
	gci_pageset_init(&u);
	gci_pageset_init(&young);
	bool ok = true;
	for (size_t g = 0; ok && (gen = gci_interp_list(in0, g)); g++) {
		gci_pageset_deinit(&u);
		gci_pageset_init(&u);
		for (size_t i = 0; ok && i < snap->ninterps; i++) {
			const struct gci_gen *l = gci_interp_list(&snap->interps[i], g);
			if (l && l->data)
				ok = gci_pageset_merge(&u, &l->data->pages) &&
				     (g >= in0->ngens || gci_pageset_merge(&young, &l->data->pages));
		}
		if (!ok)
			break;
		c->lists[c->nlists].name = strdup(gen->name);
		if (!c->lists[c->nlists].name)
			ok = false;
		else
			c->lists[c->nlists++].pages = gci_pageset_count_and(&u, cgc);
	}
	if (ok)
		c->young_heads_pages = gci_pageset_count_and(&young, cgc);
	gci_pageset_deinit(&young);
	if (!ok || !gci_pageset_count(cgc) || !in0->gens[0].data ||
	    !in0->gens[0].data->type_pages) {
		gci_pageset_deinit(&u);
		return ok ? NULL : &gci_enomem;
	}
	/* Types by name: two types of one name (a class defined twice) are
	 * one row, their pages counted once. */
	struct gci_copied_count *all = calloc(snap->ntypes ? snap->ntypes : 1, sizeof(*all));
	size_t *order = calloc(snap->ntypes ? snap->ntypes : 1, sizeof(*order));
	size_t n = 0;
	ok = all && order;
	for (size_t t = 0; ok && t < snap->ntypes; t++)
		order[t] = t;
	if (ok)
		qsort_r(order, snap->ntypes, sizeof(*order), type_name_compare, snap->types);
	for (size_t i = 0; ok && i < snap->ntypes;) {
		size_t j = i;
		gci_pageset_deinit(&u);
		gci_pageset_init(&u);
		bool any = false;
		for (; ok && j < snap->ntypes &&
		       !strcmp(snap->types[order[j]].name, snap->types[order[i]].name); j++) {
			size_t t = order[j];
			for (size_t k = 0; ok && k < snap->ninterps; k++)
				for (size_t g = 0; ok && (gen = gci_interp_list(&snap->interps[k], g)); g++) {
					const struct gci_gen_data *d = gen->data;
					if (!d || !d->type_pages || t >= d->type_cap || !d->type_objects[t])
						continue;
					any = true;
					ok = gci_pageset_merge(&u, &d->type_pages[t]);
				}
		}
		uint64_t k = any && ok ? gci_pageset_count_and(&u, cgc) : 0;
		if (k)
			all[n++] = (struct gci_copied_count){ snap->types[order[i]].name, k };
		i = j;
	}
	free(order);
	gci_pageset_deinit(&u);
	if (!ok) {
		free(all);
		return &gci_enomem;
	}
	qsort(all, n, sizeof(*all), count_compare);
	size_t keep = n < MAX_TYPES_KEPT ? n : MAX_TYPES_KEPT;
	for (size_t i = 0; i < keep; i++)
		if (!(all[i].name = strdup(all[i].name))) {
			for (size_t j = 0; j < i; j++)
				free(all[j].name);
			free(all);
			return &gci_enomem;
		}
	c->types = all;
	c->ntypes = keep;
	return NULL;
}

struct gci_error *gci_copied_compute(const struct gci_master_pages *mp,
				     const struct gci_snapshot *snap, struct gci_copied *ret)
{
	struct gci_program *prog = snap->prog;
	int pid = prog->pid;
	struct gci_copied c;
	memset(&c, 0, sizeof(c));
	c.method = mp->frames ? "frames" : "exclusive";
	struct shapes sh = { .mem = &prog->mem, .ob = obmalloc_shape(snap->version_hex) };
	struct vma *v = NULL;
	size_t nv = 0;
	struct gci_pageset gc_all, cgc;
	gci_pageset_init(&gc_all);
	gci_pageset_init(&cgc);
	uint64_t *buf = NULL;
	int fd = -1;
	struct gci_error *err = read_vmas(pid, &v, &nv);
	if (err)
		goto out;
	/* The worker ran since the walk: read its memory afresh. */
	if (prog->cache)
		gci_block_cache_invalidate(prog->cache);
	bool ok = true;
	for (size_t i = 0; i < snap->ninterps && ok; i++) {
		const struct gci_gen *gen;
		for (size_t g = 0; ok && (gen = gci_interp_list(&snap->interps[i], g)); g++)
			if (gen->data)
				ok = gci_pageset_merge(&gc_all, &gen->data->pages);
	}
	if (!ok) {
		err = &gci_enomem;
		goto out;
	}
	read_stack_pointers(pid, &sh);
	uint64_t steps = 0;
	for (size_t i = 0; i < nv; i++) {
		if (v[i].rw_private && v[i].kind == VMA_ANON && !classify_anon(&sh, &v[i], &steps)) {
			err = &gci_enomem;
			goto out;
		}
		for (size_t s = 0; s < sh.nsps && v[i].kind != VMA_STACK; s++)
			if (sh.sps[s] >= v[i].start && sh.sps[s] < v[i].end)
				v[i].kind = VMA_STACK;
	}
	if (sh.nmalloc)
		qsort(sh.malloc_ranges, sh.nmalloc, sizeof(*sh.malloc_ranges), range_compare);

	if ((fd = open_pagemap(pid, &err)) < 0)
		goto out;
	if (!(buf = malloc(PAGEMAP_CHUNK * 8))) {
		err = &gci_enomem;
		goto out;
	}
	size_t cursor = 0;
	uint64_t scanned = 0;
	for (size_t i = 0; i < nv && !err; i++) {
		const struct vma *m = &v[i];
		if (!m->rw_private)
			continue;
		uint64_t first = m->start >> 12, last = m->end >> 12;
		for (uint64_t p = first; p < last && !err && scanned < MAX_SCANNED_PAGES;) {
			size_t k = last - p < PAGEMAP_CHUNK ? (size_t)(last - p) : PAGEMAP_CHUNK;
			if ((err = pagemap_read(fd, pid, p, k, buf)))
				break;
			for (size_t j = 0; j < k; j++) {
				if (!present(buf[j]))
					continue;
				uint64_t page = p + j, addr = page << 12;
				uint64_t me = mp_lookup(mp, page, &cursor);
				if (!me) {
					c.own_pages++;
					continue;
				}
				c.compared_pages++;
				if (same_page(mp, buf[j], me)) {
					c.shared_pages++;
					continue;
				}
				c.copied_pages++;
				if (mp->frames && !(buf[j] & PM_EXCLUSIVE))
					c.master_moved_pages++;
				enum gci_copy_cause cause = GCI_COPY_OTHER;
				bool in_state = false;
				for (size_t s = 0; s < snap->ninterps && !in_state; s++) {
					uint64_t a, b;
					gci_snapshot_state_range(snap, &snap->interps[s], &a, &b);
					in_state = addr + 4096 > a && addr < b;
				}
				if (gci_pageset_has(&gc_all, page)) {
					cause = GCI_COPY_GC_OBJECTS;
					if (!gci_pageset_add_range(&cgc, addr, 1)) {
						err = &gci_enomem;
						break;
					}
				} else if (in_state) {
					cause = GCI_COPY_GC_STATE;
				} else if (sh.ob && pool_header_at(&sh, addr & ~((uint64_t)sh.ob->pool_size - 1))) {
					cause = GCI_COPY_ALLOCATOR;
				} else if (m->kind == VMA_HEAP || m->malloc || in_malloc_range(&sh, addr)) {
					cause = GCI_COPY_MALLOC;
				} else if (m->kind == VMA_STACK) {
					cause = GCI_COPY_STACKS;
				}
				c.cause_pages[cause]++;
			}
			p += k;
			scanned += k;
		}
	}
	if (!err)
		err = attribute_gc(snap, &cgc, &c);
	if (!err)
		c.known = true;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(v);
	free(sh.malloc_ranges);
	free(sh.sps);
	gci_pageset_deinit(&gc_all);
	gci_pageset_deinit(&cgc);
	if (err) {
		gci_copied_deinit(&c);
		return err;
	}
	*ret = c;
	return NULL;
}
