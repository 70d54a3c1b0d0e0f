/*
 * A program: the address space of one target plus the ELF files it had
 * loaded (through libdwfl), their symbols and DWARF.  Analysis code reads
 * target memory only through prog->mem.
 */
#ifndef GCI_PROGRAM_H
#define GCI_PROGRAM_H

#include <elfutils/libdwfl.h>
#include <stdarg.h>

#include "core.h"
#include "error.h"
#include "memory.h"

/* A file the target mapped, as resolved on this machine. */
struct gci_file {
	char *core_path;     /* the path the target knew it by */
	char *path;          /* where we found it, NULL if not found */
	int fd;
	Elf *elf;
	const unsigned char *raw;
	size_t size;
	bool tried;
	char *why;           /* why it could not be used */
};

struct gci_program {
	struct gci_options opts;
	char *sysroot, *exe, *debug_dir;
	bool debug_dir_default;  /* no debug dir given: SYSROOT/usr/lib/debug */
	char *debuginfo_path;  /* for libdwfl: ":.debug:DEBUG_DIR" */
	struct gci_memory mem;
	struct gci_core *core;
	const char *kind;
	char signame[16];      /* "SIGSEGV" */
	char *target_path;
	char *exe_core_path;   /* the executable's path as the target knew it */
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	struct gci_file *files;
	size_t nfiles;
	size_t *file_index;    /* open addressing: path -> index + 1 */
	size_t file_index_cap;
	void *ranges;          /* struct file_range[], args of fallback segments */
	/* the files the target mapped: a core's NT_FILE, /proc/PID/maps, or
	 * what a callback's caller said */
	const struct gci_mapping *maps;
	size_t nmaps;
	struct gci_mapping *own_maps;  /* maps, when the program owns them */
	struct gci_block_cache *cache; /* live and callback memory */
	/* callback programs */
	gci_read_fn *read_cb;
	void *read_arg;
	/* live programs */
	int pid;
	/* The pid whose /proc files describe the target (pagemap, smaps,
	 * map_files, root): a live program's own, or a callback program's
	 * when its caller said it is a live process (gci_program_set_process_info);
	 * 0 for a core.  Only pid is ever stopped, or checked for change. */
	int proc_pid;
	int memfd;
	/* /proc/PID/pagemap and smaps, once opened before confinement
	 * (gci_program_open_late); -1 otherwise, with the open's errno. */
	int pagemap_fd, smaps_fd;
	int pagemap_errno, smaps_errno;
	int *tids;                     /* threads seized by gci_program_stop */
	int *tid_signals;              /* a signal each stopped on, to deliver */
	size_t ntids;
	uint64_t stop_start_usec;
	struct gci_prefetch *prefetch; /* live.c: reader threads while stopped */
	bool was_stopped;
	uint64_t stopped_usec;
	char comm[17];
	char *cmdline;
	/* callback programs: what the caller said (gci_program_set_process_info) */
	bool have_info;
	bool maps_pending;             /* files not yet reported (gci_program_prepare) */
	struct gci_process_info info;
	char *info_strings[4];
	/* debuginfod: the client (made when first needed), and the modules
	 * whose debug info it gave */
	struct debuginfod_client *debuginfod;
#define GCI_MAX_DEBUGINFOD_MODS 8
	Dwfl_Module *debuginfod_mods[GCI_MAX_DEBUGINFOD_MODS];
	size_t ndebuginfod_mods;
	char *dwarf_name;              /* gci_program_dwarf's *file */
	/* the debuginfod download under way, for its progress lines */
	const char *fetch_what;
	uint64_t fetch_start, fetch_last;
	bool fetch_shown;
	/* warnings found while opening (build-id mismatches, truncation) */
	char **warnings;
	size_t nwarnings;
};

void gci_log(const struct gci_program *prog, enum gci_log_level level,
	     const char *fmt, ...) GCI_PRINTF(3, 4);
/* The same, through options' log callback (for callers with no program). */
void gci_options_vlog(const struct gci_options *opts, enum gci_log_level level,
		      const char *fmt, va_list ap) GCI_PRINTF(3, 0);
/* Keep a warning for the report (and log it). */
void gci_program_warn(struct gci_program *prog, const char *fmt, ...)
	GCI_PRINTF(2, 3);

struct gci_symbol {
	uint64_t address;
	uint64_t size;
	Dwfl_Module *module;
	const char *module_name;
};

/*
 * Look a symbol up in the modules that can hold CPython (the executable and
 * any libpython); GCI_ERR_NOT_PYTHON-free: returns false if not found.
 */
bool gci_program_symbol(struct gci_program *prog, const char *name,
			struct gci_symbol *ret);

/* A symbol of one module (NULL module: not found). */
bool gci_program_module_symbol(struct gci_program *prog, Dwfl_Module *mod,
			       const char *name, struct gci_symbol *ret);

/*
 * The DWARF of a module, or NULL (no_dwarf, or none found).  *file names
 * the file it was read from as a report should: the real file (never a
 * /proc path of the target), and "(fetched by debuginfod)" if it came
 * from there; valid until the next call.
 */
Dwarf *gci_program_dwarf(struct gci_program *prog, Dwfl_Module *mod,
			 Dwarf_Addr *bias, const char **file);

/* Shared by the program kinds (program.c), used by live.c. */
struct gci_error *gci_program_create(const struct gci_options *opts,
				     struct gci_program **ret);
/* Report the ELF files of prog->maps to libdwfl (live and callback targets). */
struct gci_error *gci_program_report_maps(struct gci_program *prog);
/*
 * Before a snapshot: a callback program reports its files now, not when it
 * is opened, so that a live pid its caller names afterwards
 * (gci_program_set_process_info) finds them as the CLI does.
 */
struct gci_error *gci_program_prepare(struct gci_program *prog);
/*
 * The target is the live process pid (live.c): its /proc files are read for
 * page sharing and smaps, and for its mapped files and debug info unless
 * opts->sysroot or opts->debug_dir say otherwise.
 */
struct gci_error *gci_program_set_proc_pid(struct gci_program *prog, int pid);

struct gci_pageset;
/*
 * Live targets (prog->proc_pid): sort the pages of `pages` by
 * /proc/PID/pagemap into shared with another process (present, not
 * exclusively mapped), exclusive, and absent (not present or swapped).
 * GCI_ERR_INPUT if pagemap is unreadable.
 */
struct gci_error *gci_program_page_sharing(struct gci_program *prog,
					   const struct gci_pageset *pages,
					   struct gci_pageset *shared,
					   struct gci_pageset *exclusive, uint64_t *absent);
/* Live targets (prog->proc_pid): smaps totals (kB) over the mappings
 * holding any of pages. */
struct gci_error *gci_program_smaps(struct gci_program *prog,
				    const struct gci_pageset *pages,
				    struct gci_smaps *ret);

/*
 * Live targets: the blocks (address >> GCI_BLOCK_SHIFT) a walk is expected
 * to read, in order: the trace of a walk of a process forked from the same
 * parent (gci_block_cache_trace).  While the target is stopped, reader
 * threads read them ahead of the walk; a read the hint did not foresee is
 * made as before.  The list is copied; n = 0 drops the hint.
 */
struct gci_error *gci_program_prefetch_hint(struct gci_program *prog,
					    const uint64_t *blocks, size_t n);
/* Stops the reader threads and frees the hint (gci_program_destroy). */
void gci_program_prefetch_free(struct gci_program *prog);

/*
 * Search target memory in [lo, hi), the same way for a core, a live process
 * and a callback program (scan.c): fn sees the readable bytes in blocks (at
 * most 256 KiB), consecutive blocks overlapping by overlap bytes; it returns
 * true to stop.  Unreadable pages are skipped.  *ret_bytes (may be NULL):
 * how many bytes were searched.
 */
typedef bool gci_scan_fn(void *arg, uint64_t address, const unsigned char *buf, size_t size);
struct gci_error *gci_program_scan(struct gci_program *prog, uint64_t lo, uint64_t hi,
				   size_t overlap, gci_scan_fn *fn, void *arg,
				   uint64_t *ret_bytes);

/*
 * Open now what the program would otherwise open later, while it is read
 * (before gci_program_confine): the files behind the fallback tier, and for
 * live targets /proc/PID/pagemap and smaps.  A file that cannot be opened
 * is not an error here: reading it fails later, saying why.
 */
struct gci_error *gci_program_open_late(struct gci_program *prog);
/* Live targets: the pagemap and smaps part of gci_program_open_late. */
void gci_program_open_proc(struct gci_program *prog);

/* live.c: a small /proc (or other text) file, NUL-terminated; NULL with
 * errno on failure. */
char *gci_proc_read(const char *path, size_t *ret_len);
/* The next line of a text buffer, NUL-terminated in place; NULL at the end. */
char *gci_proc_next_line(char **cur);

/* Total bytes the primary tier can read (a bound for walks). */
uint64_t gci_program_saved_bytes(const struct gci_program *prog);

#endif
