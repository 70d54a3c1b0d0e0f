/*
 * The gcinspect command line: one option table, one verb table, one rule.
 *
 * Every option is parsed once, in main.c, into struct cli.  Each verb says
 * which options it takes (a bit set over enum cli_opt); an option given to a
 * verb that does not take it is a usage error naming both, so no option is
 * ever ignored silently.  A verb's code lives in a file of its own
 * (cmd_*.c) and receives the parsed command line.
 */
#ifndef GCI_CLI_H
#define GCI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gcinspect.h"

enum cli_opt {
	O_PID,
	O_NO_STOP,
	O_GENERATION,
	O_PAGES,
	O_LIMIT,
	O_JSON,
	O_EXE,
	O_SYSROOT,
	O_DEBUG_DIR,
	O_NO_DWARF,
	O_NO_CACHE,
	O_OFFLINE,
	O_MAX_CORE_SIZE,
	O_VERBOSE,
	O_TYPE,
	O_MIN_SIZE,
	O_PAGE,
	O_OUTPUT,
	O_INTERVAL,
	O_COUNT,
	O_PROMETHEUS,
	O_NO_SANDBOX,
	O_NOPT
};
#define OPT(o) (UINT64_C(1) << (o))
/* The options of every verb that reads a target. */
#define OPTS_TARGET (OPT(O_PID) | OPT(O_NO_STOP) | OPT(O_EXE) | OPT(O_SYSROOT) | \
		     OPT(O_DEBUG_DIR) | OPT(O_NO_DWARF) | OPT(O_NO_CACHE) | OPT(O_OFFLINE) | \
		     OPT(O_MAX_CORE_SIZE) | OPT(O_VERBOSE) | \
		     OPT(O_NO_SANDBOX))

/* A core file or a live process, in the order the command line named them. */
struct cli_target {
	const char *path;  /* a core file ("-": standard input), or NULL */
	int pid;           /* a live process, or 0 */
	char name[32];     /* "pid 123", for messages (path otherwise) */
};

#define CLI_MAX_TARGETS 2
#define CLI_MAX_ARGS 8

struct cli {
	const struct cli_verb *verb;
	uint64_t given;                 /* bit set of options on the command line */
	struct gci_options opts;
	int verbosity;
	bool json, pages, no_stop, no_sandbox;
	const char *generation;
	size_t limit;
	const char *type;        /* --type NAME or 0xADDRESS */
	uint64_t min_size;       /* --min-size */
	uint64_t page;           /* --page (given: OPT(O_PAGE) in given) */
	const char *output;      /* -o FILE */
	double interval;                /* workers: seconds between samples, 0: one */
	long count;                     /* workers: samples (0: until stopped) */
	const char *prometheus;         /* workers: the exposition file */
	struct cli_target targets[CLI_MAX_TARGETS];
	size_t ntargets;
	/* positional arguments that are not targets (help's VERB) */
	const char *args[CLI_MAX_ARGS];
	size_t nargs;
};

struct cli_verb {
	const char *name;
	const char *synopsis;     /* after "gcinspect NAME " */
	const char *description;  /* one paragraph for help */
	uint64_t options;         /* what it takes, beyond -h */
	/* targets it needs: min and max; and free arguments (help) */
	unsigned min_targets, max_targets, max_args;
	int (*run)(struct cli *cli);
};

/* Print "gcinspect: MESSAGE (see gcinspect help VERB)" and return 64. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print the error as one line naming the target, free it, return its status. */
int cli_fail(struct gci_error *err, const char *target);
/* Print a warning line on stderr. */
void cli_warn(const char *target, const char *message);

/* Open a target as a program. */
struct gci_error *cli_open(struct cli *cli, const struct cli_target *t,
			   struct gci_program **ret);
/*
 * Open a target and take its snapshot (stopped for the walk, unless
 * --no-stop).  Prints warnings and returns an exit status; on success
 * *ret_prog and *ret_snap are set (and must be destroyed by the caller).
 */
int cli_snapshot(struct cli *cli, const struct cli_target *t, unsigned flags,
		 struct gci_program **ret_prog, struct gci_snapshot **ret_snap);
/*
 * The same, telling fn about each object as it is walked
 * (gci_snapshot_take_each).  When fn stopped the walk, the status is
 * cancelled_status and nothing is printed (fn said why).  Warnings go to
 * stderr unless warnings_in_json.
 */
int cli_snapshot_each(struct cli *cli, const struct cli_target *t, unsigned flags,
		      gci_object_fn *fn, void *arg, bool warnings_in_json,
		      int cancelled_status, struct gci_program **ret_prog,
		      struct gci_snapshot **ret_snap);
/* "core.123" or "pid 123". */
const char *cli_target_name(const struct cli_target *t);
/* After a report: integrity problems said on stderr, exit 1; else 0. */
int cli_partial(const struct gci_snapshot *snap, const char *name);
/* Progress on stderr (a tty) after a second of work; cleared when done. */
void cli_progress(void *arg, const char *what, uint64_t done, uint64_t total, bool final);
/* Clear a progress line before other output on stderr. */
void cli_progress_clear(void);
/* Write a report to stdout; returns 0 or 70 (the write failed). */
int cli_write_stdout(const char *text);

/* The verbs. */
int cmd_report(struct cli *cli);      /* summary, types, touch */
int cmd_gdb_script(struct cli *cli);
int cmd_objects(struct cli *cli);     /* objects, streamed */
int cmd_diff(struct cli *cli);        /* two snapshots */
int cmd_html(struct cli *cli);        /* report -o FILE.html */
int cmd_workers(struct cli *cli);     /* a pre-fork server: cmd_workers.c */
int cmd_help(struct cli *cli);

#endif
