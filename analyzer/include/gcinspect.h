/*
 * gcinspect: reconstruct a CPython process's garbage-collector generations
 * from the outside (an ELF core file, a live process, or any memory that a
 * caller can read), and report what a collection would touch.
 *
 * This is the one installed header of libgcinspect.  Conventions:
 *   - every name starts with gci_ / GCI_;
 *   - every fallible function returns a struct gci_error * (NULL means
 *     success) and writes its results through trailing out-parameters named
 *     ret*, only on success;
 *   - objects made with _create/_open are released with _destroy, and
 *     _destroy(NULL) does nothing;
 *   - the library never prints: it returns results and logs through the
 *     callback in struct gci_options.
 */
#ifndef GCINSPECT_H
#define GCINSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GCI_VERSION_STRING "0.2.0"

#if defined(__GNUC__)
#define GCI_API __attribute__((visibility("default")))
#else
#define GCI_API
#endif

/** @defgroup errors Errors
 * @{ */

/*
 * Error codes.  Each maps to one documented exit status of the CLI
 * (gci_error_exit_status()).
 */
enum gci_error_code {
	GCI_ERR_NOMEM = 1,      /* out of memory */
	GCI_ERR_USAGE,          /* bad arguments from the caller */
	GCI_ERR_INPUT,          /* input unreadable, not a core, damaged */
	GCI_ERR_FAULT,          /* target memory could not be read */
	GCI_ERR_NOT_PYTHON,     /* no CPython interpreter found */
	GCI_ERR_UNSUPPORTED,    /* a CPython we have no layout for */
	GCI_ERR_FREE_THREADED,  /* a free-threaded build: no GC lists */
	GCI_ERR_INTEGRITY,      /* target data is inconsistent */
	GCI_ERR_OTHER,          /* anything else (a library call failed) */
	GCI_ERR_ACCESS,         /* a live process we may not read or stop */
	GCI_ERR_TRACED,         /* a live process another tracer holds */
	GCI_ERR_NO_PROCESS,     /* no such process, a zombie, a kernel thread */
	GCI_ERR_OUTPUT,         /* the report could not be written */
};

struct gci_error {
	enum gci_error_code code;
	/* Whether address is meaningful (memory faults, integrity errors). */
	bool has_address;
	uint64_t address;
	char *message;
};

/* A statically allocated out-of-memory error; gci_error_destroy ignores it. */
GCI_API extern struct gci_error gci_enomem;

GCI_API void gci_error_destroy(struct gci_error *err);
/* The exit status the CLI uses for an error of this code. */
GCI_API int gci_error_exit_status(enum gci_error_code code);

/* Exit statuses of the gcinspect command, documented in its --help. */
enum {
	GCI_EXIT_OK = 0,
	GCI_EXIT_PARTIAL = 1,       /* result printed, integrity problems found */
	GCI_EXIT_INPUT = 2,         /* unreadable input, not a core, damaged */
	GCI_EXIT_NOT_PYTHON = 3,    /* not a Python process, or unsupported version */
	GCI_EXIT_FREE_THREADED = 4, /* free-threaded build: nothing to walk */
	GCI_EXIT_ACCESS = 5,        /* live: no permission to read or stop it */
	GCI_EXIT_TRACED = 6,        /* live: another tracer (a debugger) holds it */
	GCI_EXIT_NO_PROCESS = 7,    /* live: no such process, a zombie or kernel thread */
	GCI_EXIT_USAGE = 64,        /* bad command line */
	GCI_EXIT_SOFTWARE = 70,     /* internal error (out of memory, ...) */
	GCI_EXIT_OUTPUT = 74,       /* the report could not be written */
};
/** @} */

/** @defgroup options Options and logging
 * @{ */

enum gci_log_level { GCI_LOG_WARNING, GCI_LOG_INFO, GCI_LOG_DEBUG };
typedef void gci_log_fn(void *arg, enum gci_log_level level, const char *message);

struct gci_options {
	const char *sysroot;   /* prefix for the paths a core names (NULL: none) */
	const char *exe;       /* the executable, overriding the core's path */
	const char *debug_dir; /* detached debug info (NULL: SYSROOT/usr/lib/debug) */
	bool no_dwarf;         /* never use DWARF: built-in layout tables only */
	bool no_cache;         /* neither read nor write the layout cache */
	gci_log_fn *log;       /* may be NULL */
	void *log_arg;
};
/** @} */

/** @defgroup program Programs: the memory and files of one target
 * @{ */

struct gci_program;

/* Open an ELF core file. */
GCI_API struct gci_error *gci_program_open_core(const char *path,
					const struct gci_options *opts,
					struct gci_program **ret);

/*
 * A caller-supplied memory source (the gdb plugin, tests): read size bytes at
 * address into buf; return 0, or -1 if the memory cannot be read.  Reads
 * come in blocks of up to 16 KiB, cached by the library: never one call
 * per object.
 */
typedef int gci_read_fn(void *arg, uint64_t address, void *buf, size_t size);

/* A file mapped into the target, as /proc/PID/maps or a core's NT_FILE say. */
struct gci_mapping {
	uint64_t start, end;  /* [start, end) in the target */
	uint64_t offset;      /* byte offset in the file */
	const char *path;     /* the path as the target knew it */
};

/*
 * A program over a callback.  maps lists the files the target has mapped;
 * the ELF ones (executable, libpython) are loaded for symbols and DWARF,
 * found under opts->sysroot, with opts->exe for the executable.
 */
GCI_API struct gci_error *gci_program_open_callback(gci_read_fn *read, void *arg,
					    const struct gci_mapping *maps, size_t nmaps,
					    const struct gci_options *opts,
					    struct gci_program **ret);

/*
 * A live process: memory through /proc/PID/mem in cached blocks, files
 * through /proc/PID/root (so a process in a container is read with its own
 * files) unless opts->sysroot says otherwise.  Does not stop the process.
 */
GCI_API struct gci_error *gci_program_open_pid(int pid, const struct gci_options *opts,
				       struct gci_program **ret);

/*
 * Stop every thread of a live target with PTRACE_SEIZE + PTRACE_INTERRUPT,
 * which sends no signal: if gcinspect dies, the kernel detaches and the
 * target runs on.  gci_program_resume detaches; *ret_usec is how long the
 * target was stopped.  Reads after a stop see a consistent heap.
 */
GCI_API struct gci_error *gci_program_stop(struct gci_program *prog);
GCI_API struct gci_error *gci_program_resume(struct gci_program *prog, uint64_t *ret_usec);

GCI_API void gci_program_destroy(struct gci_program *prog);

/*
 * Confine the calling process for the rest of its life (docs/sandbox.md):
 * first open what prog will still need (live: /proc/PID/pagemap and
 * smaps), then set PR_SET_NO_NEW_PRIVS and install a seccomp filter on
 * every thread.  Afterwards the process can read from the descriptors it
 * holds, allocate memory that is never executable, write to standard
 * output and standard error only, detach from the threads of prog it holds
 * stopped (gci_program_stop), and exit; every other system call fails with
 * EPERM (no file is opened, no socket made), and exec kills it.  Call it
 * once discovery and the layout are done, that is, once every file is
 * open: GCI_SNAPSHOT_CONFINE does so inside gci_snapshot_take.  A program
 * that lives on (the gdb plugin) must not call it.  prog may be NULL.
 * Calling it again (another snapshot) keeps the filter there is; a confined
 * process cannot open or stop another target.  GCI_ERR_OTHER if the kernel
 * refuses the filter.
 */
GCI_API struct gci_error *gci_program_confine(struct gci_program *prog);

/* What the core's notes say about the process (unknown fields: -1 / NULL). */
struct gci_process_info {
	int64_t pid;
	int signal;             /* fatal signal, or -1 */
	const char *signal_name;/* "SIGSEGV", or NULL */
	const char *command;    /* the command name (pr_fname) */
	const char *args;       /* the command line (pr_psargs), as saved */
	const char *path;       /* what the target was opened from */
	const char *kind;       /* "core", "live", "callback" */
	bool stopped;           /* live: the target was stopped for the walk */
	uint64_t stopped_usec;  /* for how long (gci_program_resume) */
};
GCI_API void gci_program_process_info(const struct gci_program *prog,
			      struct gci_process_info *ret);

/*
 * For callback programs: what the caller knows of the target (a gdb session
 * knows the core file, pid, command line and signal), so that reports say
 * the same as the CLI's.  Strings are copied; NULL fields stay unknown.
 */
GCI_API struct gci_error *gci_program_set_process_info(struct gci_program *prog,
					       const struct gci_process_info *info);
/** @} */

/** @defgroup snapshot Snapshots: the GC state as found and walked
 * @{ */

/* Where the numbers describing a CPython build came from. */
enum gci_layout_source {
	GCI_LAYOUT_DWARF,
	GCI_LAYOUT_TABLE,
};

/* Memory of the mappings holding GC heads, from /proc/PID/smaps (kB). */
struct gci_smaps {
	bool known;
	uint64_t mappings, rss, shared_clean, shared_dirty, private_clean, private_dirty;
};

struct gci_gen_data;

/* One list the collector keeps: a generation or the permanent generation. */
struct gci_gen {
	char name[16];        /* "0", "1", "2", "permanent"; incremental:
			       * "young", "old[0]", "old[1]" */
	uint64_t head;        /* address of the list head */
	int64_t threshold;    /* -1 where the version has none */
	int64_t count;
	size_t nobjects;      /* objects found on the list */
	uint64_t bytes;       /* their bytes (body, GC head, pre-header, prefix) */
	bool complete;        /* false: the walk stopped at a broken link */
	uint64_t last_head;   /* GC head of its last object (0: empty) */
	/* With GCI_SNAPSHOT_OBJECTS: its objects are snap->objects[first..] */
	size_t first;
	struct gci_gen_data *data; /* private: page set, per-type totals */
};

struct gci_type {
	uint64_t address;
	char *name;           /* tp_name as in the target, or a placeholder */
	bool name_known;      /* false: placeholder saying why */
	int64_t basicsize, itemsize;
	uint64_t flags;
};

struct gci_object {
	uint64_t address;     /* the PyObject (not the GC head) */
	uint32_t type;        /* index into the snapshot's types */
	uint32_t size;        /* bytes: body + GC head + pre-header + debug prefix */
};

struct gci_problem {
	uint64_t address;
	char *message;
};

#define GCI_MAX_GENS 5

struct gci_interp {
	int64_t id;
	uint64_t address;     /* PyInterpreterState *, or 0 (3.7/3.8: runtime) */
	uint64_t gc_state;    /* address of the GC state */
	int enabled;          /* 1, 0, or -1 unknown */
	int collecting;       /* 1, 0, or -1 unknown */
	int64_t long_lived_total, long_lived_pending; /* -1 unknown */
	int64_t heap_size;    /* 3.14+: the collector's count of GC objects, or -1 */
	const char *collector;/* "generational" or "incremental" (3.14.0-3.14.4) */
	int visited_space;    /* incremental: old[visited_space] is the visited list */
	int phase;            /* incremental: 0 mark, 1 collect; else -1 */
	size_t ngens;         /* generations, not counting permanent */
	struct gci_gen gens[GCI_MAX_GENS];
	bool has_permanent;
	struct gci_gen permanent;
};

struct gci_snapshot {
	struct gci_program *prog;
	char version[32];        /* "3.11.2" */
	uint32_t version_hex;    /* PY_VERSION_HEX */
	const char *version_source; /* "Py_Version", "debug offsets", ... */
	enum gci_layout_source layout_source;
	const char *layout_name; /* provenance: table name, or the DWARF file */
	/* _Py_DebugOffsets (3.13+): "used" (a layout source), "checked"
	 * (compared with DWARF), or NULL (absent) */
	const char *debug_offsets;
	bool debug_build;
	uint64_t runtime;        /* &_PyRuntime (0 for 3.6) */
	size_t ninterps;
	struct gci_interp *interps; /* the main interpreter first */
	size_t nobjects;         /* kept object records (GCI_SNAPSHOT_OBJECTS) */
	struct gci_object *objects;
	size_t ntypes;
	struct gci_type *types;
	size_t nproblems;
	struct gci_problem *problems;
	/* Live targets: the mappings holding GC heads (smaps), at the walk. */
	struct gci_smaps smaps;
	/* When the memory was as read, in seconds since the epoch (UTC), and
	 * how that is known: "walk" (a live target, at its walk), "core file
	 * mtime" (when the core was written), or NULL and 0 (unknown). */
	int64_t time;
	const char *time_source;
};

/* Flags for gci_snapshot_take. */
enum {
	/* Keep a record per object (snap->objects); without it only per-list
	 * totals are kept, in memory independent of the object count. */
	GCI_SNAPSHOT_OBJECTS = 1 << 0,
	/* Keep a page set per type and list (which types hold the most
	 * pages a collection would touch). */
	GCI_SNAPSHOT_TYPE_PAGES = 1 << 1,
	/* Live targets: stop the target (gci_program_stop) for the walk only,
	 * after discovery and layout, and resume it before returning. */
	GCI_SNAPSHOT_STOP = 1 << 2,
	/* Confine the process (gci_program_confine) after discovery, the
	 * layout (DWARF, the layout cache) and the stop, before the
	 * interpreters, the lists and the type objects are read. */
	GCI_SNAPSHOT_CONFINE = 1 << 3,
};

/* Find the interpreter(s), choose the layout and walk every GC list. */
GCI_API struct gci_error *gci_snapshot_take(struct gci_program *prog, unsigned flags,
				    struct gci_snapshot **ret);
GCI_API void gci_snapshot_destroy(struct gci_snapshot *snap);

/*
 * Warnings found while opening and walking (a file whose build-id does not
 * match, type names that could not be read, ...): *ret points at count
 * strings owned by the snapshot.  Text reports leave them to the caller
 * (the CLI prints them on stderr); JSON reports carry them in "warnings".
 */
GCI_API size_t gci_snapshot_warnings(const struct gci_snapshot *snap, const char *const **ret);

/* Read the reference count of a kept object (-1 on failure). */
GCI_API int64_t gci_object_refcount(const struct gci_snapshot *snap, size_t index);
/** @} */

/** @defgroup analyses Analyses
 * @{ */

/*
 * The lists a selector names, into ret (room for GCI_MAX_GENS + 1): which as
 * gc.get_objects(generation=N) takes it on the target's CPython ("0", "1",
 * "2"; on 3.14.0-3.14.4 0 is the young list, 1 none, 2 both old spaces), or a
 * list's name ("permanent"; "young", "old[0]", "old[1]", "old").  NULL: every
 * list.  GCI_ERR_USAGE names the choices.
 */
GCI_API struct gci_error *gci_select_lists(const struct gci_snapshot *snap,
					   const struct gci_interp *in, const char *which,
					   const struct gci_gen **ret, size_t *ret_n);

struct gci_gen_stats {
	uint64_t objects, bytes, pages; /* pages: distinct 4 KiB pages of GC heads */
};
GCI_API struct gci_error *gci_gen_stats(const struct gci_snapshot *snap,
				const struct gci_gen *gen,
				struct gci_gen_stats *ret);

struct gci_type_count {
	uint32_t type;    /* index into snap->types */
	uint64_t objects, bytes;
};
/*
 * Type histogram over the given lists, largest (bytes, then objects) first.
 * The caller frees *ret with free().
 */
GCI_API struct gci_error *gci_type_histogram(const struct gci_snapshot *snap,
				     const struct gci_gen *const *gens, size_t ngens,
				     struct gci_type_count **ret, size_t *ret_count);
/** @} */

/*
 * What a collection of one generation would write (the touch model,
 * docs/touch-model.md): the GC heads of every object in generations
 * 0..generation, the last object of the next older generation (the merge
 * writes it), and the GC state itself.
 */
struct gci_touch {
	int generation;
	uint64_t objects;       /* objects whose GC head is written */
	uint64_t object_bytes;  /* their bytes */
	uint64_t pages;         /* distinct 4 KiB pages written */
	uint64_t state_pages;   /* of which pages of the GC state */
	/* Live targets (pagemap): of those pages, how many are still shared
	 * with another process (a write copies them), exclusive, absent. */
	bool sharing_known;
	uint64_t shared_pages, exclusive_pages, absent_pages;
	uint64_t packed_pages;  /* what-if: heads packed densely in pages of their own */
};
GCI_API struct gci_error *gci_touch_compute(const struct gci_snapshot *snap,
				    const struct gci_interp *in, int generation,
				    struct gci_touch *ret);

/* Which generation the next automatic collection will collect. */
struct gci_next_collection {
	int generation;        /* -1: none (disabled, or unknown) */
	int64_t allocations;   /* net GC allocations until it runs (-1 unknown) */
	const char *reason;    /* a sentence: why this generation */
};
GCI_API void gci_next_collection(const struct gci_snapshot *snap,
				 const struct gci_interp *in,
				 struct gci_next_collection *ret);

/** @defgroup reports Reports
 * @{ */

enum gci_report_kind { GCI_REPORT_SUMMARY, GCI_REPORT_TYPES, GCI_REPORT_TOUCH };
enum gci_report_format { GCI_FORMAT_TEXT, GCI_FORMAT_JSON };

struct gci_report_options {
	enum gci_report_kind kind;
	enum gci_report_format format;
	/* types: which list ("0", "1", "2", "permanent"), NULL = all together;
	 * touch: which collection ("0", "1", "2"), NULL = each */
	const char *generation;
	bool pages;     /* touch: list every page (needs GCI_SNAPSHOT_OBJECTS) */
	size_t limit;   /* text types: rows shown (0: all) */
};

/* Render a report; the caller frees *ret with free(). */
GCI_API struct gci_error *gci_report(const struct gci_snapshot *snap,
			     const struct gci_report_options *opts, char **ret);
/** @} */

#ifdef __cplusplus
}
#endif
#endif /* GCINSPECT_H */
