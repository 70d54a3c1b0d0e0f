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
	GCI_ERR_FREE_THREADED,  /* retired: free-threaded builds are read now
				 * (never returned; kept for the numbering) */
	GCI_ERR_INTEGRITY,      /* target data is inconsistent */
	GCI_ERR_OTHER,          /* anything else (a library call failed) */
	GCI_ERR_ACCESS,         /* a live process we may not read or stop */
	GCI_ERR_TRACED,         /* a live process another tracer holds */
	GCI_ERR_NO_PROCESS,     /* no such process, a zombie, a kernel thread */
	GCI_ERR_OUTPUT,         /* the report could not be written */
	GCI_ERR_CANCELLED,      /* a caller's callback asked to stop */
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
	GCI_EXIT_FREE_THREADED = 4, /* retired: never returned (free-threaded
				     * builds were refused before 0.2; an
				     * unreadable one is now 3) */
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

/*
 * GCI_LOG_PROGRESS: where long work stands (decompressing a core, fetching
 * debug info from debuginfod), sent a few times a second once the work has
 * taken a second; an empty message means it is over.  A terminal can show
 * it in place; anything else can ignore it.
 */
enum gci_log_level { GCI_LOG_WARNING, GCI_LOG_INFO, GCI_LOG_DEBUG, GCI_LOG_PROGRESS };
typedef void gci_log_fn(void *arg, enum gci_log_level level, const char *message);

/*
 * Progress of long work: what is being done ("walk"), how much of it is
 * done (objects walked) and the total when known (else 0).  Called from the
 * enumeration every GCI_PROGRESS_EVERY objects, and once more at its end
 * (done == total, or total 0 and final); the caller decides whether and how
 * to show it.
 */
#define GCI_PROGRESS_EVERY 65536
typedef void gci_progress_fn(void *arg, const char *what, uint64_t done, uint64_t total,
			     bool final);

struct gci_options {
	const char *sysroot;   /* prefix for the paths a core names (NULL: none) */
	const char *exe;       /* the executable, overriding the core's path */
	const char *debug_dir; /* detached debug info (NULL: SYSROOT/usr/lib/debug) */
	bool no_dwarf;         /* never use DWARF: built-in layout tables only */
	bool no_cache;         /* neither read nor write the layout cache */
	/* Never ask a debuginfod server ($DEBUGINFOD_URLS) for debug info. */
	bool offline;
	gci_log_fn *log;       /* may be NULL */
	void *log_arg;
	/*
	 * A compressed or piped core is decompressed (copied) once into an
	 * unlinked temporary file: at most this many bytes (0: no fixed
	 * limit), and never so many that less than 1 GiB (or 5 %) of its file
	 * system stays free.  More is a GCI_ERR_INPUT error.
	 */
	uint64_t max_core_size;
	gci_progress_fn *progress; /* may be NULL */
	void *progress_arg;
};
/** @} */

/** @defgroup program Programs: the memory and files of one target
 * @{ */

struct gci_program;

/*
 * Open an ELF core file: plain, or compressed with zstd, lz4 (frame format),
 * xz or gzip, told apart by their magic bytes (a compressed core is
 * decompressed once into an unlinked temporary file, bounded by
 * opts->max_core_size); a pipe or FIFO is read to its end the same way.
 */
GCI_API struct gci_error *gci_program_open_core(const char *path,
					const struct gci_options *opts,
					struct gci_program **ret);
/*
 * The same, from an open file descriptor (standard input, say), which stays
 * the caller's; name is what reports and messages call the core.
 */
GCI_API struct gci_error *gci_program_open_core_fd(int fd, const char *name,
					   const struct gci_options *opts,
					   struct gci_program **ret);

/*
 * A caller-supplied memory source (the gdb plugin, tests): read size bytes at
 * address into buf; return 0, or -1 if the memory cannot be read.  Reads
 * come in blocks of up to 16 KiB, cached by the library: never one call
 * per object.
 */
typedef int gci_read_fn(void *arg, uint64_t address, void *buf, size_t size);

/*
 * A mapping of the target, as /proc/PID/maps or a core's NT_FILE say: a file,
 * or (path "") anonymous memory.
 */
struct gci_mapping {
	uint64_t start, end;  /* [start, end) in the target */
	uint64_t offset;      /* byte offset in the file */
	const char *path;     /* the path as the target knew it; "" anonymous */
};

/*
 * A program over a callback.  maps lists what the target has mapped: the ELF
 * files (executable, libpython) are loaded for symbols and DWARF at the first
 * snapshot, found under opts->sysroot, with opts->exe for the executable.
 * Searches of the whole address space (a GC state or _Py_DebugOffsets when
 * no file is at hand) read every mapping listed, anonymous ones included:
 * list every readable mapping the caller knows of.
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
/*
 * Before confining: a file the caller opened for its output (report -o)
 * may be written, like standard output (write, ftruncate, fsync of that
 * descriptor only).  At most 4; GCI_ERR_USAGE past that, or once confined.
 */
GCI_API struct gci_error *gci_confine_allow_write(int fd);

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
 * kind "live" with a pid says the target is that process on this machine:
 * its files are then also looked for as gci_program_open_pid looks for them
 * (call this before the first snapshot), and its page sharing and smaps are
 * read from /proc/PID/pagemap and /proc/PID/smaps.
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

/*
 * One list the collector keeps: a generation or the permanent generation.
 * Free-threaded builds keep no lists: there "heap" is every tracked object
 * that is not frozen (what gc.get_objects() returns) and "permanent" the
 * frozen ones (gc.freeze()); their head is 0.
 */
struct gci_gen {
	char name[16];        /* "0", "1", "2", "permanent"; incremental:
			       * "young", "old[0]", "old[1]"; free-threaded:
			       * "heap" */
	uint64_t head;        /* address of the list head (0: no list) */
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
	const char *collector;/* "generational", "incremental" (3.14.0-3.14.4)
			       * or "free-threaded" */
	int visited_space;    /* incremental: old[visited_space] is the visited list */
	int phase;            /* incremental: 0 mark, 1 collect; else -1 */
	size_t ngens;         /* generations, not counting permanent */
	struct gci_gen gens[GCI_MAX_GENS];
	bool has_permanent;
	struct gci_gen permanent;
	/* incremental: the collector's work_to_do (negative: a debt that the
	 * next automatic steps pay off before they collect anything) */
	bool has_work_to_do;
	int64_t work_to_do;
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

/* One object, as the enumeration meets it (gci_snapshot_take_each). */
struct gci_object_info {
	uint64_t address;     /* the PyObject */
	uint64_t gc_head;     /* its GC head (0: the collector kind has none) */
	uint64_t start, end;  /* its memory: [first byte of the debug prefix,
			       * pre-header or GC head, last byte of the object + 1) */
	uint32_t type;        /* index into snap->types */
	uint32_t size;        /* bytes, counted as struct gci_gen's bytes */
	int64_t refcount;     /* ob_refcnt as read, or -1 when it cannot be read */
	const struct gci_interp *interp;  /* the interpreter it belongs to */
	const struct gci_gen *list;       /* the list (generation) it is on */
};

/*
 * Called for every object during the walk, in list order.  snap is the
 * snapshot being taken: its version, layout, interpreters and the types met
 * so far (snap->types[obj->type]) can be read, nothing else.  With
 * GCI_SNAPSHOT_STOP, the live target is stopped while this runs.  Return 0
 * to go on; anything else stops the walk, and gci_snapshot_take_each then
 * fails with GCI_ERR_CANCELLED.
 */
typedef int gci_object_fn(void *arg, const struct gci_snapshot *snap,
			  const struct gci_object_info *obj);

/*
 * gci_snapshot_take, with fn called for each object as it is walked: every
 * object can be seen in memory independent of the object count (no
 * GCI_SNAPSHOT_OBJECTS needed), and the totals of the snapshot returned are
 * those of the very same walk.
 */
GCI_API struct gci_error *gci_snapshot_take_each(struct gci_program *prog, unsigned flags,
					 gci_object_fn *fn, void *arg,
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
 * The collections a target's collector can run, in report order.  The
 * generational collector's are its generations: "0", "1", "2" (numbered).
 * The incremental collector of 3.14.0-3.14.4 has "young" (gc.collect(0)),
 * "increment" (its next automatic step; gc.collect(1) runs one too) and
 * "full" (gc.collect()).  Free-threaded builds have one, "full", with
 * generation 2: every collection there is of the whole heap.  Each is
 * identified by the gc.collect(generation=N) argument that runs it, which
 * gci_touch_compute takes.
 */
struct gci_collection {
	const char *name;       /* "0", "1", "2"; "young", "increment", "full" */
	int generation;         /* the gc.collect(generation=N) that runs it */
	bool numbered;          /* reports name it by its generation number */
	bool full;              /* what gc.collect() runs: the what-ifs compare with it */
	const char *title;      /* text reports: "full collection (gc.collect())" */
};
GCI_API size_t gci_collections(const struct gci_snapshot *snap, const struct gci_interp *in,
			       const struct gci_collection **ret);
/*
 * The collection that which names: its name, or a number as
 * gc.collect(generation=N) takes it.  GCI_ERR_USAGE names the choices.
 */
GCI_API struct gci_error *gci_collection_find(const struct gci_snapshot *snap,
					      const struct gci_interp *in, const char *which,
					      const struct gci_collection **ret);

/*
 * What one collection would write (the touch model, docs/touch-model.md).
 * Generational: the GC heads of every object in generations
 * 0..generation, the last object of the next older generation (the merge
 * writes it), and the GC state itself.  Incremental: see the document.
 * Free-threaded: the header of every tracked object that is not frozen,
 * the allocator metadata of every GC page, and the GC state.
 */
struct gci_touch {
	int generation;         /* the gc.collect(generation=N) that runs it */
	uint64_t objects;       /* objects whose GC head is written */
	uint64_t object_bytes;  /* their bytes */
	uint64_t pages;         /* distinct 4 KiB pages written */
	uint64_t state_pages;   /* of which pages of the GC state */
	/* Live targets (pagemap): of those pages, how many are still shared
	 * with another process (a write copies them), exclusive, absent. */
	bool sharing_known;
	uint64_t shared_pages, exclusive_pages, absent_pages;
	uint64_t packed_pages;  /* what-if: heads packed densely in pages of their own */
	const char *collection; /* its name (struct gci_collection) */
	/* NULL where the model is as exact as for a generational collection
	 * (the reachable part); else a sentence: how these numbers bound
	 * what the collection writes */
	const char *approximation;
	uint64_t meta_pages;    /* of pages, those only of allocator metadata
				 * (free-threaded builds; else 0) */
	/* Memory the collector allocates for its own work, beside pages:
	 * free-threaded builds' mark stack, estimated from the largest list
	 * or tuple of objects it examines (else 0).  A worker's Private_Dirty
	 * grows by these too. */
	uint64_t work_pages;
};
/* generation: as gc.collect(generation=N) takes it (gci_collections). */
GCI_API struct gci_error *gci_touch_compute(const struct gci_snapshot *snap,
				    const struct gci_interp *in, int generation,
				    struct gci_touch *ret);

/*
 * What gc.freeze() itself would write now, where it writes more than a few
 * heads (3.14.0-3.14.4 rewrites the old-space bit of every young and pending
 * object).  *ret_known is false where it writes only a few: ret is then
 * untouched.
 */
GCI_API struct gci_error *gci_freeze_touch(const struct gci_snapshot *snap,
					   const struct gci_interp *in, bool *ret_known,
					   struct gci_touch *ret);

/* Which collection the next automatic one will be. */
struct gci_next_collection {
	int generation;        /* as gc.collect(generation=N); -1: none (disabled, or unknown) */
	int64_t allocations;   /* net GC allocations until it runs (-1 unknown) */
	const char *reason;    /* a sentence: why this collection */
	const char *collection;/* its name (struct gci_collection), or NULL: none */
	/* incremental: what the step does ("nothing", "mark", "collect",
	 * "collect, ending the cycle", "unknown"), else NULL */
	const char *step;
	/* incremental: work_to_do once the step has added its own share */
	bool has_work_to_do;
	int64_t work_to_do;
	/* incremental, "collect": objects it takes from the pending list
	 * in list order (it takes what they reach as well) */
	uint64_t pending_objects;
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
	 * touch: which collection ("0", "1", "2"; on 3.14.0-3.14.4 also
	 * "young", "increment", "full"; free-threaded: "full", or 2), NULL = each */
	const char *generation;
	bool pages;     /* touch: list every page (needs GCI_SNAPSHOT_OBJECTS) */
	size_t limit;   /* text types: rows shown (0: all) */
};

/* Render a report; the caller frees *ret with free(). */
GCI_API struct gci_error *gci_report(const struct gci_snapshot *snap,
			     const struct gci_report_options *opts, char **ret);

/*
 * One object met by gci_snapshot_take_each as `gcinspect objects` prints
 * it, ending in a newline: a text row (under gci_object_format_header), or
 * one line of NDJSON (docs/json-schema.md).  page (may be NULL): the page
 * of an --page filter; the row then says whether the object's GC head or
 * only its memory lies on it.  Like snprintf: writes at most size bytes,
 * the NUL included, and returns the length of the whole line.
 */
GCI_API size_t gci_object_format(const struct gci_snapshot *snap,
				 const struct gci_object_info *obj,
				 enum gci_report_format format, const uint64_t *page,
				 char *buf, size_t size);
/* The column titles of the text rows (with the "on page" column or not). */
GCI_API const char *gci_object_format_header(bool page);
/* Whether the object's GC head or memory lies on the 4 KiB page of page. */
GCI_API bool gci_object_on_page(const struct gci_object_info *obj, uint64_t page);

/*
 * Two snapshots side by side (gcinspect diff): the main interpreters'
 * lists matched by name, and their types matched by name (type objects
 * have other addresses in another process), with objects and bytes in A,
 * in B and the difference, largest growth first.  opts: format, generation
 * (the types of that list only; NULL: every list), limit (text rows).
 */
GCI_API struct gci_error *gci_report_diff(const struct gci_snapshot *a,
				  const struct gci_snapshot *b,
				  const struct gci_report_options *opts, char **ret);

/*
 * One self-contained HTML page (gcinspect report): the summary, each
 * list's type histogram, what each collection would write with the
 * what-ifs, and a map of the pages holding GC heads; the JSON reports it
 * was made from are embedded.  Needs a snapshot taken with
 * GCI_SNAPSHOT_TYPE_PAGES.  opts->limit: rows of each type table shown
 * before the rest (folded; 0: all shown).
 */
GCI_API struct gci_error *gci_report_html(const struct gci_snapshot *snap,
				  const struct gci_report_options *opts, char **ret);
/** @} */

/** @defgroup server Pre-fork servers
 * A master process and the workers it forked from the same executable:
 * each read in turn, and what each worker has copied of the master's
 * memory, page by page (docs/workers.md).
 * @{ */

struct gci_server;

/*
 * Find the pre-fork server that pid belongs to: pid's parent, when it runs
 * the same executable and shares pages with pid (pid is a worker), else pid
 * itself (the master); the workers are the master's children that run its
 * executable and share its pages.  Reads /proc only; stops nothing.
 */
GCI_API struct gci_error *gci_server_open(int pid, const struct gci_options *opts,
				  struct gci_server **ret);

/*
 * Read the master, then each worker, one at a time: each process is opened,
 * walked (stopped for its own walk only, with GCI_SNAPSHOT_STOP), compared
 * with the master page by page (workers), reduced to numbers and closed
 * before the next.  An error is returned only when the master cannot be
 * read; a worker that cannot be read is reported as such.
 */
GCI_API struct gci_error *gci_server_read(struct gci_server *srv, unsigned flags);
GCI_API void gci_server_destroy(struct gci_server *srv);

struct gci_server_status {
	int master_pid;
	size_t nworkers;
	size_t unreadable;     /* workers that could not be read */
	size_t problems;       /* integrity problems, over every process */
	bool frames_known;     /* physical frame numbers could be compared */
};
GCI_API void gci_server_status(const struct gci_server *srv, struct gci_server_status *ret);
/* Warnings of the server and of every process, as for gci_snapshot_warnings. */
GCI_API size_t gci_server_warnings(const struct gci_server *srv, const char *const **ret);

enum gci_server_format {
	GCI_SERVER_TEXT,       /* a row per process and the summary sentence */
	GCI_SERVER_JSON,       /* schema gcinspect/1 (docs/json-schema.md) */
	GCI_SERVER_JSON_LINE,  /* the same document on one line */
	GCI_SERVER_LINES,      /* one line per worker, for repeated samples */
	GCI_SERVER_PROMETHEUS, /* Prometheus text exposition format 0.0.4 */
};
GCI_API struct gci_error *gci_server_report(const struct gci_server *srv,
				    enum gci_server_format format, char **ret);
/** @} */

#ifdef __cplusplus
}
#endif
#endif /* GCINSPECT_H */
