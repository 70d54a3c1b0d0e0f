/*
 * Pre-fork servers: find the master and its workers from /proc, and read
 * them one at a time (each stopped for its own walk only).
 *
 * The master is the nearest process that forked the others from the same
 * executable and still shares pages with them: pid's parent when it runs
 * the same file (st_dev, st_ino of /proc/PID/exe) and maps a page of pid's
 * at the same address to the same physical frame (/proc/PID/pagemap), else
 * pid itself.  Its workers are its children that run the same file and
 * share a page with it the same way.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockcache.h"
#include "error.h"
#include "program.h"
#include "server.h"
#include "snapshot.h"

#define MAX_WORKERS 4096

void gci_server_warn(struct gci_server *srv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *msg = gci_strlist_vappend(&srv->warnings, &srv->nwarnings, fmt, ap);
	va_end(ap);
	if (msg && srv->opts.log)
		srv->opts.log(srv->opts.log_arg, GCI_LOG_WARNING, msg);
}

static void server_log(const struct gci_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void server_log(const struct gci_server *srv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gci_options_vlog(&srv->opts, GCI_LOG_INFO, fmt, ap);
	va_end(ap);
}

/* /proc/PID/stat: the parent and the command name ("pid (comm) S ppid ..."). */
static bool read_stat(int pid, int *ppid, char comm[17])
{
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	char *text = gci_proc_read(path, &len);
	if (!text)
		return false;
	char *open = strchr(text, '('), *close = strrchr(text, ')');
	bool ok = open && close && close > open && sscanf(close + 1, " %*c %d", ppid) == 1;
	if (ok && comm) {
		size_t n = (size_t)(close - open - 1);
		if (n > 16)
			n = 16;
		memcpy(comm, open + 1, n);
		comm[n] = '\0';
		gci_text_clean(comm);
	}
	free(text);
	return ok;
}

struct exe_id {
	dev_t dev;
	ino_t ino;
};

static bool exe_of(int pid, struct exe_id *ret)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st) != 0)
		return false;
	ret->dev = st.st_dev;
	ret->ino = st.st_ino;
	return true;
}

static bool same_exe(const struct exe_id *a, const struct exe_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

static int pid_compare(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

/* The children of ppid, ascending. */
static struct gci_error *children_of(int ppid, int **ret, size_t *ret_n)
{
	DIR *d = opendir("/proc");
	if (!d)
		return gci_error_create(GCI_ERR_INPUT, "cannot list /proc: %s", strerror(errno));
	int *pids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	struct gci_error *err = NULL;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		int parent;
		if (*end || pid <= 0 || pid > INT32_MAX || !read_stat((int)pid, &parent, NULL) ||
		    parent != ppid)
			continue;
		if (n == cap) {
			int *p = gci_reallocarray(pids, cap = cap ? 2 * cap : 16, sizeof(int));
			if (!p) {
				err = &gci_enomem;
				break;
			}
			pids = p;
		}
		pids[n++] = (int)pid;
	}
	closedir(d);
	if (err) {
		free(pids);
		return err;
	}
	if (n)
		qsort(pids, n, sizeof(int), pid_compare);
	*ret = pids;
	*ret_n = n;
	return NULL;
}

static void proc_init(struct gci_server_proc *p, int pid, int ppid, bool master)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = ppid;
	p->master = master;
	p->enabled = -1;
	p->frozen = -1;
	p->next_generation = -1;
	p->next_allocations = -1;
	read_stat(pid, &p->ppid, p->comm);
}

void gci_server_destroy(struct gci_server *srv)
{
	if (!srv)
		return;
	gci_server_proc_deinit(&srv->master);
	for (size_t i = 0; i < srv->nworkers; i++)
		gci_server_proc_deinit(&srv->workers[i]);
	free(srv->workers);
	gci_master_pages_destroy(srv->mpages);
	for (size_t i = 0; i < srv->nwarnings; i++)
		free(srv->warnings[i]);
	free(srv->warnings);
	free(srv->all_warnings);
	free(srv->hint);
	free(srv->exe);
	free(srv);
}

static struct gci_error *no_access(int pid, const char *what)
{
	int e = errno;
	if (e == ENOENT || e == ESRCH)
		return gci_error_create(GCI_ERR_NO_PROCESS, "no process with pid %d", pid);
	return gci_error_create(e == EACCES || e == EPERM ? GCI_ERR_ACCESS : GCI_ERR_INPUT,
				"pid %d: cannot read %s: %s%s", pid, what, strerror(e),
				e == EACCES || e == EPERM ?
				" (reading another process needs the right to ptrace it: run "
				"as its user or as root)" : "");
}

struct gci_error *gci_server_open(int pid, const struct gci_options *opts,
				  struct gci_server **ret)
{
	struct gci_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return &gci_enomem;
	if (opts)
		srv->opts = *opts;
	srv->asked_pid = pid;
	struct gci_error *err = NULL;
	int ppid = 0, *kids = NULL;
	size_t nkids = 0;
	char comm[17];
	struct exe_id exe, pexe;
	if (!read_stat(pid, &ppid, comm)) {
		err = gci_error_create(GCI_ERR_NO_PROCESS, "no process with pid %d", pid);
		goto fail;
	}
	if (!exe_of(pid, &exe)) {
		err = no_access(pid, "/proc/PID/exe");
		goto fail;
	}
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (!(srv->exe = strdup(buf))) {
		err = &gci_enomem;
		goto fail;
	}

	/* pid's parent, if it forked pid from the same file and shares pages. */
	int master = pid;
	srv->how = "the pid given: its children run its executable and share its pages";
	if (ppid > 1 && exe_of(ppid, &pexe) && same_exe(&exe, &pexe)) {
		struct gci_master_pages *mp;
		uint64_t present;
		bool frames, shared = false;
		if ((err = gci_master_pages_read(ppid, &mp, &present, &frames)))
			goto fail;
		err = gci_master_pages_shared_with(mp, pid, &shared);
		gci_master_pages_destroy(mp);
		if (err)
			goto fail;
		if (shared) {
			master = ppid;
			srv->how = "the parent of the pid given: it runs the same executable "
				   "and shares pages with it";
		} else {
			server_log(srv, "pid %d: its parent %d runs the same executable but "
				   "shares no page with it", pid, ppid);
		}
	}
	server_log(srv, "server: master %d (%s)", master, srv->how);
	proc_init(&srv->master, master, 0, true);
	uint64_t present;
	if ((err = gci_master_pages_read(master, &srv->mpages, &present, &srv->frames_known)))
		goto fail;
	if ((err = children_of(master, &kids, &nkids)))
		goto fail;
	for (size_t i = 0; i < nkids; i++) {
		struct exe_id kexe;
		bool shared = false;
		if (!exe_of(kids[i], &kexe) || !same_exe(&exe, &kexe)) {
			server_log(srv, "pid %d: child of %d, another executable: not a worker",
				   kids[i], master);
			continue;
		}
		struct gci_error *e = gci_master_pages_shared_with(srv->mpages, kids[i], &shared);
		if (e) {
			/* It may have just exited. */
			server_log(srv, "pid %d: %s", kids[i], e->message);
			gci_error_destroy(e);
			continue;
		}
		if (!shared) {
			srv->nskipped++;
			server_log(srv, "pid %d: child of %d, same executable, shares no page: "
				   "not a worker", kids[i], master);
			continue;
		}
		if (srv->nworkers == MAX_WORKERS) {
			gci_server_warn(srv, "more than %d workers: the rest are not read",
					MAX_WORKERS);
			break;
		}
		struct gci_server_proc *w = gci_reallocarray(srv->workers, srv->nworkers + 1,
							     sizeof(*w));
		if (!w) {
			err = &gci_enomem;
			goto fail;
		}
		srv->workers = w;
		proc_init(&w[srv->nworkers++], kids[i], master, false);
	}
	if (!srv->nworkers) {
		err = gci_error_create(GCI_ERR_INPUT, "pid %d (%s) is not part of a pre-fork "
				       "server: %s%d has no child that runs %s and shares its "
				       "pages", pid, comm, master == pid ? "" : "its master ",
				       master, srv->exe);
		goto fail;
	}
	if (!srv->frames_known)
		gci_server_warn(srv, "physical frame numbers are hidden (they need "
				"CAP_SYS_ADMIN): a worker's page counts as copied when the "
				"worker maps it exclusively and the master has a page there "
				"too, which also counts pages the master rewrote");
	free(kids);
	*ret = srv;
	return NULL;
fail:
	free(kids);
	gci_server_destroy(srv);
	return err;
}

static void read_rollup(struct gci_server_proc *p)
{
	char path[64];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", p->pid);
	char *text = gci_proc_read(path, &len);
	if (!text)
		return;
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "Rss", offsetof(struct gci_rollup, rss) },
		{ "Pss", offsetof(struct gci_rollup, pss) },
		{ "Shared_Clean", offsetof(struct gci_rollup, shared_clean) },
		{ "Shared_Dirty", offsetof(struct gci_rollup, shared_dirty) },
		{ "Private_Clean", offsetof(struct gci_rollup, private_clean) },
		{ "Private_Dirty", offsetof(struct gci_rollup, private_dirty) },
		{ "Anonymous", offsetof(struct gci_rollup, anonymous) },
		{ "Swap", offsetof(struct gci_rollup, swap) },
	};
	int found = 0;
	for (char *cur = text, *line; (line = gci_proc_next_line(&cur));) {
		char key[32];
		unsigned long long kb;
		if (sscanf(line, "%31[^:]: %llu kB", key, &kb) != 2)
			continue;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(key, keys[i].key)) {
				*(uint64_t *)(void *)((char *)&p->rollup + keys[i].off) = kb;
				found++;
			}
	}
	free(text);
	p->rollup.known = found >= 6;
}

/* GCINSPECT_PREFETCH=0 turns the prefetch off (to compare). */
static bool prefetch_wanted(void)
{
	const char *v = getenv("GCINSPECT_PREFETCH");
	return !v || strcmp(v, "0") != 0;
}

/* The blocks a walk of pid reads, in order, from a walk that does not stop
 * it (the master's own hint: its numbers are not used). */
static void trace_unstopped(struct gci_server *srv, int pid, uint64_t **ret, size_t *ret_n)
{
	struct gci_program *prog = NULL;
	struct gci_snapshot *snap = NULL;
	struct gci_options o = srv->opts;
	o.log = NULL;  /* its warnings are the real walk's too */
	*ret = NULL;
	*ret_n = 0;
	struct gci_error *err = gci_program_open_pid(pid, &o, &prog);
	if (!err) {
		gci_block_cache_trace(prog->cache, true);
		err = gci_snapshot_take(prog, GCI_SNAPSHOT_TYPE_PAGES, &snap);
	}
	if (!err) {
		const uint64_t *t;
		size_t n = gci_block_cache_traced(prog->cache, &t);
		if (n && (*ret = gci_reallocarray(NULL, n, sizeof(*t)))) {
			memcpy(*ret, t, n * sizeof(*t));
			*ret_n = n;
		}
	}
	gci_error_destroy(err);
	gci_snapshot_destroy(snap);
	gci_program_destroy(prog);
}

/* Open, walk, reduce and close one process. */
static struct gci_error *read_proc(struct gci_server *srv, struct gci_server_proc *p,
				   unsigned flags)
{
	/* The master has no twin walked before it: a walk while it runs shows
	 * the order in which its stopped walk will read. */
	if (p->master && (flags & GCI_SNAPSHOT_STOP) && prefetch_wanted()) {
		free(srv->hint);
		trace_unstopped(srv, p->pid, &srv->hint, &srv->nhint);
	}
	struct gci_program *prog = NULL;
	struct gci_snapshot *snap = NULL;
	struct gci_error *err = gci_program_open_pid(p->pid, &srv->opts, &prog);
	/* The master's walk shows the order in which its workers' walks will
	 * read the same heap at the same addresses: while a worker is stopped,
	 * reader threads fetch those blocks ahead of its walk. */
	if (!err && p->master)
		gci_block_cache_trace(prog->cache, true);
	if (!err && srv->nhint && (flags & GCI_SNAPSHOT_STOP) && prefetch_wanted())
		err = gci_program_prefetch_hint(prog, srv->hint, srv->nhint);
	if (!err)
		err = gci_snapshot_take(prog, flags, &snap);
	if (!err && p->master) {
		const uint64_t *t;
		size_t n = gci_block_cache_traced(prog->cache, &t);
		free(srv->hint);
		srv->hint = NULL;
		srv->nhint = 0;
		if (n && (srv->hint = gci_reallocarray(NULL, n, sizeof(*t)))) {
			memcpy(srv->hint, t, n * sizeof(*t));
			srv->nhint = n;
		}
	}
	if (!err)
		err = gci_server_proc_fill(p, snap);
	if (!err && p->master) {
		gci_master_pages_destroy(srv->mpages);
		srv->mpages = NULL;
		err = gci_master_pages_read(p->pid, &srv->mpages, &srv->master_private_pages,
					    &srv->frames_known);
	}
	if (!err && !p->master) {
		struct gci_error *e = gci_copied_compute(srv->mpages, snap, &p->copied);
		if (e && e->code == GCI_ERR_NOMEM) {
			err = e;
		} else if (e) {
			gci_server_warn(srv, "pid %d: what it copied is unknown: %s", p->pid,
					e->message);
			gci_error_destroy(e);
		}
	}
	read_rollup(p);
	gci_snapshot_destroy(snap);
	gci_program_destroy(prog);
	return err;
}

static double wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct gci_error *gci_server_read(struct gci_server *srv, unsigned flags)
{
	flags = (flags & GCI_SNAPSHOT_STOP) | GCI_SNAPSHOT_TYPE_PAGES;
	srv->sample_time = wall_clock();
	struct gci_error *err = read_proc(srv, &srv->master, flags);
	if (err && err != &gci_enomem) {
		char name[32];
		snprintf(name, sizeof(name), "pid %d", srv->master.pid);
		return strstr(err->message, name) ? gci_error_prefix(err, "the master: ")
			: gci_error_prefix(err, "the master, %s: ", name);
	}
	if (err)
		return err;
	for (size_t i = 0; i < srv->nworkers; i++) {
		struct gci_server_proc *w = &srv->workers[i];
		err = read_proc(srv, w, flags);
		if (err && err->code == GCI_ERR_NOMEM)
			return err;
		if (err) {
			server_log(srv, "worker %d: %s", w->pid, err->message);
			w->error = err;
		}
		server_log(srv, "worker %d: read%s", w->pid, w->error ? " failed" : "");
	}
	srv->read_done = true;
	return NULL;
}

void gci_server_status(const struct gci_server *srv, struct gci_server_status *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->master_pid = srv->master.pid;
	ret->nworkers = srv->nworkers;
	ret->frames_known = srv->frames_known;
	ret->problems = srv->master.nproblems;
	for (size_t i = 0; i < srv->nworkers; i++) {
		ret->unreadable += srv->workers[i].error != NULL;
		ret->problems += srv->workers[i].nproblems;
	}
}

size_t gci_server_warnings(const struct gci_server *srv, const char *const **ret)
{
	/* Collected once, owned by the server: its own, then each process's
	 * (already prefixed with the pid). */
	struct gci_server *s = (struct gci_server *)srv;
	size_t n = srv->nwarnings + srv->master.nwarnings;
	for (size_t i = 0; i < srv->nworkers; i++)
		n += srv->workers[i].nwarnings;
	free(s->all_warnings);
	s->all_warnings = n ? calloc(n, sizeof(char *)) : NULL;
	if (!s->all_warnings) {
		*ret = NULL;
		return 0;
	}
	size_t k = 0;
	for (size_t i = 0; i < srv->nwarnings; i++)
		s->all_warnings[k++] = srv->warnings[i];
	for (size_t i = 0; i < srv->master.nwarnings; i++)
		s->all_warnings[k++] = srv->master.warnings[i];
	for (size_t w = 0; w < srv->nworkers; w++)
		for (size_t i = 0; i < srv->workers[w].nwarnings; i++)
			s->all_warnings[k++] = srv->workers[w].warnings[i];
	*ret = (const char *const *)s->all_warnings;
	return k;
}
