/*
 * Live processes: memory through /proc/PID/mem in cached blocks, the
 * mappings from /proc/PID/maps, files through /proc/PID/root, and a brief
 * stop of every thread with PTRACE_SEIZE + PTRACE_INTERRUPT.  Nothing is
 * ever written to the target, and a seized target that loses its tracer
 * (gcinspect killed) is detached by the kernel and runs on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockcache.h"
#include "pageset.h"
#include "program.h"

#define MAX_THREADS 65536

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The state letter of /proc/PID/stat (R, S, Z, ...), and its flags; 0 if gone. */
static char proc_state(int pid, unsigned long *flags)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After the command name, which may hold anything but ends at the
	 * last ')': state ppid pgrp session tty_nr tpgid flags ... */
	char *p = strrchr(buf, ')');
	char state = 0;
	unsigned long fl = 0;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &fl) < 1)
		return 0;
	if (flags)
		*flags = fl;
	return state;
}

/* A numeric field of /proc/PID/status ("TracerPid", "Uid"), or -1. */
static long status_field(int pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static void proc_comm(int pid, char *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)n, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	gci_text_clean(buf);
}

#define PF_KTHREAD_FLAG 0x00200000ul  /* include/linux/sched.h */

/*
 * A process with nothing to read: gone, a zombie, a kernel thread.  Each
 * has its own message (GCI_ERR_NO_PROCESS), or NULL if none applies.
 */
static struct gci_error *no_process(int pid)
{
	unsigned long flags = 0;
	char st = proc_state(pid, &flags);
	if (!st)
		return gci_error_create(GCI_ERR_NO_PROCESS, "no process with pid %d", pid);
	if (st == 'Z' || st == 'X')
		return gci_error_create(GCI_ERR_NO_PROCESS, "pid %d is a zombie: it has exited "
					"and only waits for its parent to collect its status, so "
					"it has no memory left to read", pid);
	if (flags & PF_KTHREAD_FLAG) {
		char comm[32];
		proc_comm(pid, comm, sizeof(comm));
		return gci_error_create(GCI_ERR_NO_PROCESS, "pid %d (%s) is a kernel thread: "
					"it has no user-space memory and runs no Python", pid,
					comm);
	}
	return NULL;
}

/*
 * Why pid cannot be read or stopped (e is the errno of doing), as exactly
 * as /proc tells: each cause its own message, code and advice.
 */
static struct gci_error *access_error(int pid, int e, const char *doing, bool stopping)
{
	struct gci_error *err = no_process(pid);
	if (err || e == ESRCH) {
		if (!err)
			err = gci_error_create(GCI_ERR_NO_PROCESS, "no process with pid %d", pid);
		return err;
	}
	long tracer = status_field(pid, "TracerPid");
	if (stopping && tracer > 0 && e == EPERM) {
		char comm[32];
		proc_comm((int)tracer, comm, sizeof(comm));
		return gci_error_create(GCI_ERR_TRACED, "cannot stop pid %d: it is already "
					"traced by pid %ld (%s), and a process has one tracer: "
					"detach that one (quit the debugger or strace), or read "
					"the process without stopping it (--no-stop)", pid, tracer,
					comm[0] ? comm : "?");
	}
	if (e != EPERM && e != EACCES)
		return gci_error_create(GCI_ERR_INPUT, "%s: %s", doing, strerror(e));
	/* Permission: say which rule refused, as far as /proc shows it. */
	char why[512];
	long uid = status_field(pid, "Uid");
	uid_t me = geteuid();
	char path[64];
	struct stat st;
	/* The files of a process that is not dumpable belong to root. */
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	bool undumpable = stat(path, &st) == 0 && st.st_uid == 0 && uid > 0;
	long cap = -1;
	FILE *f = fopen("/proc/self/status", "re");
	if (f) {
		char line[256];
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "CapEff:", 7))
				cap = (long)((strtoull(line + 7, NULL, 16) >> 19) & 1); /* CAP_SYS_PTRACE */
		fclose(f);
	}
	int scope = -1;
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = -1;
		fclose(f);
	}
	if (undumpable && cap != 1)
		snprintf(why, sizeof(why), "pid %d is not dumpable (it called "
			 "prctl(PR_SET_DUMPABLE, 0), or changed its user or group): only a "
			 "process with CAP_SYS_PTRACE may read it; run gcinspect as root", pid);
	else if (uid >= 0 && (uid_t)uid != me && cap != 1)
		snprintf(why, sizeof(why), "pid %d runs as uid %ld and gcinspect as uid %u: "
			 "run gcinspect as uid %ld or as root", pid, uid, (unsigned)me, uid);
	else if (scope >= 1 && cap != 1)
		snprintf(why, sizeof(why), "/proc/sys/kernel/yama/ptrace_scope is %d (%s): "
			 "run gcinspect as root%s", scope,
			 scope == 1 ? "only a process's ancestors may read it" :
			 scope == 2 ? "only CAP_SYS_PTRACE may read processes" :
			 "no process may be read", scope == 3 ? " (scope 3 refuses root too)" : "");
	else if (cap == 0 && me == 0)
		snprintf(why, sizeof(why), "gcinspect runs as root without CAP_SYS_PTRACE (in "
			 "a container: grant it, e.g. docker run --cap-add SYS_PTRACE)");
	else
		snprintf(why, sizeof(why), "refused by the kernel (a security module such as "
			 "AppArmor or SELinux may forbid ptrace)");
	return gci_error_create(GCI_ERR_ACCESS, "%s: %s: %s", doing, strerror(e), why);
}

/*
 * Reads go through /proc/PID/mem, never process_vm_readv: the latter pins
 * the pages it reads (FOLL_PIN), and since Linux 5.19 a read-only pin of an
 * anonymous page shared after fork() unshares it - copies it - which in a
 * pre-fork worker destroys exactly the sharing gcinspect measures.
 * /proc/PID/mem takes plain page references and leaves sharing alone.
 */
/*
 * Prefetch: while the target is stopped, reader threads read the blocks a
 * hint names (the trace of a walk of a forked twin: the same heap at the
 * same addresses, walked in nearly the same order) into a ring of slots,
 * ahead of the walk, so that the copying the kernel does for
 * /proc/PID/mem overlaps the walk instead of adding to it.  The walk takes
 * a block from the ring when the hint has it just ahead of where the walk
 * last found one and a reader has it ready; otherwise it reads the block
 * itself, at once: the walk never waits for a reader (on a busy machine a
 * reader may not run for a long time).  There is one reader per CPU beside
 * the walk's, at most two.
 *
 * Position p of the hint goes to slot p % PREFETCH_SLOTS.  A reader claims
 * positions in order and reads p only once the walk has passed p -
 * PREFETCH_SLOTS + 1 (consumed), so a slot is never overwritten before its
 * block was taken or skipped; it sleeps on a condition variable until
 * then.  One reader at a time writes a slot (busy): one that the walk gave
 * up waiting for may still be writing it when the next position's turn
 * comes, and then that position is left to the walk.  The readers stop when the walk is done (gci_program_resume),
 * before the target runs again.
 */
#define PREFETCH_SLOTS 256          /* 4 MiB of blocks ahead of the walk */
#define PREFETCH_WINDOW 64          /* how far ahead of the last hit to look */
#define PREFETCH_READERS 2          /* at most: one fewer than the CPUs online */
#define PREFETCH_SPINS 64           /* checks of a slot being read before reading it ourselves */

struct prefetch_slot {
	_Atomic uint64_t tag;       /* position + 1 when data holds it */
	_Atomic bool busy;          /* a reader is writing data */
	unsigned char *data;        /* GCI_BLOCK_SIZE bytes; swapped with the
				     * cache's buffer when the walk takes it */
};

struct gci_prefetch {
	uint64_t *blocks;           /* the hint */
	size_t n;
	/* while running */
	struct prefetch_slot *slots;
	pthread_t threads[PREFETCH_READERS];
	size_t nthreads;
	pthread_mutex_t lock;       /* for the readers' sleep */
	pthread_cond_t moved;       /* consumed advanced, or stop */
	_Atomic size_t next_claim;  /* the next position a reader takes */
	_Atomic size_t consumed;    /* the walk has passed every position below */
	_Atomic bool stop;
	size_t cursor;              /* the walk's: where it last found a block */
	size_t signalled;           /* consumed when the readers were last woken */
	int memfd;
	uint64_t hits, misses, late;
};

static void *prefetch_reader(void *arg)
{
	struct gci_prefetch *pf = arg;
	for (;;) {
		size_t p = atomic_fetch_add(&pf->next_claim, 1);
		if (p >= pf->n)
			return NULL;
		if (p >= atomic_load(&pf->consumed) + PREFETCH_SLOTS) {
			pthread_mutex_lock(&pf->lock);
			while (p >= atomic_load(&pf->consumed) + PREFETCH_SLOTS &&
			       !atomic_load(&pf->stop))
				pthread_cond_wait(&pf->moved, &pf->lock);
			pthread_mutex_unlock(&pf->lock);
		}
		if (atomic_load(&pf->stop))
			return NULL;
		if (p < atomic_load(&pf->consumed))
			continue;  /* the walk is past it */
		struct prefetch_slot *s = &pf->slots[p % PREFETCH_SLOTS];
		/* A reader late with the slot's previous position (the walk
		 * gave up on it) may still be writing it: leave p to the walk. */
		if (atomic_exchange(&s->busy, true))
			continue;
		/* Nor may it overwrite a later position's block, which the walk
		 * may be copying, or read what the walk is past. */
		if (atomic_load_explicit(&s->tag, memory_order_acquire) > p ||
		    p < atomic_load(&pf->consumed)) {
			atomic_store_explicit(&s->busy, false, memory_order_release);
			continue;
		}
		uint64_t address = pf->blocks[p] << GCI_BLOCK_SHIFT;
		if (address <= INT64_MAX - GCI_BLOCK_SIZE &&
		    pread(pf->memfd, s->data, GCI_BLOCK_SIZE, (off_t)address) == (ssize_t)GCI_BLOCK_SIZE)
			atomic_store_explicit(&s->tag, p + 1, memory_order_release);
		atomic_store_explicit(&s->busy, false, memory_order_release);
	}
}

/* The walk passed position p: let the readers go on. */
static void prefetch_consumed(struct gci_prefetch *pf, size_t p)
{
	if (p <= atomic_load(&pf->consumed))
		return;
	atomic_store(&pf->consumed, p);
	if (p - pf->signalled >= 16) {
		pf->signalled = p;
		pthread_mutex_lock(&pf->lock);
		pthread_cond_broadcast(&pf->moved);
		pthread_mutex_unlock(&pf->lock);
	}
}

/* The block at address from the ring, if the hint has it just ahead and a
 * reader has it ready: its buffer and the cache's change places. */
static bool prefetch_take(struct gci_prefetch *pf, uint64_t address, unsigned char **buf)
{
	uint64_t block = address >> GCI_BLOCK_SHIFT;
	size_t end = pf->cursor + PREFETCH_WINDOW < pf->n ? pf->cursor + PREFETCH_WINDOW : pf->n;
	size_t p = pf->cursor;
	while (p < end && pf->blocks[p] != block)
		p++;
	if (p == end) {
		pf->misses++;
		return false;
	}
	pf->cursor = p + 1;
	struct prefetch_slot *s = &pf->slots[p % PREFETCH_SLOTS];
	bool ready = false;
	for (unsigned i = 0; i < PREFETCH_SPINS && !ready; i++)
		ready = atomic_load_explicit(&s->tag, memory_order_acquire) == p + 1;
	if (ready) {
		unsigned char *t = s->data;
		s->data = *buf;
		*buf = t;
	}
	/* Taken or not, the walk is past p (after the swap: the slot may be
	 * read into again from now on). */
	prefetch_consumed(pf, p + 1);
	if (!ready) {
		pf->late++;
		return false;
	}
	pf->hits++;
	return true;
}

static void prefetch_free_slots(struct gci_prefetch *pf)
{
	for (size_t i = 0; i < PREFETCH_SLOTS; i++)
		free(pf->slots[i].data);
	free(pf->slots);
	pf->slots = NULL;
}

static void prefetch_start(struct gci_program *prog)
{
	struct gci_prefetch *pf = prog->prefetch;
	if (!pf || !pf->n || pf->slots)
		return;
	pf->slots = calloc(PREFETCH_SLOTS, sizeof(*pf->slots));
	if (!pf->slots)
		return;
	for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
		if (!(pf->slots[i].data = malloc(GCI_BLOCK_SIZE))) {
			for (size_t j = 0; j < i; j++)
				free(pf->slots[j].data);
			free(pf->slots);
			pf->slots = NULL;
			return;
		}
	}
	if (pthread_mutex_init(&pf->lock, NULL) != 0) {
		prefetch_free_slots(pf);
		return;
	}
	if (pthread_cond_init(&pf->moved, NULL) != 0) {
		pthread_mutex_destroy(&pf->lock);
		prefetch_free_slots(pf);
		return;
	}
	atomic_store(&pf->next_claim, 0);
	atomic_store(&pf->consumed, 0);
	atomic_store(&pf->stop, false);
	pf->cursor = pf->signalled = 0;
	pf->memfd = prog->memfd;
	pf->hits = pf->misses = pf->late = 0;
	/* The walk has a CPU of its own; a reader more than the CPUs left
	 * would only take turns with it. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t readers = cpus > 2 ? (size_t)cpus - 1 : 1;
	if (readers > PREFETCH_READERS)
		readers = PREFETCH_READERS;
	for (size_t i = 0; i < readers; i++)
		if (pthread_create(&pf->threads[pf->nthreads], NULL, prefetch_reader, pf) == 0)
			pf->nthreads++;
}

static void prefetch_stop(struct gci_program *prog)
{
	struct gci_prefetch *pf = prog->prefetch;
	if (!pf || !pf->slots)
		return;
	pthread_mutex_lock(&pf->lock);
	atomic_store(&pf->stop, true);
	pthread_cond_broadcast(&pf->moved);
	pthread_mutex_unlock(&pf->lock);
	for (size_t i = 0; i < pf->nthreads; i++)
		pthread_join(pf->threads[i], NULL);
	pf->nthreads = 0;
	pthread_cond_destroy(&pf->moved);
	pthread_mutex_destroy(&pf->lock);
	gci_log(prog, GCI_LOG_INFO, "pid %d: prefetch: %" PRIu64 " of %zu hinted blocks taken "
		"from the readers, %" PRIu64 " not ready in time, %" PRIu64 " reads not in the "
		"hint", prog->pid, pf->hits, pf->n, pf->late, pf->misses);
	prefetch_free_slots(pf);
}

struct gci_error *gci_program_prefetch_hint(struct gci_program *prog,
					    const uint64_t *blocks, size_t n)
{
	gci_program_prefetch_free(prog);
	if (!n || prog->pid <= 0)
		return NULL;
	struct gci_prefetch *pf = calloc(1, sizeof(*pf));
	if (!pf || !(pf->blocks = gci_reallocarray(NULL, n, sizeof(*blocks)))) {
		free(pf);
		return &gci_enomem;
	}
	memcpy(pf->blocks, blocks, n * sizeof(*blocks));
	pf->n = n;
	prog->prefetch = pf;
	return NULL;
}

void gci_program_prefetch_free(struct gci_program *prog)
{
	if (!prog->prefetch)
		return;
	prefetch_stop(prog);
	free(prog->prefetch->blocks);
	free(prog->prefetch);
	prog->prefetch = NULL;
}

static int mem_read(void *arg, uint64_t address, void *buf, size_t size)
{
	struct gci_program *prog = arg;
	if (address > INT64_MAX)
		return -1;
	ssize_t n = pread(prog->memfd, buf, size, (off_t)address);
	return n == (ssize_t)size ? 0 : -1;
}

/* The block cache's take function: a block from the prefetch ring. */
static bool mem_take(void *arg, uint64_t address, unsigned char **buf)
{
	struct gci_program *prog = arg;
	return prog->prefetch && prog->prefetch->slots &&
	       prefetch_take(prog->prefetch, address, buf);
}

/* All of a text file already open (from its start), NUL-terminated; NULL on failure. */
static char *read_fd_text(int fd, size_t *len)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 8192);
			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
		}
		ssize_t r = read(fd, buf + n, 4096);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

char *gci_proc_read(const char *path, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *text = read_fd_text(fd, ret_len);
	int e = errno;
	close(fd);
	errno = e;
	return text;
}

void gci_program_open_proc(struct gci_program *prog)
{
	char path[64];
	if (prog->pagemap_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/pagemap", prog->proc_pid);
		prog->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
		prog->pagemap_errno = prog->pagemap_fd < 0 ? errno : 0;
	}
	if (prog->smaps_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/smaps", prog->proc_pid);
		prog->smaps_fd = open(path, O_RDONLY | O_CLOEXEC);
		prog->smaps_errno = prog->smaps_fd < 0 ? errno : 0;
	}
}

char *gci_proc_next_line(char **cur)
{
	char *line = *cur;
	if (!*line)
		return NULL;
	char *nl = strchr(line, '\n');
	*cur = nl ? nl + 1 : line + strlen(line);
	if (nl)
		*nl = '\0';
	return line;
}

/* /proc/PID/maps: a primary segment per mapping, a gci_mapping per file. */
static struct gci_error *read_maps(struct gci_program *prog)
{
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/maps", prog->pid);
	char *text = gci_proc_read(path, &len);
	if (!text) {
		char doing[96];
		snprintf(doing, sizeof(doing), "cannot read %s", path);
		return access_error(prog->pid, errno, doing, false);
	}
	size_t cap = 0, n = 0;
	struct gci_mapping *maps = NULL;
	struct gci_error *err = NULL;
	for (char *cur = text, *line; !err && (line = gci_proc_next_line(&cur));) {
		unsigned long long start, end, offset;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset,
			   &name_at) < 4 || end <= start)
			continue;
		const char *name = name_at ? line + name_at : "";
		if (perms[0] != 'r' || !strcmp(name, "[vvar]") || !strcmp(name, "[vsyscall]"))
			continue;  /* not readable through /proc/PID/mem */
		struct gci_segment seg = {
			.start = start, .end = end, .saved_end = end,
			.read = gci_block_cache_read, .arg = prog->cache,
			.what = "live memory",
		};
		if ((err = gci_memory_add(&prog->mem, GCI_TIER_PRIMARY, &seg)))
			break;
		if (name[0] != '/')
			continue;
		if (n == cap) {
			struct gci_mapping *m = gci_reallocarray(maps, cap = cap ? 2 * cap : 64,
								 sizeof(*m));
			if (!m) {
				err = &gci_enomem;
				break;
			}
			maps = m;
		}
		/* A file deleted since it was mapped: its path says so. */
		size_t nl = strlen(name);
		char *p = strndup(name, nl > 10 && !strcmp(name + nl - 10, " (deleted)") ?
				  nl - 10 : nl);
		if (!p) {
			err = &gci_enomem;
			break;
		}
		maps[n++] = (struct gci_mapping){ start, end, offset, p };
	}
	free(text);
	prog->own_maps = maps;
	prog->maps = maps;
	prog->nmaps = n;
	return err;
}

struct gci_error *gci_program_set_proc_pid(struct gci_program *prog, int pid)
{
	/* Files are looked for in the target's own mappings and root too
	 * (candidate_paths); so is detached debug info, unless the caller
	 * named where.  No pid: the debug dir alone, as gci_program_create. */
	char *dp;
	int n;
	if (pid > 0 && !prog->sysroot && prog->debug_dir_default)
		n = asprintf(&dp, ":.debug:/usr/lib/debug:/proc/%d/root/usr/lib/debug", pid);
	else
		n = asprintf(&dp, ":.debug:%s", prog->debug_dir);
	if (n < 0)
		return &gci_enomem;
	free(prog->debuginfo_path);
	prog->debuginfo_path = dp;
	prog->proc_pid = pid > 0 ? pid : 0;
	return NULL;
}

struct gci_error *gci_program_open_pid(int pid, const struct gci_options *opts,
				       struct gci_program **ret)
{
	struct gci_program *prog;
	struct gci_options o = opts ? *opts : (struct gci_options){ 0 };
	char path[64];
	struct gci_error *err = gci_program_create(&o, &prog);
	if (err)
		return err;
	prog->kind = "live";
	prog->pid = pid;
	if ((err = gci_program_set_proc_pid(prog, pid)))
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if (asprintf(&prog->target_path, "pid %d", pid) < 0) {
		prog->target_path = NULL;
		err = &gci_enomem;
		goto fail;
	}
	if ((err = no_process(pid)))
		goto fail;
	prog->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (prog->memfd < 0) {
		int e = errno;
		char doing[96];
		snprintf(doing, sizeof(doing), "cannot open %s", path);
		err = access_error(pid, e, doing, false);
		goto fail;
	}
	prog->cache = gci_block_cache_create(&prog->mem, mem_read, prog, 512);
	if (!prog->cache) {
		err = &gci_enomem;
		goto fail;
	}
	gci_block_cache_set_take(prog->cache, mem_take);
	if ((err = read_maps(prog)))
		goto fail;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	char *comm = gci_proc_read(path, &len);
	if (comm) {
		comm[strcspn(comm, "\n")] = '\0';
		gci_text_clean(comm);
		snprintf(prog->comm, sizeof(prog->comm), "%s", comm);
		free(comm);
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	prog->cmdline = gci_proc_read(path, &len);
	for (size_t i = 0; prog->cmdline && i + 1 < len; i++)
		if (prog->cmdline[i] == '\0')
			prog->cmdline[i] = ' ';
	if (prog->cmdline)
		gci_text_clean(prog->cmdline);
	/* The executable: /proc/PID/exe names it as the target sees it. */
	char exe[4096];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		size_t el = strlen(exe);
		if (el > 10 && !strcmp(exe + el - 10, " (deleted)"))
			exe[el - 10] = '\0';
		prog->exe_core_path = strdup(exe);
	}
	gci_log(prog, GCI_LOG_INFO, "pid %d (%s): %zu file mappings, executable %s", pid,
		prog->comm, prog->nmaps, prog->exe_core_path ? prog->exe_core_path : "?");
	if ((err = gci_program_report_maps(prog)))
		goto fail;
	*ret = prog;
	return NULL;
fail:
	gci_program_destroy(prog);
	return err;
}

static int collect_tids(int pid, int **tids, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	size_t cap = *n;
	struct dirent *e;
	while ((e = readdir(d))) {
		int tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		bool have = false;
		for (size_t i = 0; i < *n && !have; i++)
			have = (*tids)[i] == tid;
		if (have)
			continue;
		if (*n == cap) {
			if (cap >= MAX_THREADS) {
				closedir(d);
				errno = E2BIG;
				return -1;
			}
			int *t = gci_reallocarray(*tids, cap ? 2 * cap : 16, sizeof(int));
			if (!t) {
				closedir(d);
				return -1;
			}
			*tids = t;
			cap = cap ? 2 * cap : 16;
		}
		(*tids)[(*n)++] = tid;
	}
	closedir(d);
	return 0;
}

/*
 * Wait until thread i is stopped.  The interrupt's own stop is an event
 * stop; a signal arriving first stops the thread in signal-delivery-stop
 * instead, and that signal is kept to be delivered at the detach, so that
 * the target loses nothing.  A thread that exits meanwhile is forgotten.
 */
static void wait_stopped(struct gci_program *prog, size_t i)
{
	int tid = prog->tids[i], status;
	for (;;) {
		pid_t r = waitpid(tid, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
			prog->tids[i] = -1;
			return;
		}
		if (WIFSTOPPED(status) && (status >> 16) != PTRACE_EVENT_STOP)
			prog->tid_signals[i] = WSTOPSIG(status);
		return;
	}
}

struct gci_error *gci_program_stop(struct gci_program *prog)
{
	if (prog->pid <= 0)
		return gci_error_create(GCI_ERR_USAGE, "only a live process can be stopped");
	if (prog->tids)
		return NULL;
	prog->stop_start_usec = now_usec();
	size_t seized = 0;
	/* Threads may start while we seize: repeat until none is new. */
	for (int round = 0; round < 100; round++) {
		size_t before = prog->ntids;
		if (collect_tids(prog->pid, &prog->tids, &prog->ntids) < 0) {
			int e = errno;  /* before the detaches change it */
			uint64_t usec;
			gci_program_resume(prog, &usec);
			return gci_error_create(GCI_ERR_INPUT, "cannot list the threads of "
						"pid %d: %s", prog->pid, strerror(e));
		}
		int *sigs = gci_reallocarray(prog->tid_signals, prog->ntids, sizeof(int));
		if (!sigs) {
			uint64_t usec;
			gci_program_resume(prog, &usec);
			return &gci_enomem;
		}
		prog->tid_signals = sigs;
		for (size_t i = seized; i < prog->ntids; i++)
			prog->tid_signals[i] = 0;
		for (size_t i = seized; i < prog->ntids; i++) {
			int tid = prog->tids[i];
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
				int e = errno;
				if (e == ESRCH) {  /* the thread ended meanwhile */
					prog->tids[i] = -1;
					continue;
				}
				prog->ntids = i;
				uint64_t usec;
				gci_program_resume(prog, &usec);
				char doing[96];
				snprintf(doing, sizeof(doing), "cannot stop pid %d (PTRACE_SEIZE "
					 "of thread %d)", prog->pid, tid);
				return access_error(prog->pid, e, doing, true);
			}
			if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0)
				wait_stopped(prog, i);
		}
		seized = prog->ntids;
		if (prog->ntids == before && round > 0)
			break;
	}
	/* What was read before the stop may have changed. */
	gci_block_cache_invalidate(prog->cache);
	gci_block_cache_trace_reset(prog->cache);
	prefetch_start(prog);
	gci_log(prog, GCI_LOG_INFO, "pid %d: stopped %zu thread%s", prog->pid, prog->ntids,
		prog->ntids == 1 ? "" : "s");
	return NULL;
}

struct gci_error *gci_program_resume(struct gci_program *prog, uint64_t *ret_usec)
{
	/* The readers read only a stopped target. */
	prefetch_stop(prog);
	for (size_t i = 0; i < prog->ntids; i++)
		if (prog->tids[i] > 0)
			ptrace(PTRACE_DETACH, prog->tids[i], 0,
			       (void *)(uintptr_t)(prog->tid_signals ? prog->tid_signals[i] : 0));
	*ret_usec = prog->tids ? now_usec() - prog->stop_start_usec : 0;
	if (prog->tids) {
		prog->was_stopped = true;
		prog->stopped_usec = *ret_usec;
	}
	free(prog->tids);
	prog->tids = NULL;
	free(prog->tid_signals);
	prog->tid_signals = NULL;
	prog->ntids = 0;
	return NULL;
}

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_EXCLUSIVE (1ULL << 56)

struct gci_error *gci_program_page_sharing(struct gci_program *prog,
					   const struct gci_pageset *pages,
					   struct gci_pageset *shared,
					   struct gci_pageset *exclusive, uint64_t *absent)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", prog->proc_pid);
	/* Opened before the process confined itself, or now. */
	int fd = prog->pagemap_fd;
	bool own = fd < 0 && !prog->pagemap_errno;
	if (own && prog->proc_pid > 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gci_error_create(GCI_ERR_INPUT, "cannot open %s: %s", path,
					prog->proc_pid <= 0 ? "not a live target" :
					strerror(own ? errno : prog->pagemap_errno));
	uint64_t *list;
	size_t n;
	if (!gci_pageset_list(pages, &list, &n)) {
		if (own)
			close(fd);
		return &gci_enomem;
	}
	struct gci_error *err = NULL;
	/* One read per span of pages whose gaps are short (the pages of GC
	 * heads alternate with pools of other objects): entries are 8 bytes,
	 * a system call costs more than the gap. */
	enum { SPAN = 4096, GAP = 64 };
	uint64_t *buf = malloc(SPAN * sizeof(*buf));
	if (!buf) {
		free(list);
		close(fd);
		return &gci_enomem;
	}
	*absent = 0;
	for (size_t i = 0; i < n && !err;) {
		size_t j = i + 1;
		while (j < n && list[j] - list[i] < SPAN && list[j] - list[j - 1] <= GAP)
			j++;
		size_t span = (size_t)(list[j - 1] - list[i]) + 1;
		ssize_t r = pread(fd, buf, span * 8, (off_t)(list[i] * 8));
		if (r != (ssize_t)(span * 8)) {
			err = gci_error_create(GCI_ERR_INPUT, "reading %s at page 0x%" PRIx64
					       ": %s", path, list[i] << 12,
					       r < 0 ? strerror(errno) : "short read");
			break;
		}
		for (size_t k = i; k < j; k++) {
			uint64_t e = buf[list[k] - list[i]], page = list[k];
			bool ok = true;
			if (!(e & PM_PRESENT) || (e & PM_SWAPPED))
				(*absent)++;
			else if (e & PM_EXCLUSIVE)
				ok = gci_pageset_add_range(exclusive, page << 12, 1);
			else
				ok = gci_pageset_add_range(shared, page << 12, 1);
			if (!ok)
				err = &gci_enomem;
		}
		i = j;
	}
	free(buf);
	free(list);
	if (own)
		close(fd);
	return err;
}

struct gci_error *gci_program_smaps(struct gci_program *prog,
				    const struct gci_pageset *pages,
				    struct gci_smaps *ret)
{
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/smaps", prog->proc_pid);
	/* Opened before the process confined itself, or now. */
	char *text = NULL;
	if (prog->smaps_fd >= 0)
		text = read_fd_text(prog->smaps_fd, &len);
	else if (prog->smaps_errno)
		errno = prog->smaps_errno;
	else if (prog->proc_pid > 0)
		text = gci_proc_read(path, &len);
	if (!text)
		return gci_error_create(GCI_ERR_INPUT, "cannot read %s: %s", path,
					prog->proc_pid > 0 ? strerror(errno) : "not a live target");
	memset(ret, 0, sizeof(*ret));
	/* Whether a mapping holds any of the pages: a binary search in the
	 * sorted list, whatever the mapping's size (reservations of terabytes). */
	uint64_t *list;
	size_t n;
	if (!gci_pageset_list(pages, &list, &n)) {
		free(text);
		return &gci_enomem;
	}
	bool counting = false;
	for (char *cur = text, *line; (line = gci_proc_next_line(&cur));) {
		unsigned long long start, end, kb;
		char key[32];
		if (sscanf(line, "%llx-%llx ", &start, &end) == 2) {
			/* A mapping header: count it if it holds any of pages. */
			size_t lo = 0, hi = n;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (list[mid] < start >> 12)
					lo = mid + 1;
				else
					hi = mid;
			}
			counting = lo < n && list[lo] < end >> 12;
			ret->mappings += counting;
			continue;
		}
		if (!counting || sscanf(line, "%31[^:]: %llu kB", key, &kb) != 2)
			continue;
		if (!strcmp(key, "Rss"))
			ret->rss += kb;
		else if (!strcmp(key, "Shared_Clean"))
			ret->shared_clean += kb;
		else if (!strcmp(key, "Shared_Dirty"))
			ret->shared_dirty += kb;
		else if (!strcmp(key, "Private_Clean"))
			ret->private_clean += kb;
		else if (!strcmp(key, "Private_Dirty"))
			ret->private_dirty += kb;
	}
	free(list);
	free(text);
	ret->known = true;
	return NULL;
}
