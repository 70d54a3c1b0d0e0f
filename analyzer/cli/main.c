/* gcinspect: the command line, a thin shell over libgcinspect. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcinspect.h"

static const char usage_text[] =
	"Usage: gcinspect [COMMAND] [OPTION]... CORE\n"
	"       gcinspect [COMMAND] [OPTION]... --pid PID\n"
	"Show a CPython process's garbage-collector generations, read from its core\n"
	"or from the running process.\n"
	"\n"
	"Commands:\n"
	"  summary        the GC state: per generation threshold, count, objects,\n"
	"                 bytes and 4 KiB pages, and the permanent generation (default)\n"
	"  types          type histogram (objects, bytes), largest first\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID         read the live process PID instead of a core; it is\n"
	"                        stopped only while its GC lists are walked\n"
	"      --no-stop         do not stop the live process (lists may change\n"
	"                        under the walk; integrity problems say so)\n"
	"  -g, --generation GEN  types: only generation GEN (0, 1, 2 or permanent);\n"
	"                        default: every generation and the permanent one\n"
	"      --limit N         types: rows shown in text output (default 40, 0: all)\n"
	"      --json            JSON output (schema gcinspect/1, docs/json-schema.md)\n"
	"      --exe FILE        the executable, when the core's path is wrong\n"
	"      --sysroot DIR     look for the files the core names under DIR\n"
	"      --debug-dir DIR   detached debug info by build-id\n"
	"                        (default SYSROOT/usr/lib/debug)\n"
	"      --no-dwarf        never use DWARF: built-in layout tables only\n"
	"      --no-cache        neither read nor write the layout cache\n"
	"                        ($GCINSPECT_CACHE_DIR, else ~/.cache/gcinspect)\n"
	"  -v, --verbose         log discovery steps to stderr (twice: more)\n"
	"  -h, --help            this help\n"
	"  -V, --version         the version\n"
	"\n"
	"Exit status:\n"
	"  0   success\n"
	"  1   partial result: printed, but the GC lists had integrity problems\n"
	"  2   the input is unreadable, not a core, or damaged\n"
	"  3   not a Python process, or a CPython version gcinspect cannot read\n"
	"  4   a free-threaded CPython build: it keeps no GC lists\n"
	"  64  usage error\n"
	"  70  internal error (out of memory)\n";

static int verbosity;

static void log_stderr(void *arg, enum gci_log_level level, const char *message)
{
	static const char *const names[] = { "warning", "info", "debug" };
	if ((level == GCI_LOG_WARNING && verbosity >= 1) ||
	    (level == GCI_LOG_INFO && verbosity >= 1) ||
	    (level == GCI_LOG_DEBUG && verbosity >= 2))
		fprintf(stderr, "gcinspect: %s: %s\n", names[level], message);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gcinspect: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see gcinspect --help)\n");
	return GCI_EXIT_USAGE;
}

static int fail(struct gci_error *err)
{
	int status = gci_error_exit_status(err->code);
	fprintf(stderr, "gcinspect: %s\n", err->message);
	gci_error_destroy(err);
	return status;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_EXE, OPT_SYSROOT, OPT_DEBUG_DIR, OPT_NO_DWARF, OPT_LIMIT, OPT_NO_CACHE, OPT_NO_STOP };
	static const struct option longopts[] = {
		{ "generation", required_argument, NULL, 'g' },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
		{ "no-dwarf", no_argument, NULL, OPT_NO_DWARF },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "pid", required_argument, NULL, 'p' },
		{ "no-stop", no_argument, NULL, OPT_NO_STOP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct gci_options opts = { .log = log_stderr };
	struct gci_report_options ropts = {
		.kind = GCI_REPORT_SUMMARY, .format = GCI_FORMAT_TEXT, .limit = 40,
	};
	int c, pid = 0;
	bool no_stop = false;
	/* "+" would stop at the command; we accept options anywhere. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":g:p:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			ropts.generation = optarg;
			break;
		case OPT_LIMIT: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || n < 0)
				return usage_error("--limit takes a count, not '%s'", optarg);
			ropts.limit = (size_t)n;
			break;
		}
		case OPT_JSON:
			ropts.format = GCI_FORMAT_JSON;
			break;
		case OPT_EXE:
			opts.exe = optarg;
			break;
		case OPT_SYSROOT:
			opts.sysroot = optarg;
			break;
		case OPT_DEBUG_DIR:
			opts.debug_dir = optarg;
			break;
		case OPT_NO_DWARF:
			opts.no_dwarf = true;
			break;
		case 'p': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || n <= 0 || n > INT32_MAX)
				return usage_error("--pid takes a process id, not '%s'", optarg);
			pid = (int)n;
			break;
		}
		case OPT_NO_STOP:
			no_stop = true;
			break;
		case OPT_NO_CACHE:
			opts.no_cache = true;
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return GCI_EXIT_OK;
		case 'V':
			printf("gcinspect %s\n", GCI_VERSION_STRING);
			return GCI_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	int i = optind;
	if (i < argc && !strcmp(argv[i], "summary")) {
		i++;
	} else if (i < argc && !strcmp(argv[i], "types")) {
		ropts.kind = GCI_REPORT_TYPES;
		i++;
	}
	if (i >= argc && !pid)
		return usage_error("%s", "no core file given (or --pid PID)");
	if (i < argc && pid)
		return usage_error("give a core file or --pid, not both ('%s')", argv[i]);
	if (argc - i > 1)
		return usage_error("unexpected argument '%s'", argv[i + 1]);
	if (ropts.generation && ropts.kind != GCI_REPORT_TYPES)
		return usage_error("%s", "--generation goes with the types command");
	if (no_stop && !pid)
		return usage_error("%s", "--no-stop goes with --pid");
	char pidname[32];
	snprintf(pidname, sizeof(pidname), "pid %d", pid);
	const char *path = pid ? pidname : argv[i];

	struct gci_program *prog;
	struct gci_snapshot *snap;
	struct gci_error *err = pid ? gci_program_open_pid(pid, &opts, &prog)
				    : gci_program_open_core(path, &opts, &prog);
	if (err)
		return fail(err);
	if (pid && !no_stop && (err = gci_program_stop(prog))) {
		gci_program_destroy(prog);
		return fail(err);
	}
	err = gci_snapshot_take(prog, 0, &snap);
	if (pid) {
		uint64_t usec;
		gci_program_resume(prog, &usec);  /* before anything is printed */
	}
	if (err) {
		gci_program_destroy(prog);
		return fail(err);
	}
	char *out;
	err = gci_report(snap, &ropts, &out);
	int status = GCI_EXIT_OK;
	if (err) {
		status = fail(err);
	} else {
		fputs(out, stdout);
		free(out);
		if (snap->nproblems) {
			fprintf(stderr, "gcinspect: %s: %zu integrity problem%s; the result "
				"is partial (first: %s)\n", path, snap->nproblems,
				snap->nproblems == 1 ? "" : "s", snap->problems[0].message);
			status = GCI_EXIT_PARTIAL;
		}
	}
	gci_snapshot_destroy(snap);
	gci_program_destroy(prog);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gcinspect: error writing the report\n");
		return GCI_EXIT_SOFTWARE;
	}
	return status;
}
