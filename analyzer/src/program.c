/* Programs: a core (or a callback) plus the files the target mapped. */
#include <elfutils/debuginfod.h>
#include <elfutils/libdwelf.h>
#include <limits.h>
#include <zlib.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockcache.h"
#include "program.h"

struct module_list {
	Dwfl_Module **mods;
	size_t n, cap;
};

/*
 * libdwfl's find_debuginfo callback gets no argument of ours, so the
 * program being worked on (its --no-dwarf) is kept here while we call
 * into libdwfl.
 */
static __thread struct gci_program *dwfl_prog;

void gci_options_vlog(const struct gci_options *opts, enum gci_log_level level,
		      const char *fmt, va_list ap)
{
	if (!opts->log)
		return;
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	opts->log(opts->log_arg, level, msg);
	free(msg);
}

void gci_log(const struct gci_program *prog, enum gci_log_level level,
	     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gci_options_vlog(&prog->opts, level, fmt, ap);
	va_end(ap);
}

void gci_program_warn(struct gci_program *prog, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *msg = gci_strlist_vappend(&prog->warnings, &prog->nwarnings, fmt, ap);
	va_end(ap);
	if (msg)
		gci_log(prog, GCI_LOG_WARNING, "%s", msg);
}

static char *hex_string(const unsigned char *b, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * n] = '\0';
	return s;
}

/*
 * Where to look for a file the target knew as core_path, in order.  A live
 * target's own mapping (/proc/PID/map_files) is the very file, even if it
 * was deleted or lives in a container; /proc/PID/maps shows paths as the
 * reader sees them, so the plain path comes next, then the path inside the
 * target's root (a chroot or container seen from outside).
 */
static size_t candidate_paths(const struct gci_program *prog, const char *core_path,
			      char *out[4])
{
	size_t n = 0;
	if (prog->exe && prog->exe_core_path && !strcmp(core_path, prog->exe_core_path)) {
		out[n++] = strdup(prog->exe);
		return out[0] ? 1 : 0;
	}
	if (prog->sysroot && core_path[0] == '/') {
		if (asprintf(&out[n], "%s%s", prog->sysroot, core_path) >= 0)
			n++;
		return n;
	}
	if (prog->proc_pid > 0) {
		for (size_t i = 0; i < prog->nmaps; i++) {
			const struct gci_mapping *m = &prog->maps[i];
			if (strcmp(m->path, core_path) != 0)
				continue;
			if (asprintf(&out[n], "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
				     prog->proc_pid, m->start, m->end) >= 0)
				n++;
			break;
		}
	}
	if ((out[n] = strdup(core_path)))
		n++;
	if (prog->proc_pid > 0 && core_path[0] == '/' &&
	    asprintf(&out[n], "/proc/%d/root%s", prog->proc_pid, core_path) >= 0)
		n++;
	return n;
}

static struct gci_error *program_modules(struct gci_program *prog,
					 struct module_list *l);

/*
 * The file the target knew as core_path, found among candidate_paths() and
 * checked against the build-id want (nwant bytes) read from the target's
 * memory; nwant 0: unchecked.  Looked for once; NULL only if out of memory
 * (f->path NULL: not found, f->why says why).
 */
static size_t path_hash(const char *p)
{
	size_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

/* The slot for path in the file index: holding it, or empty. */
static size_t file_slot(const struct gci_program *prog, const char *path)
{
	size_t mask = prog->file_index_cap - 1, i = path_hash(path) & mask;
	while (prog->file_index[i] &&
	       strcmp(prog->files[prog->file_index[i] - 1].core_path, path) != 0)
		i = (i + 1) & mask;
	return i;
}

/* The entry for path, made (not yet looked for) if new; NULL: no memory. */
static struct gci_file *file_entry(struct gci_program *prog, const char *path)
{
	if ((prog->nfiles + 1) * 2 > prog->file_index_cap) {
		size_t cap = prog->file_index_cap ? 2 * prog->file_index_cap : 64;
		size_t *index = calloc(cap, sizeof(*index));
		if (!index)
			return NULL;
		free(prog->file_index);
		prog->file_index = index;
		prog->file_index_cap = cap;
		for (size_t i = 0; i < prog->nfiles; i++)
			prog->file_index[file_slot(prog, prog->files[i].core_path)] = i + 1;
	}
	size_t slot = file_slot(prog, path);
	if (prog->file_index[slot])
		return &prog->files[prog->file_index[slot] - 1];
	struct gci_file *n = gci_reallocarray(prog->files, prog->nfiles + 1, sizeof(*n));
	if (!n)
		return NULL;
	prog->files = n;
	struct gci_file *f = &prog->files[prog->nfiles];
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->core_path = strdup(path);
	if (!f->core_path)
		return NULL;
	prog->file_index[slot] = ++prog->nfiles;
	return f;
}

static struct gci_file *program_file(struct gci_program *prog, const char *core_path,
				     const unsigned char *want, int nwant)
{
	struct gci_file *f = file_entry(prog, core_path);
	if (!f)
		return NULL;
	if (f->tried)
		return f;
	f->tried = true;

	char *cands[4] = { NULL };
	size_t ncands = candidate_paths(prog, core_path, cands);
	char *path = NULL;
	int fd = -1;
	Elf *elf = NULL;
	size_t size = 0;
	const unsigned char *raw = NULL;
	for (size_t c = 0; c < ncands && !path; c++) {
		char *why = NULL;
		fd = open(cands[c], O_RDONLY | O_CLOEXEC);
		elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
		raw = elf ? (const unsigned char *)elf_rawfile(elf, &size) : NULL;
		const void *have = NULL;
		ssize_t nhave = raw ? dwelf_elf_gnu_build_id(elf, &have) : -1;
		if (fd < 0) {
			if (asprintf(&why, "cannot open %s: %s", cands[c], strerror(errno)) < 0)
				why = NULL;
		} else if (!raw || elf_kind(elf) != ELF_K_ELF) {
			if (asprintf(&why, "%s is not a readable ELF file", cands[c]) < 0)
				why = NULL;
		} else if (nwant > 0 && (nhave != nwant || memcmp(have, want, (size_t)nwant))) {
			char *w = hex_string(want, (size_t)nwant);
			char *h = nhave > 0 ? hex_string(have, (size_t)nhave) : strdup("none");
			if (asprintf(&why, "build-id mismatch: %s has build-id %s, the target "
				     "expects %s", cands[c], h ? h : "?", w ? w : "?") < 0)
				why = NULL;
			free(w);
			free(h);
		} else {
			path = cands[c];
			cands[c] = NULL;
			break;
		}
		gci_log(prog, GCI_LOG_DEBUG, "file %s: %s", core_path, why ? why : "unusable");
		/* Keep the reason that says most: a mismatch over a missing file. */
		if (why && (!f->why || strstr(why, "build-id"))) {
			free(f->why);
			f->why = why;
		} else {
			free(why);
		}
		if (elf)
			elf_end(elf);
		if (fd >= 0)
			close(fd);
		elf = NULL;
		fd = -1;
		raw = NULL;
	}
	for (size_t c = 0; c < ncands; c++)
		free(cands[c]);
	if (!path) {
		if (f->why && strstr(f->why, "build-id"))
			gci_program_warn(prog, "%s; not using it", f->why);
		else
			gci_log(prog, GCI_LOG_INFO, "file %s: %s", core_path,
				f->why ? f->why : "not found");
		return f;
	}
	free(f->why);
	f->why = NULL;
	if (nwant <= 0)
		gci_log(prog, GCI_LOG_DEBUG, "%s: the core records no build-id; using %s "
			"unchecked", core_path, path);
	else
		gci_log(prog, GCI_LOG_DEBUG, "%s: found %s, build-id matches", core_path,
			path);
	f->path = path;
	f->fd = fd;
	f->elf = elf;
	f->raw = raw;
	f->size = size;
	return f;
}

/*
 * Every module is reported with its file (gci_program_report_maps), so
 * libdwfl never needs to look for one: it must not, behind --sysroot.
 */
static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	return -1;
}

/* Whether the module may hold CPython: the executable, or a libpython. */
static int module_rank(const struct gci_program *prog, Dwfl_Module *mod);

/* The dwz alternate debug file named by path's .gnu_debugaltlink, if any:
 * its name (into name) and build-id; the id's length, or 0. */
static size_t read_altlink(const char *path, char *name, size_t nname, unsigned char *id,
			   size_t nid)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t shstrndx;
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		Elf_Scn *scn = NULL;
		while (!got && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *sn;
			Elf_Data *d;
			if (!gelf_getshdr(scn, &sh) ||
			    !(sn = elf_strptr(elf, shstrndx, sh.sh_name)) ||
			    strcmp(sn, ".gnu_debugaltlink") != 0 || !(d = elf_getdata(scn, NULL)))
				continue;
			const char *b = d->d_buf, *nul = memchr(b, '\0', d->d_size);
			size_t len = nul ? (size_t)(nul - b) : 0;
			size_t idlen = nul ? d->d_size - len - 1 : 0;
			if (!nul || len >= nname || idlen == 0 || idlen > nid)
				break;
			memcpy(name, b, len + 1);
			memcpy(id, nul + 1, idlen);
			got = idlen;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return got;
}

/* Whether the ELF file open on fd has the build-id want, or (no build-id to
 * compare) the CRC a .gnu_debuglink gave (0: nothing to check). */
static bool debug_file_matches(int fd, const unsigned char *want, int nwant, GElf_Word crc)
{
	bool ok = false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out;
	if (nwant > 0) {
		const void *have;
		ssize_t nhave = dwelf_elf_gnu_build_id(elf, &have);
		ok = nhave == nwant && !memcmp(have, want, (size_t)nwant);
	} else if (crc) {
		size_t size;
		const unsigned char *raw = (const unsigned char *)elf_rawfile(elf, &size);
		uLong c = crc32(0L, Z_NULL, 0);
		for (size_t off = 0; raw && off < size; off += 1u << 30) {
			size_t n = size - off < (1u << 30) ? size - off : (1u << 30);
			c = crc32(c, raw + off, (uInt)n);
		}
		ok = raw && (GElf_Word)c == crc;
	} else {
		ok = true;
	}
out:
	if (elf)
		elf_end(elf);
	return ok;
}

/*
 * The .gnu_debuglink way (a distribution that keeps debug files by path,
 * not by build-id): LINK next to the file, in .debug/ beside it, and under
 * each debug directory at the file's own path.  file is where we read the
 * module from (its directory for the first two), modname the path the
 * target knew it by (for the last).
 */
static int find_by_debuglink(struct gci_program *prog, Dwfl_Module *mod, const char *file,
			     const char *modname, const char *link, GElf_Word crc,
			     char **ret_name)
{
	const unsigned char *want = NULL;
	GElf_Addr vaddr;
	int nwant = dwfl_module_build_id(mod, &want, &vaddr);
	char *real = file ? realpath(file, NULL) : NULL;
	const char *base = real ? real : file;
	char *own = NULL;
	if (!base || !modname)
		goto none;
	if (!link) {
		const char *b = strrchr(base, '/');
		if (asprintf(&own, "%s.debug", b ? b + 1 : base) < 0)
			goto none;
		link = own;
	}
	const char *slash = strrchr(base, '/'), *mslash = strrchr(modname, '/');
	int dlen = slash ? (int)(slash - base) : 0, mlen = mslash ? (int)(mslash - modname) : 0;
	char *dirs = strdup(prog->debuginfo_path ? prog->debuginfo_path : "");
	for (char *save = NULL, *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d;
	     d = strtok_r(NULL, ":", &save)) {
		char *cand[2] = { NULL, NULL };
		if (d[0] == '/') {
			if (asprintf(&cand[0], "%s%.*s/%s", d, mlen, modname, link) < 0)
				cand[0] = NULL;
		} else {
			if (asprintf(&cand[0], "%.*s/%s", dlen, base, link) < 0)
				cand[0] = NULL;
			if (asprintf(&cand[1], "%.*s/%s/%s", dlen, base, d, link) < 0)
				cand[1] = NULL;
		}
		for (int i = 0; i < 2; i++) {
			int fd = cand[i] && strcmp(cand[i], base) != 0
					 ? open(cand[i], O_RDONLY | O_CLOEXEC) : -1;
			if (fd >= 0 && debug_file_matches(fd, want, nwant, crc)) {
				gci_log(prog, GCI_LOG_DEBUG, "%s: debug info by .gnu_debuglink: %s",
					modname, cand[i]);
				*ret_name = cand[i];
				cand[i] = NULL;
				free(cand[1 - i]);
				free(dirs);
				free(own);
				free(real);
				return fd;
			}
			if (fd >= 0)
				close(fd);
			free(cand[i]);
		}
	}
	free(dirs);
none:
	free(own);
	free(real);
	return -1;
}

/* Whether libdwfl asks for the module's debug file or its dwz alternate. */
static bool is_altlink_lookup(const char *file, const char *link, GElf_Word crc,
			      unsigned char *id, size_t *nid)
{
	char name[PATH_MAX];
	if (!file || !link || crc)
		return false;
	*nid = read_altlink(file, name, sizeof(name), id, *nid);
	return *nid > 0 && !strcmp(name, link);
}

/* A download that takes more than a second says how it goes. */
static int debuginfod_progress(debuginfod_client *c, long done, long total)
{
	struct gci_program *prog = debuginfod_get_user_data(c);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (!prog || now - prog->fetch_start < 1000000 || now - prog->fetch_last < 250000)
		return 0;
	prog->fetch_last = now;
	prog->fetch_shown = true;
	if (total > 0)
		gci_log(prog, GCI_LOG_PROGRESS, "fetching the debug info of %s from debuginfod: "
			"%.1f of %.1f MiB", prog->fetch_what, done / 1048576.0, total / 1048576.0);
	else
		gci_log(prog, GCI_LOG_PROGRESS, "fetching the debug info of %s from debuginfod: "
			"%.1f MiB", prog->fetch_what, done / 1048576.0);
	return 0;
}

/*
 * The debuginfod servers $DEBUGINFOD_URLS names (libdebuginfod), asked on
 * purpose: never with --offline, only for the modules that can hold CPython,
 * and always saying so, so that the report can name the file fetched.
 */
static int from_debuginfod(struct gci_program *prog, Dwfl_Module *mod, const char *modname,
			   const unsigned char *id, int nid, bool alt, char **ret_name)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls || nid <= 0 || module_rank(prog, mod) > 1)
		return -1;
	char *hex = hex_string(id, (size_t)nid);
	if (prog->opts.offline) {
		gci_log(prog, GCI_LOG_INFO, "%s: no local debug info; offline, so debuginfod "
			"(%s) is not asked for build-id %s", modname, urls, hex ? hex : "?");
		free(hex);
		return -1;
	}
	if (!prog->debuginfod && !(prog->debuginfod = debuginfod_begin())) {
		gci_log(prog, GCI_LOG_INFO, "debuginfod_begin failed: not asking debuginfod");
		free(hex);
		return -1;
	}
	debuginfod_set_user_data(prog->debuginfod, prog);
	debuginfod_set_progressfn(prog->debuginfod, debuginfod_progress);
	const char *timeout = getenv("DEBUGINFOD_TIMEOUT");
	gci_log(prog, GCI_LOG_INFO, "%s: asking debuginfod (%s) for the %s of build-id %s "
		"(DEBUGINFOD_TIMEOUT: %s s)", modname, urls,
		alt ? "dwz alternate debug file" : "debug info", hex ? hex : "?",
		timeout && *timeout ? timeout : "unset, libdebuginfod's default of 90");
	char *path = NULL;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	prog->fetch_start = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	prog->fetch_last = 0;
	prog->fetch_shown = false;
	prog->fetch_what = modname;
	int fd = debuginfod_find_debuginfo(prog->debuginfod, id, nid, &path);
	if (prog->fetch_shown)
		gci_log(prog, GCI_LOG_PROGRESS, "%s", "");
	if (fd < 0) {
		gci_log(prog, GCI_LOG_INFO, "%s: debuginfod has no debug info for build-id %s: "
			"%s", modname, hex ? hex : "?", strerror(-fd));
		free(hex);
		return -1;
	}
	const char *url = debuginfod_get_url(prog->debuginfod);
	gci_log(prog, GCI_LOG_INFO, "%s: debuginfod gave %s%s%s", modname, path ? path : "?",
		url ? ", fetched from " : " (from its cache)", url ? url : "");
	free(hex);
	if (!alt && prog->ndebuginfod_mods < GCI_MAX_DEBUGINFOD_MODS)
		prog->debuginfod_mods[prog->ndebuginfod_mods++] = mod;
	*ret_name = path;
	return fd;
}

/*
 * Debug info for a module, looked for in order: by build-id under the debug
 * directories (libdwfl's lookup, which checks the build-id and finds dwz
 * alternate files); by .gnu_debuglink; then from debuginfod.  (libdwfl's
 * dwfl_standard_find_debuginfo would ask debuginfod by itself, even
 * offline, and not say which file it gave.)
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name,
			  const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	struct gci_program *prog = dwfl_prog;
	if (!prog || prog->opts.no_dwarf)
		return -1;
	int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					      debuglink_file, debuglink_crc,
					      debuginfo_file_name);
	if (fd >= 0)
		return fd;
	unsigned char id[64];
	size_t nid = sizeof(id);
	if (is_altlink_lookup(file_name, debuglink_file, debuglink_crc, id, &nid))
		return from_debuginfod(prog, mod, modname, id, (int)nid, true,
				       debuginfo_file_name);
	fd = find_by_debuglink(prog, mod, file_name, modname, debuglink_file, debuglink_crc,
			       debuginfo_file_name);
	if (fd >= 0)
		return fd;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int nbits = dwfl_module_build_id(mod, &bits, &vaddr);
	return from_debuginfod(prog, mod, modname, bits, nbits, false, debuginfo_file_name);
}

struct gci_error *gci_program_create(const struct gci_options *opts,
				     struct gci_program **ret)
{
	struct gci_program *prog = calloc(1, sizeof(*prog));
	if (!prog)
		return &gci_enomem;
	if (opts)
		prog->opts = *opts;
	gci_memory_init(&prog->mem);
	prog->memfd = -1;
	prog->pagemap_fd = prog->smaps_fd = -1;
	bool oom = false;
	if (prog->opts.sysroot) {
		prog->sysroot = strdup(prog->opts.sysroot);
		oom |= !prog->sysroot;
		/* "/x/" + "/usr" must not give "/x//usr": harmless, but tidy. */
		size_t n = prog->sysroot ? strlen(prog->sysroot) : 0;
		while (n > 1 && prog->sysroot[n - 1] == '/')
			prog->sysroot[--n] = '\0';
	}
	if (prog->opts.exe) {
		prog->exe = strdup(prog->opts.exe);
		oom |= !prog->exe;
	}
	prog->debug_dir_default = !prog->opts.debug_dir;
	if (prog->opts.debug_dir)
		prog->debug_dir = strdup(prog->opts.debug_dir);
	else if (asprintf(&prog->debug_dir, "%s/usr/lib/debug",
			  prog->sysroot ? prog->sysroot : "") < 0)
		prog->debug_dir = NULL;
	oom |= !prog->debug_dir;
	if (!oom && asprintf(&prog->debuginfo_path, ":.debug:%s", prog->debug_dir) < 0)
		prog->debuginfo_path = NULL;
	oom |= !prog->debuginfo_path;
	prog->opts.sysroot = prog->sysroot;
	prog->opts.exe = prog->exe;
	prog->opts.debug_dir = prog->debug_dir;
	prog->callbacks.find_elf = no_find_elf;
	prog->callbacks.find_debuginfo = find_debuginfo;
	prog->callbacks.section_address = dwfl_offline_section_address;
	prog->callbacks.debuginfo_path = &prog->debuginfo_path;
	if (!oom) {
		prog->dwfl = dwfl_begin(&prog->callbacks);
		if (!prog->dwfl) {
			struct gci_error *err = gci_error_create(
				GCI_ERR_OTHER, "dwfl_begin: %s", dwfl_errmsg(-1));
			gci_program_destroy(prog);
			return err;
		}
	}
	if (oom) {
		gci_program_destroy(prog);
		return &gci_enomem;
	}
	*ret = prog;
	return NULL;
}

void gci_program_destroy(struct gci_program *prog)
{
	if (!prog)
		return;
	if (prog->dwfl) {
		struct gci_program *saved = dwfl_prog;
		dwfl_prog = prog;
		dwfl_end(prog->dwfl);
		dwfl_prog = saved;
	}
	if (prog->debuginfod)
		debuginfod_end(prog->debuginfod);
	free(prog->dwarf_name);
	for (size_t i = 0; i < prog->nfiles; i++) {
		struct gci_file *f = &prog->files[i];
		if (f->elf)
			elf_end(f->elf);
		if (f->fd >= 0)
			close(f->fd);
		free(f->core_path);
		free(f->path);
		free(f->why);
	}
	free(prog->files);
	free(prog->file_index);
	free(prog->ranges);
	gci_block_cache_destroy(prog->cache);
	if (prog->own_maps) {
		for (size_t i = 0; i < prog->nmaps; i++)
			free((char *)prog->own_maps[i].path);
		free(prog->own_maps);
	}
	if (prog->tids) {
		uint64_t usec;
		gci_program_resume(prog, &usec);
	}
	gci_program_prefetch_free(prog);
	if (prog->memfd >= 0)
		close(prog->memfd);
	if (prog->pagemap_fd >= 0)
		close(prog->pagemap_fd);
	if (prog->smaps_fd >= 0)
		close(prog->smaps_fd);
	free(prog->cmdline);
	for (int i = 0; i < 4; i++)
		free(prog->info_strings[i]);
	for (size_t i = 0; i < prog->nwarnings; i++)
		free(prog->warnings[i]);
	free(prog->warnings);
	gci_memory_deinit(&prog->mem);
	gci_core_destroy(prog->core);
	free(prog->sysroot);
	free(prog->exe);
	free(prog->debug_dir);
	free(prog->debuginfo_path);
	free(prog->target_path);
	free(prog->exe_core_path);
	free(prog);
}

/* A fallback segment: bytes of a file the target mapped read-only. */
struct file_range {
	struct gci_program *prog;
	const struct gci_mapping *entry;
};

static struct gci_error *file_range_read(void *arg, uint64_t address, void *buf,
					 size_t size)
{
	struct file_range *r = arg;
	struct gci_file *f = program_file(r->prog, r->entry->path, NULL, 0);
	if (!f)
		return &gci_enomem;
	if (!f->raw)
		return gci_error_at(GCI_ERR_FAULT, address,
				    "memory at 0x%" PRIx64 " was not saved in the core and "
				    "its file %s is unavailable (%s)", address,
				    r->entry->path, f->why ? f->why : "not found");
	uint64_t off = r->entry->offset + (address - r->entry->start);
	if (off > f->size || size > f->size - off)
		return gci_error_at(GCI_ERR_FAULT, address,
				    "memory at 0x%" PRIx64 " lies past the end of %s",
				    address, f->path);
	memcpy(buf, f->raw + off, size);
	return NULL;
}

static int collect_module(Dwfl_Module *mod, void **userdata, const char *name,
			  Dwarf_Addr base, void *arg)
{
	struct module_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		Dwfl_Module **m = gci_reallocarray(l->mods, cap, sizeof(*m));
		if (!m)
			return DWARF_CB_ABORT;
		l->mods = m;
		l->cap = cap;
	}
	l->mods[l->n++] = mod;
	return DWARF_CB_OK;
}

static struct gci_error *program_modules(struct gci_program *prog,
					 struct module_list *l)
{
	memset(l, 0, sizeof(*l));
	if (dwfl_getmodules(prog->dwfl, collect_module, l, 0) != 0) {
		free(l->mods);
		return &gci_enomem;
	}
	return NULL;
}

/* "SIGSEGV" for a signal number, or nothing. */
static void set_signame(struct gci_program *prog, int signal)
{
	const char *abbrev = signal > 0 ? sigabbrev_np(signal) : NULL;
	prog->signame[0] = '\0';
	if (abbrev)
		snprintf(prog->signame, sizeof(prog->signame), "SIG%s", abbrev);
}

/* Say under -v what it took to get a plain core. */
static void log_core_input(struct gci_program *prog, const struct gci_core_input *in)
{
	if (!in->copied)
		return;
	double mb_in = in->in_bytes / 1048576.0, mb_out = in->out_bytes / 1048576.0;
	double secs = in->usec / 1e6;
	if (!strcmp(in->format, "ELF"))
		gci_log(prog, GCI_LOG_INFO, "%s: plain core read from a pipe: %.1f MiB copied "
			"into %s in %.2f s", prog->target_path, mb_out, in->where, secs);
	else
		gci_log(prog, GCI_LOG_INFO, "%s: %s-compressed core: %.1f MiB decompressed to "
			"%.1f MiB (%.1fx) into %s in %.2f s (%.0f MiB/s)", prog->target_path,
			in->format, mb_in, mb_out, mb_in > 0 ? mb_out / mb_in : 0.0, in->where,
			secs, secs > 0 ? mb_out / secs : 0.0);
}

static void core_progress(void *arg, const char *message)
{
	gci_log(arg, GCI_LOG_PROGRESS, "%s", message);
}

static struct gci_error *open_core(int fd, const char *path, const struct gci_options *opts,
				   struct gci_program **ret)
{
	struct gci_program *prog;
	struct gci_error *err = gci_program_create(opts, &prog);
	if (err)
		return err;
	prog->kind = "core";
	prog->target_path = strdup(path);
	if (!prog->target_path) {
		err = &gci_enomem;
		goto fail;
	}
	err = gci_core_open(fd, path, prog->opts.max_core_size, core_progress, prog, &prog->mem,
			    &prog->core);
	if (err)
		goto fail;
	struct gci_core *core = prog->core;
	log_core_input(prog, &core->input);
	prog->maps = core->files;
	prog->nmaps = core->nfiles;
	set_signame(prog, core->signal);
	gci_log(prog, GCI_LOG_INFO, "%s: core of pid %" PRId64 " (%s), %zu file mappings",
		path, core->pid, core->fname, core->nfiles);
	if (core->truncated)
		gci_program_warn(prog, "%s is truncated: some memory it describes is "
				 "missing", path);

	/* The executable: the mapping holding the program headers (AT_PHDR). */
	for (size_t i = 0; i < core->nfiles && core->at_phdr; i++) {
		if (core->at_phdr >= core->files[i].start &&
		    core->at_phdr < core->files[i].end) {
			prog->exe_core_path = strdup(core->files[i].path);
			break;
		}
	}
	if (prog->exe_core_path)
		gci_log(prog, GCI_LOG_INFO, "executable: %s%s%s", prog->exe_core_path,
			prog->exe ? ", read from " : "", prog->exe ? prog->exe : "");
	else if (prog->exe)
		gci_program_warn(prog, "the core does not say which file is the "
				 "executable; --exe %s is not used", prog->exe);

	/*
	 * The modules: every ELF file the core's NT_FILE note maps at offset 0,
	 * its build-id read from the core's memory and the file found through
	 * --exe, --sysroot or the path, and checked.  (libdwfl's own
	 * dwfl_core_file_report would open the recorded paths itself, past any
	 * sysroot.)
	 */
	if ((err = gci_program_report_maps(prog)))
		goto fail;

	/* Serve read-only file-backed ranges the core lacks from the files. */
	struct file_range *ranges = calloc(core->nfiles ? core->nfiles : 1,
					   sizeof(*ranges));
	prog->ranges = ranges;
	if (!ranges) {
		err = &gci_enomem;
		goto fail;
	}
	for (size_t i = 0; i < core->nfiles; i++) {
		struct gci_mapping *e = &core->files[i];
		if (!dwfl_addrmodule(prog->dwfl, e->start))
			continue;  /* not in an ELF object: nothing we need */
		struct file_range *r = &ranges[i];
		r->prog = prog;
		r->entry = e;
		struct gci_segment seg = {
			.start = e->start, .end = e->end, .saved_end = e->end,
			.read = file_range_read, .arg = r, .what = e->path,
		};
		err = gci_memory_add(&prog->mem, GCI_TIER_FALLBACK, &seg);
		if (err)
			break;
	}
	if (err)
		goto fail;
	*ret = prog;
	return NULL;
fail:
	gci_program_destroy(prog);
	return err;
}

struct gci_error *gci_program_open_core(const char *path,
					const struct gci_options *opts,
					struct gci_program **ret)
{
	return open_core(-1, path, opts, ret);
}

struct gci_error *gci_program_open_core_fd(int fd, const char *name,
					   const struct gci_options *opts,
					   struct gci_program **ret)
{
	if (fd < 0 || !name)
		return gci_error_create(GCI_ERR_USAGE, "gci_program_open_core_fd: no %s",
					fd < 0 ? "file descriptor" : "name");
	return open_core(fd, name, opts, ret);
}

/*
 * The build-id of the ELF object mapped at start, from the target's own
 * memory (its headers and notes are in the first mapped page or so), or 0.
 */
static int memory_build_id(struct gci_program *prog, uint64_t start, unsigned char *out,
			   size_t max)
{
	Elf64_Ehdr eh;
	struct gci_error *err = gci_memory_read(&prog->mem, start, &eh, sizeof(eh));
	if (err) {
		gci_error_destroy(err);
		return -1;  /* the headers are not in memory: unknown */
	}
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > 64)
		return 0;
	Elf64_Phdr ph[64];
	err = gci_memory_read(&prog->mem, start + eh.e_phoff, ph, eh.e_phnum * sizeof(ph[0]));
	if (err) {
		gci_error_destroy(err);
		return 0;
	}
	uint64_t bias = start;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			bias = start - (ph[i].p_vaddr & ~(uint64_t)4095);
			break;
		}
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		unsigned char note[512];
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > sizeof(note))
			continue;
		err = gci_memory_read(&prog->mem, bias + ph[i].p_vaddr, note, ph[i].p_filesz);
		if (err) {
			gci_error_destroy(err);
			continue;
		}
		for (size_t off = 0; off + 12 <= ph[i].p_filesz;) {
			uint32_t nsz, dsz, type;
			memcpy(&nsz, note + off, 4);
			memcpy(&dsz, note + off + 4, 4);
			memcpy(&type, note + off + 8, 4);
			size_t name = off + 12, desc = name + ((nsz + 3) & ~3u);
			if (desc > ph[i].p_filesz || dsz > ph[i].p_filesz - desc)
				break;
			if (type == NT_GNU_BUILD_ID && nsz == 4 && !memcmp(note + name, "GNU", 4) &&
			    dsz <= max) {
				memcpy(out, note + desc, dsz);
				return (int)dsz;
			}
			off = desc + ((dsz + 3) & ~3u);
		}
	}
	return 0;
}

/*
 * A mapped file that cannot be found (deleted, or not on this machine) but
 * whose detached debug file is installed: that file, found by the build-id
 * read from the target's memory and checked, has the symbol table and the
 * DWARF, and is reported in the file's place.  Its sections hold no bytes
 * (SHT_NOBITS), so nothing is ever read from it as memory.
 */
static bool report_debug_file(struct gci_program *prog, const struct gci_mapping *m,
			      const unsigned char *want, int nwant)
{
	char *hex = hex_string(want, (size_t)nwant);
	if (!hex || nwant < 2)
		return free(hex), false;
	const char *dirs[2] = { prog->debug_dir, NULL };
	char live_dir[64];
	if (prog->proc_pid > 0 && prog->debug_dir_default && !prog->sysroot) {
		snprintf(live_dir, sizeof(live_dir), "/proc/%d/root/usr/lib/debug",
			 prog->proc_pid);
		dirs[1] = live_dir;
	}
	bool done = false;
	for (size_t d = 0; d < 2 && dirs[d] && !done; d++) {
		char *path;
		if (asprintf(&path, "%s/.build-id/%.2s/%s.debug", dirs[d], hex, hex + 2) < 0)
			break;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
		const void *have = NULL;
		ssize_t nhave = elf ? dwelf_elf_gnu_build_id(elf, &have) : -1;
		bool match = nhave == nwant && !memcmp(have, want, (size_t)nwant);
		if (elf)
			elf_end(elf);
		if (fd >= 0 && !match)
			gci_log(prog, GCI_LOG_INFO, "%s: %s has another build-id; not used",
				m->path, path);
		Dwfl_Module *mod = NULL;
		if (match) {
			mod = dwfl_report_elf(prog->dwfl, m->path, path, fd, m->start, true);
			fd = -1;  /* libdwfl owns it now, or closed it */
		}
		if (fd >= 0)
			close(fd);
		if (mod) {
			gci_program_warn(prog, "%s is not available here; its symbols and DWARF "
					 "come from %s, found by the build-id %s in the target's "
					 "memory", m->path, path, hex);
			done = true;
		}
		free(path);
	}
	free(hex);
	return done;
}

struct gci_error *gci_program_report_maps(struct gci_program *prog)
{
	struct gci_error *err = NULL;
	dwfl_prog = prog;
	dwfl_report_begin(prog->dwfl);
	for (size_t i = 0; i < prog->nmaps; i++) {
		const struct gci_mapping *m = &prog->maps[i];
		/* An ELF object starts where its file offset 0 is mapped. */
		if (m->offset != 0 || m->path[0] != '/')
			continue;
		struct gci_file *seen = file_entry(prog, m->path);
		if (!seen) {
			err = &gci_enomem;
			break;
		}
		if (seen->tried)
			continue;  /* the same file mapped again */
		unsigned char want[64];
		int nwant = memory_build_id(prog, m->start, want, sizeof(want));
		if (nwant == 0)
			continue;  /* not an ELF object (or one without a build-id) */
		/* Headers not saved (coredump_filter without bit 4): the file
		 * is used unchecked, and its ELF-ness checked. */
		struct gci_file *f = program_file(prog, m->path, want, nwant > 0 ? nwant : 0);
		if (!f) {
			err = &gci_enomem;
			break;
		}
		if (!f->path) {
			/* program_file said why; the debug file may stand in. */
			if (nwant > 0)
				report_debug_file(prog, m, want, nwant);
			continue;
		}
		/* The very file whose build-id was checked, not its name again. */
		int fd = dup(f->fd);
		Dwfl_Module *mod = fd < 0 ? NULL
					  : dwfl_report_elf(prog->dwfl, m->path, f->path, fd,
							    m->start, true);
		if (!mod)
			gci_log(prog, GCI_LOG_INFO, "%s: dwfl_report_elf: %s", m->path,
				dwfl_errmsg(-1));
	}
	dwfl_report_end(prog->dwfl, NULL, NULL);
	dwfl_prog = NULL;
	return err;
}

static int callback_block_read(void *arg, uint64_t address, void *buf, size_t size)
{
	struct gci_program *prog = arg;
	return prog->read_cb(prog->read_arg, address, buf, size);
}

static struct gci_error *copy_maps(struct gci_program *prog, const struct gci_mapping *maps,
				   size_t n)
{
	prog->own_maps = calloc(n ? n : 1, sizeof(*prog->own_maps));
	if (!prog->own_maps)
		return &gci_enomem;
	for (size_t i = 0; i < n; i++) {
		prog->own_maps[i] = maps[i];
		prog->own_maps[i].path = strdup(maps[i].path ? maps[i].path : "");
		if (!prog->own_maps[i].path)
			return &gci_enomem;
		prog->nmaps = i + 1;
	}
	prog->maps = prog->own_maps;
	return NULL;
}

/* The executable: a mapping of an ET_EXEC/ET_DYN file with an interpreter. */
static void find_exe_path(struct gci_program *prog)
{
	for (size_t i = 0; i < prog->nmaps && !prog->exe_core_path; i++) {
		const struct gci_mapping *m = &prog->maps[i];
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		struct gci_error *err;
		if (m->offset || m->path[0] != '/')
			continue;
		if ((err = gci_memory_read(&prog->mem, m->start, &eh, sizeof(eh)))) {
			gci_error_destroy(err);
			continue;
		}
		if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_phentsize != sizeof(ph))
			continue;
		for (unsigned j = 0; j < eh.e_phnum && j < 64; j++) {
			if ((err = gci_memory_read(&prog->mem, m->start + eh.e_phoff + j * sizeof(ph),
						   &ph, sizeof(ph)))) {
				gci_error_destroy(err);
				break;
			}
			if (ph.p_type == PT_INTERP) {
				prog->exe_core_path = strdup(m->path);
				break;
			}
		}
	}
}

struct gci_error *gci_program_open_callback(gci_read_fn *read, void *arg,
					    const struct gci_mapping *maps, size_t nmaps,
					    const struct gci_options *opts,
					    struct gci_program **ret)
{
	struct gci_program *prog;
	struct gci_error *err = gci_program_create(opts, &prog);
	if (err)
		return err;
	prog->kind = "callback";
	prog->target_path = strdup("target");
	prog->read_cb = read;
	prog->read_arg = arg;
	prog->cache = gci_block_cache_create(&prog->mem, callback_block_read, prog, 512);
	if (!prog->cache || (err = copy_maps(prog, maps, nmaps))) {
		err = err ? err : &gci_enomem;
		goto fail;
	}
	struct gci_segment seg = {
		.start = 0, .end = UINT64_MAX, .saved_end = UINT64_MAX,
		.read = gci_block_cache_read, .arg = prog->cache, .what = "target",
	};
	if ((err = gci_memory_add(&prog->mem, GCI_TIER_PRIMARY, &seg)))
		goto fail;
	prog->maps_pending = true;  /* gci_program_prepare */
	*ret = prog;
	return NULL;
fail:
	gci_program_destroy(prog);
	return err;
}

struct gci_error *gci_program_prepare(struct gci_program *prog)
{
	if (!prog->maps_pending)
		return NULL;
	find_exe_path(prog);
	struct gci_error *err = gci_program_report_maps(prog);
	if (!err)
		prog->maps_pending = false;
	return err;
}

struct gci_error *gci_program_set_process_info(struct gci_program *prog,
					       const struct gci_process_info *info)
{
	if (!prog->read_cb)
		return gci_error_create(GCI_ERR_USAGE, "only a callback program takes "
					"process information from its caller");
	/* A live process with a pid: its /proc files are read as the CLI's
	 * are, for its files (if not yet reported) and its page sharing. */
	bool live = info->kind && !strcmp(info->kind, "live") && info->pid > 0 &&
		    info->pid <= INT_MAX;
	if (prog->proc_pid != (live ? (int)info->pid : 0)) {
		struct gci_error *err = gci_program_set_proc_pid(prog, live ? (int)info->pid : 0);
		if (err)
			return err;
	}
	const char *in[4] = { info->kind, info->path, info->command, info->args };
	char *out[4] = { NULL };
	for (int i = 0; i < 4; i++) {
		if (in[i] && !(out[i] = strdup(in[i]))) {
			for (int j = 0; j < i; j++)
				free(out[j]);
			return &gci_enomem;
		}
	}
	/* The command name and line come from the target: cleaned as the
	 * core's and /proc's are, so that reports say the same. */
	for (int i = 2; i < 4; i++)
		if (out[i])
			gci_text_clean(out[i]);
	for (int i = 0; i < 4; i++) {
		free(prog->info_strings[i]);
		prog->info_strings[i] = out[i];
	}
	prog->info = *info;
	prog->info.kind = out[0] ? out[0] : prog->kind;
	prog->info.path = out[1];
	prog->info.command = out[2];
	prog->info.args = out[3];
	prog->info.signal_name = NULL;
	if (out[1]) {
		/* Messages name the target by what the caller calls it. */
		char *p = strdup(out[1]);
		if (p) {
			free(prog->target_path);
			prog->target_path = p;
		}
	}
	set_signame(prog, info->signal);
	prog->have_info = true;
	return NULL;
}

void gci_program_process_info(const struct gci_program *prog,
			      struct gci_process_info *ret)
{
	if (prog->have_info) {
		*ret = prog->info;
		ret->signal_name = ret->signal > 0 && prog->signame[0] ? prog->signame : NULL;
		return;
	}
	memset(ret, 0, sizeof(*ret));
	ret->pid = -1;
	ret->signal = -1;
	ret->kind = prog->kind;
	ret->path = prog->target_path;
	ret->stopped = prog->was_stopped;
	ret->stopped_usec = prog->stopped_usec;
	if (prog->pid > 0) {
		ret->pid = prog->pid;
		ret->command = prog->comm[0] ? prog->comm : NULL;
		ret->args = prog->cmdline;
	}
	if (prog->core) {
		ret->pid = prog->core->pid;
		ret->signal = prog->core->signal;
		ret->command = prog->core->fname[0] ? prog->core->fname : NULL;
		ret->args = prog->core->psargs[0] ? prog->core->psargs : NULL;
		if (ret->signal > 0 && prog->signame[0])
			ret->signal_name = prog->signame;
	}
}

/* Search order: the executable, then modules named like libpython. */
static int module_rank(const struct gci_program *prog, Dwfl_Module *mod)
{
	const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL,
					    NULL);
	if (!name)
		return 3;
	if (prog->exe_core_path && !strcmp(name, prog->exe_core_path))
		return 0;
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (!strncmp(base, "libpython", 9))
		return 1;
	return 2;
}

/* A defined symbol of one module, local ones included. */
static bool module_symbol(Dwfl_Module *mod, const char *name, struct gci_symbol *ret)
{
	int n = dwfl_module_getsymtab(mod);
	for (int j = 1; j < n; j++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *s = dwfl_module_getsym_info(mod, j, &sym, &addr, NULL, NULL, NULL);
		if (!s || strcmp(s, name) != 0 || sym.st_shndx == SHN_UNDEF)
			continue;
		ret->address = addr;
		ret->size = sym.st_size;
		ret->module = mod;
		ret->module_name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL,
						    NULL);
		return true;
	}
	return false;
}

bool gci_program_module_symbol(struct gci_program *prog, Dwfl_Module *mod,
			       const char *name, struct gci_symbol *ret)
{
	struct gci_program *saved = dwfl_prog;
	dwfl_prog = prog;
	bool found = mod && module_symbol(mod, name, ret);
	dwfl_prog = saved;
	return found;
}

bool gci_program_symbol(struct gci_program *prog, const char *name,
			struct gci_symbol *ret)
{
	struct module_list l;
	if (program_modules(prog, &l))
		return false;
	bool found = false;
	struct gci_program *saved = dwfl_prog;
	dwfl_prog = prog;
	for (int rank = 0; rank <= 2 && !found; rank++)
		for (size_t i = 0; i < l.n && !found; i++)
			if (module_rank(prog, l.mods[i]) == rank)
				found = module_symbol(l.mods[i], name, ret);
	dwfl_prog = saved;
	free(l.mods);
	return found;
}

/*
 * What to call a file we read, in a report: the file itself, not the door
 * we came in by.  /proc/PID/map_files/... (a live target's own mapping) is
 * the file the target knew as modname; /proc/PID/root/X is X in the
 * target's root.  Neither names anything once the process is gone, and
 * a layout cache entry outlives the process.
 */
static char *display_name(const char *path, const char *modname)
{
	char *out = NULL;
	int pid, n = 0;
	if (sscanf(path, "/proc/%d/map_files/%*[0-9a-f]-%*[0-9a-f]%n", &pid, &n) == 1 &&
	    n > 0 && path[n] == '\0' && modname)
		return strdup(modname);
	n = 0;
	if (sscanf(path, "/proc/%d/root%n", &pid, &n) == 1 && n > 0 && path[n] == '/') {
		if (asprintf(&out, "%s (in the target's root)", path + n) < 0)
			out = NULL;
		return out;
	}
	return strdup(path);
}

Dwarf *gci_program_dwarf(struct gci_program *prog, Dwfl_Module *mod,
			 Dwarf_Addr *bias, const char **file)
{
	if (prog->opts.no_dwarf)
		return NULL;
	struct gci_program *saved = dwfl_prog;
	dwfl_prog = prog;
	Dwarf *dw = dwfl_module_getdwarf(mod, bias);
	const char *debugfile = NULL, *mainfile = NULL;
	const char *modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile,
					       &debugfile);
	dwfl_prog = saved;
	bool fetched = false;
	for (size_t i = 0; i < prog->ndebuginfod_mods; i++)
		fetched |= prog->debuginfod_mods[i] == mod;
	const char *from = debugfile ? debugfile : mainfile;
	free(prog->dwarf_name);
	prog->dwarf_name = NULL;
	if (from) {
		char *name = display_name(from, modname);
		if (name && fetched) {
			char *n2;
			if (asprintf(&n2, "%s (fetched by debuginfod)", name) < 0)
				n2 = NULL;
			free(name);
			name = n2;
		}
		prog->dwarf_name = name;
	}
	if (file)
		*file = prog->dwarf_name ? prog->dwarf_name : from;
	return dw;
}

struct gci_error *gci_program_open_late(struct gci_program *prog)
{
	const struct file_range *ranges = prog->ranges;
	for (size_t i = 0; ranges && prog->core && i < prog->core->nfiles; i++)
		if (ranges[i].prog && !program_file(prog, ranges[i].entry->path, NULL, 0))
			return &gci_enomem;
	if (prog->proc_pid > 0)
		gci_program_open_proc(prog);
	return NULL;
}

uint64_t gci_program_saved_bytes(const struct gci_program *prog)
{
	uint64_t total = 0;
	for (size_t i = 0; i < prog->mem.nsegs[GCI_TIER_PRIMARY]; i++) {
		const struct gci_segment *s = &prog->mem.segs[GCI_TIER_PRIMARY][i];
		total += s->saved_end - s->start;
	}
	return total;
}
