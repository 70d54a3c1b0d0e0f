/* gcinspect: the command line, a thin shell over libgcinspect. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Every option of every verb; which verb takes which is in verbs[] below. */
struct cli_option {
	enum cli_opt id;
	const char *name;
	int short_name;     /* 0: none */
	const char *arg;    /* NULL: takes no argument */
	const char *help;
};

static const struct cli_option options[O_NOPT] = {
	{ O_PID, "pid", 'p', "PID",
	  "read the live process PID (instead of a core); it is stopped only while "
	  "its GC lists are walked" },
	{ O_NO_STOP, "no-stop", 0, NULL,
	  "do not stop the live process (lists that change under the walk are "
	  "reported as integrity problems)" },
	{ O_GENERATION, "generation", 'g', "GEN",
	  "types: only the list GEN, a generation number as "
	  "gc.get_objects(generation=N) takes it, or a list name (permanent; young, "
	  "old[0], old[1], old on 3.14.0-3.14.4; heap on free-threaded builds, where "
	  "0-2 all mean the whole heap); touch: only the collection "
	  "gc.collect(generation=GEN) runs (young, increment, full on "
	  "3.14.0-3.14.4; full, or 2, on free-threaded builds)" },
	{ O_PAGES, "pages", 0, NULL, "list every page written" },
	{ O_LIMIT, "limit", 0, "N",
	  "rows shown in text output (default 40; 0: all); objects --json: at most N "
	  "objects (default: all); report: rows of each type table shown before the "
	  "rest are folded (default 40)" },
	{ O_JSON, "json", 0, NULL, "JSON output (schema gcinspect/1, docs/json-schema.md)" },
	{ O_EXE, "exe", 0, "FILE", "the executable, when the path the target names is wrong here" },
	{ O_SYSROOT, "sysroot", 0, "DIR",
	  "look up every file the target names under DIR (live default: /proc/PID/root)" },
	{ O_DEBUG_DIR, "debug-dir", 0, "DIR",
	  "detached debug info by build-id (default SYSROOT/usr/lib/debug)" },
	{ O_NO_DWARF, "no-dwarf", 0, NULL, "never use DWARF: built-in layout tables only" },
	{ O_NO_CACHE, "no-cache", 0, NULL,
	  "neither read nor write the layout cache ($GCINSPECT_CACHE_DIR, else "
	  "$XDG_CACHE_HOME/gcinspect, else ~/.cache/gcinspect)" },
	{ O_OFFLINE, "offline", 0, NULL,
	  "never ask a debuginfod server for debug info (as if DEBUGINFOD_URLS were "
	  "unset); without it, debug info missing here is fetched from the servers "
	  "DEBUGINFOD_URLS names, each given DEBUGINFOD_TIMEOUT seconds (default 30)" },
	{ O_MAX_CORE_SIZE, "max-core-size", 0, "SIZE",
	  "a compressed or piped core is decompressed into a temporary file of at "
	  "most SIZE bytes (suffix K, M, G, T: powers of 1024; default: what "
	  "$TMPDIR, else /var/tmp, can hold, less 1 GiB kept free)" },
	{ O_VERBOSE, "verbose", 'v', NULL, "log every discovery step to stderr (twice: more)" },
	{ O_TYPE, "type", 0, "TYPE",
	  "only objects of this type: its name as gcinspect types shows it, or the "
	  "type object's address (0x...)" },
	{ O_MIN_SIZE, "min-size", 0, "BYTES", "only objects of at least BYTES bytes" },
	{ O_PAGE, "page", 0, "ADDRESS",
	  "only objects whose GC head, or memory, lies on the 4 KiB page holding ADDRESS "
	  "(hex); each row says which (head or object)" },
	{ O_OUTPUT, "output", 'o', "FILE", "write the report to FILE (default: standard output)" },
	{ O_INTERVAL, "interval", 0, "SECONDS",
	  "sample again every SECONDS (a decimal number), one line per worker each time" },
	{ O_COUNT, "count", 0, "N", "with --interval: stop after N samples (default: until "
	  "interrupted)" },
	{ O_PROMETHEUS, "prometheus", 0, "FILE",
	  "write the Prometheus text format to FILE, atomically (a temporary file in "
	  "the same directory, then rename), for node_exporter's textfile collector" },
	{ O_NO_SANDBOX, "no-sandbox", 0, NULL,
	  "do not confine gcinspect (seccomp) before it walks the target's memory; "
	  "for debugging gcinspect only (docs/sandbox.md)" },
};

static const char target_synopsis[] = "[OPTION]... (CORE | - | --pid PID)";

static const struct cli_verb verbs[] = {
	{ "summary", target_synopsis,
	  "The GC state (the default command): per interpreter, each generation's "
	  "threshold, count, objects, bytes and 4 KiB pages of GC heads, and the "
	  "permanent generation (free-threaded builds: the heap's tracked objects "
	  "and the frozen ones, found in the mimalloc heaps); on 3.14.0-3.14.4 and "
	  "free-threaded builds also what each collection and the next automatic "
	  "step would write.",
	  OPTS_TARGET | OPT(O_JSON), 1, 1, 0, cmd_report },
	{ "types", target_synopsis,
	  "Type histogram (objects, bytes) of all lists together, or of one "
	  "(-g), largest first.",
	  OPTS_TARGET | OPT(O_JSON) | OPT(O_GENERATION) | OPT(O_LIMIT), 1, 1, 0, cmd_report },
	{ "touch", target_synopsis,
	  "What each collection (of each generation, or on 3.14.0-3.14.4 young, the "
	  "next automatic increment and full; or only GEN, -g) would write: GC heads, "
	  "pages, the types holding them; on a live process, how many of those pages "
	  "are still shared with another process (a collection would copy them); "
	  "what-ifs (gc.freeze() now, heads packed apart, the next automatic "
	  "collection).",
	  OPTS_TARGET | OPT(O_JSON) | OPT(O_GENERATION) | OPT(O_PAGES), 1, 1, 0, cmd_report },
	{ "objects", target_synopsis,
	  "Every object on the GC lists, or on one (-g), filtered by type, size or "
	  "page: address, size, reference count, list and type, one per line, printed "
	  "as the walk meets them (memory does not grow with the heap). --json: one "
	  "JSON object per line (NDJSON). A live process stays stopped for the walk "
	  "only: the lines are kept in a temporary file until it runs again.",
	  OPTS_TARGET | OPT(O_JSON) | OPT(O_GENERATION) | OPT(O_LIMIT) | OPT(O_TYPE) |
	  OPT(O_MIN_SIZE) | OPT(O_PAGE), 1, 1, 0, cmd_objects },
	{ "diff", "[OPTION]... A B (each a CORE or --pid PID)",
	  "Two snapshots side by side (a leak: the same process twice; or a pre-fork "
	  "master and a worker): per list and per type, objects and bytes in A, in B "
	  "and the difference, largest growth first. Types are matched by name; with "
	  "-g, only the types of that list.",
	  OPTS_TARGET | OPT(O_JSON) | OPT(O_GENERATION) | OPT(O_LIMIT), 2, 2, 0, cmd_diff },
	{ "report", "[OPTION]... (CORE | --pid PID) -o FILE.html",
	  "One self-contained HTML page to share: the summary, each list's type "
	  "histogram, what each collection would write with the what-ifs, and a map "
	  "of the pages holding GC heads. Nothing in it is fetched from anywhere; the "
	  "numbers are tables that need no JavaScript.",
	  OPTS_TARGET | OPT(O_OUTPUT) | OPT(O_LIMIT), 1, 1, 0, cmd_html },
	{ "workers", "[OPTION]... --pid PID",
	  "A pre-fork server (uWSGI, gunicorn --preload, a multiprocessing pool): PID "
	  "is its master or any worker. Reads the master and every worker one at a "
	  "time, each stopped only for its own walk: memory (smaps_rollup), GC state, "
	  "what a full and the next automatic collection would copy, and, per worker, "
	  "what it has already copied of the master's memory and what lives on those "
	  "pages (docs/workers.md).",
	  /* Not confined (docs/sandbox.md): it opens each worker after reading
	  * the one before, so it takes no --no-sandbox. */
	  (OPTS_TARGET & ~OPT(O_NO_SANDBOX)) | OPT(O_JSON) | OPT(O_INTERVAL) | OPT(O_COUNT) |
	  OPT(O_PROMETHEUS), 1, 1, 0, cmd_workers },
	{ "gdb-script", "",
	  "Print the path of the gdb plugin, to source in gdb: "
	  "gdb -ex \"source $(gcinspect gdb-script)\" ...",
	  0, 0, 0, 0, cmd_gdb_script },
	{ "help", "[COMMAND]",
	  "This help, or the help of one command.",
	  0, 0, 0, 1, cmd_help },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char exit_text[] =
	"Exit status:\n"
	"  0   success\n"
	"  1   partial result: printed, but some GC list could not be walked to its end\n"
	"  2   the input is unreadable, not a core, or damaged; workers: the process is\n"
	"      not part of a pre-fork server\n"
	"  3   not a Python process, or a CPython version or build gcinspect cannot read\n"
	"  4   no longer used (free-threaded builds were refused with it; they are read now)\n"
	"  5   a live process gcinspect may not read or stop (permission, not dumpable)\n"
	"  6   a live process another tracer (a debugger, strace) holds: cannot stop it\n"
	"  7   no such process, or one with no memory to read (zombie, kernel thread)\n"
	"  64  usage error\n"
	"  70  internal error (out of memory), or the sandbox could not be set up\n"
	"      (--no-sandbox)\n"
	"  74  the report could not be written (standard output, or the file it goes to:\n"
	"      report -o, workers --prometheus)\n";

static int verbosity;
static bool progress_shown;  /* a progress line stands on the terminal */

/* Progress on a terminal: shown once the work has taken progress_after s. */
static double start_time, progress_after = 1.0, progress_last;
static bool progress_shown;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cli_progress_clear(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		progress_shown = false;
	}
}

static void human(char *buf, size_t n, uint64_t v)
{
	if (v >= 1000000)
		snprintf(buf, n, "%.1fM", v / 1e6);
	else if (v >= 1000)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%" PRIu64, v);
}

void cli_progress(void *arg, const char *what, uint64_t done, uint64_t total, bool final)
{
	(void)arg;
	double t = now();
	if (final) {
		cli_progress_clear();
		return;
	}
	if (t - start_time < progress_after || (progress_shown && t - progress_last < 0.1))
		return;
	progress_last = t;
	char d[32], tot[32];
	human(d, sizeof(d), done);
	if (total && done <= total) {
		human(tot, sizeof(tot), total);
		fprintf(stderr, "\rgcinspect: %s: %s of %s objects (%d%%)...\033[K",
			!strcmp(what, "walk") ? "walked" : what, d, tot,
			(int)(100.0 * (double)done / (double)total));
	} else {
		fprintf(stderr, "\rgcinspect: %s %s objects...\033[K",
			!strcmp(what, "walk") ? "walked" : what, d);
	}
	fflush(stderr);
	progress_shown = true;
}

static void log_stderr(void *arg, enum gci_log_level level, const char *message)
{
	static const char *const names[] = { "warning", "info", "debug" };
	/* Long work, on a terminal: one line, rewritten in place. */
	if (level == GCI_LOG_PROGRESS) {
		if (!isatty(STDERR_FILENO))
			return;
		cli_progress_clear();
		fprintf(stderr, "\r\033[K%s%s", *message ? "gcinspect: " : "", message);
		fflush(stderr);
		progress_shown = *message != '\0';
		return;
	}
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = false;
	}
	cli_progress_clear();
	if ((level == GCI_LOG_WARNING && verbosity >= 1) ||
	    (level == GCI_LOG_INFO && verbosity >= 1) ||
	    (level == GCI_LOG_DEBUG && verbosity >= 2))
		fprintf(stderr, "gcinspect: %s: %s\n", names[level], message);
}

static const struct cli_verb *find_verb(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static void verb_list(FILE *f)
{
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "%s%s", i ? ", " : "", verbs[i].name);
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gcinspect: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cli && cli->verb)
		fprintf(stderr, " (see gcinspect help %s)\n", cli->verb->name);
	else
		fprintf(stderr, " (see gcinspect help)\n");
	return GCI_EXIT_USAGE;
}

/* Print text wrapped at 78 columns, every line indented by indent. */
static void wrap(FILE *f, const char *text, int indent, int first_col)
{
	int col = first_col;
	const char *p = text;
	while (*p) {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (col > indent && col + 1 + (int)n > 78) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		} else if (col < indent) {
			fprintf(f, "%*s", indent - col, "");
			col = indent;
		}
		fwrite(p, 1, n, f);
		col += (int)n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void option_help(FILE *f, const struct cli_option *o)
{
	char head[64];
	if (o->short_name)
		snprintf(head, sizeof(head), "  -%c, --%s%s%s", o->short_name, o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
	else
		snprintf(head, sizeof(head), "      --%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
	fputs(head, f);
	int col = (int)strlen(head);
	if (col >= 23) {
		fputc('\n', f);
		col = 0;
	}
	wrap(f, o->help, 24, col);
}

static void verb_help(FILE *f, const struct cli_verb *v)
{
	fprintf(f, "Usage: gcinspect %s %s\n", v->name, v->synopsis);
	wrap(f, v->description, 0, 0);
	bool any = false;
	for (int i = 0; i < O_NOPT; i++) {
		if (!(v->options & OPT(i)))
			continue;
		if (!any)
			fprintf(f, "\nOptions:\n");
		any = true;
		option_help(f, &options[i]);
	}
	fprintf(f, "  -h, --help            this help\n\n%s", exit_text);
}

static void general_help(FILE *f)
{
	fprintf(f,
		"Usage: gcinspect [COMMAND] [OPTION]... CORE\n"
		"       gcinspect [COMMAND] [OPTION]... --pid PID\n"
		"Show a CPython process's garbage-collector generations, read from its core\n"
		"or from the running process, without running any code in it.  A core may\n"
		"be compressed (zstd, lz4, xz, gzip: systemd-coredump's files as they are);\n"
		"- reads it from standard input.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < NVERBS; i++) {
		const char *d = verbs[i].description;
		const char *dot = strchr(d, '.');
		const char *colon = strchr(d, ':');
		const char *stop = colon && (!dot || colon < dot) ? colon : dot;
		fprintf(f, "  %-13s %.*s\n", verbs[i].name,
			stop ? (int)(stop - d) : (int)strlen(d), d);
	}
	fprintf(f, "\nOptions (each command takes those its help lists):\n");
	for (int i = 0; i < O_NOPT; i++)
		option_help(f, &options[i]);
	fprintf(f, "  -h, --help            help (gcinspect help COMMAND: one command)\n"
		   "  -V, --version         the version\n\n%s", exit_text);
}

int cmd_help(struct cli *cli)
{
	if (cli->nargs) {
		const struct cli_verb *v = find_verb(cli->args[0]);
		if (!v) {
			fprintf(stderr, "gcinspect: no command \"%s\" (commands: ", cli->args[0]);
			verb_list(stderr);
			fprintf(stderr, ")\n");
			return GCI_EXIT_USAGE;
		}
		verb_help(stdout, v);
	} else {
		general_help(stdout);
	}
	return cli_write_stdout("");
}

int cli_write_stdout(const char *text)
{
	fputs(text, stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gcinspect: cannot write the report to standard output: %s\n",
			strerror(errno ? errno : EIO));
		return GCI_EXIT_OUTPUT;
	}
	return GCI_EXIT_OK;
}

static int parse_count(struct cli *cli, const char *opt, const char *arg, long min,
		       long max, long *ret)
{
	char *end;
	errno = 0;
	long n = strtol(arg, &end, 10);
	if (*arg == '\0' || *end || errno || n < min || n > max)
		return cli_usage_error(cli, "%s takes a number from %ld to %ld, not '%s'",
				       opt, min, max, arg);
	*ret = n;
	return 0;
}

/* A size: digits and an optional K, M, G or T (powers of 1024). */
static int parse_size(struct cli *cli, const char *opt, const char *arg, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(arg, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*arg < '0' || *arg > '9' || *end || errno || n == 0 ||
	    n > (UINT64_MAX >> shift))
		return cli_usage_error(cli, "%s takes a size in bytes, with an optional K, M, "
				       "G or T (e.g. 64G), not '%s'", opt, arg);
	*ret = (uint64_t)n << shift;
	return 0;
}

/* A path option must name something that exists (and a directory, if dir). */
static int check_path(struct cli *cli, const char *opt, const char *path, bool dir)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return cli_usage_error(cli, "%s %s: %s", opt, path, strerror(errno));
	if (dir && !S_ISDIR(st.st_mode))
		return cli_usage_error(cli, "%s %s: not a directory", opt, path);
	if (!dir && S_ISDIR(st.st_mode))
		return cli_usage_error(cli, "%s %s: a directory, not a file", opt, path);
	return 0;
}

/* A bare word that names no file and looks like a command: a mistyped verb. */
static bool looks_like_verb(const char *arg)
{
	struct stat st;
	if (stat(arg, &st) == 0 || !*arg || !strcmp(arg, "-"))
		return false;
	for (const char *c = arg; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || *c == '-' || *c == '_'))
			return false;
	return true;
}

static int add_target(struct cli *cli, const char *path, int pid)
{
	if (cli->ntargets == CLI_MAX_TARGETS) {
		if (pid)
			return cli_usage_error(cli, "--pid %d: too many targets (at most %d)",
					       pid, CLI_MAX_TARGETS);
		return cli_usage_error(cli, "unexpected argument '%s'", path);
	}
	for (size_t i = 0; path && !strcmp(path, "-") && i < cli->ntargets; i++)
		if (cli->targets[i].path && !strcmp(cli->targets[i].path, "-"))
			return cli_usage_error(cli, "standard input (-) can be read once only");
	struct cli_target *t = &cli->targets[cli->ntargets++];
	t->path = path;
	t->pid = pid;
	if (pid)
		snprintf(t->name, sizeof(t->name), "pid %d", pid);
	else
		snprintf(t->name, sizeof(t->name), "%s", "");
	return 0;
}

int main(int argc, char **argv)
{
	struct option longopts[O_NOPT + 3];
	char shortopts[3 * O_NOPT + 8] = "-:hV";
	size_t ns = strlen(shortopts);
	for (int i = 0; i < O_NOPT; i++) {
		longopts[i] = (struct option){
			options[i].name, options[i].arg ? required_argument : no_argument,
			NULL, 256 + i };
		if (options[i].short_name) {
			shortopts[ns++] = (char)options[i].short_name;
			if (options[i].arg)
				shortopts[ns++] = ':';
		}
	}
	shortopts[ns] = '\0';
	longopts[O_NOPT] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[O_NOPT + 1] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[O_NOPT + 2] = (struct option){ NULL, 0, NULL, 0 };

	struct cli cli = { .opts = { .log = log_stderr }, .limit = 40 };
	start_time = now();
	/* Progress only where a person watches: stderr on a terminal.
	 * GCINSPECT_PROGRESS_AFTER (seconds, default 1) is when it starts. */
	if (isatty(STDERR_FILENO)) {
		const char *after = getenv("GCINSPECT_PROGRESS_AFTER");
		char *end;
		if (after && *after) {
			double v = strtod(after, &end);
			if (!*end && v >= 0)
				progress_after = v;
		}
		cli.opts.progress = cli_progress;
	}
	const char *opt_name[O_NOPT] = { 0 };
	const char *words[64];
	int pids[64];
	size_t nwords = 0;
	bool help = false, help_arg = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int id = -1;
		if (c >= 256 && c < 256 + O_NOPT) {
			id = c - 256;
		} else {
			for (int i = 0; i < O_NOPT; i++)
				if (options[i].short_name && c == options[i].short_name)
					id = i;
		}
		if (id >= 0) {
			if ((cli.given & OPT(id)) && id != O_VERBOSE && id != O_PID)
				return cli_usage_error(NULL, "--%s given twice", options[id].name);
			cli.given |= OPT(id);
			opt_name[id] = options[id].name;
		}
		long n;
		int rc;
		switch (c) {
		case 1:
			if (nwords == sizeof(words) / sizeof(words[0]))
				return cli_usage_error(NULL, "too many arguments");
			words[nwords++] = optarg;
			break;
		case 'h':
			help = true;
			break;
		case 'V':
			printf("gcinspect %s\n", GCI_VERSION_STRING);
			return cli_write_stdout("");
		case ':':
			return cli_usage_error(NULL, "option '%s' needs an argument",
					       argv[optind - 1]);
		case '?':
			return cli_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		default:
			switch ((enum cli_opt)id) {
			case O_PID:
				if ((rc = parse_count(&cli, "--pid", optarg, 1, INT32_MAX, &n)))
					return rc;
				/* kept in command-line order with the cores: a marker word */
				if (nwords == sizeof(words) / sizeof(words[0]))
					return cli_usage_error(NULL, "too many arguments");
				pids[nwords] = (int)n;
				words[nwords++] = NULL;
				break;
			case O_NO_STOP:
				cli.no_stop = true;
				break;
			case O_GENERATION:
				cli.generation = optarg;
				break;
			case O_PAGES:
				cli.pages = true;
				break;
			case O_LIMIT:
				if ((rc = parse_count(&cli, "--limit", optarg, 0, INT32_MAX, &n)))
					return rc;
				cli.limit = (size_t)n;
				break;
			case O_JSON:
				cli.json = true;
				break;
			case O_EXE:
				cli.opts.exe = optarg;
				break;
			case O_SYSROOT:
				cli.opts.sysroot = optarg;
				break;
			case O_DEBUG_DIR:
				cli.opts.debug_dir = optarg;
				break;
			case O_NO_DWARF:
				cli.opts.no_dwarf = true;
				break;
			case O_NO_CACHE:
				cli.opts.no_cache = true;
				break;
			case O_OFFLINE:
				cli.opts.offline = true;
				break;
			case O_MAX_CORE_SIZE:
				if ((rc = parse_size(&cli, "--max-core-size", optarg,
						     &cli.opts.max_core_size)))
					return rc;
				break;
			case O_VERBOSE:
				cli.verbosity++;
				break;
			case O_TYPE:
				if (!*optarg)
					return cli_usage_error(NULL, "--type needs a name or an address");
				cli.type = optarg;
				break;
			case O_MIN_SIZE:
				if ((rc = parse_count(&cli, "--min-size", optarg, 0, INT32_MAX, &n)))
					return rc;
				cli.min_size = (uint64_t)n;
				break;
			case O_PAGE: {
				char *end;
				const char *hex = strncmp(optarg, "0x", 2) ? optarg : optarg + 2;
				errno = 0;
				unsigned long long a = strtoull(hex, &end, 16);
				if (!*hex || *end || errno || *hex == '-' || *hex == '+')
					return cli_usage_error(NULL, "--page takes an address in hex "
							       "(0x7f...), not '%s'", optarg);
				cli.page = a;
				break;
			}
			case O_OUTPUT:
				if (!*optarg)
					return cli_usage_error(NULL, "--output needs a file name");
				cli.output = optarg;
				break;
			case O_INTERVAL: {
				char *end;
				errno = 0;
				double d = strtod(optarg, &end);
				if (*optarg == '\0' || *end || errno || !(d >= 0.01 && d <= 86400))
					return cli_usage_error(NULL, "--interval takes seconds from "
							       "0.01 to 86400, not '%s'", optarg);
				cli.interval = d;
				break;
			}
			case O_COUNT:
				if ((rc = parse_count(&cli, "--count", optarg, 1, INT32_MAX, &n)))
					return rc;
				cli.count = n;
				break;
			case O_PROMETHEUS:
				cli.prometheus = optarg;
				break;
			case O_NO_SANDBOX:
				cli.no_sandbox = true;
				break;
			case O_NOPT:
				break;
			}
		}
	}
	verbosity = cli.verbosity;

	/* The verb: the first word that is not a --pid, if it is one; else summary. */
	size_t w = 0, first = 0;
	while (first < nwords && !words[first])
		first++;
	const struct cli_verb *verb = NULL;
	if (first < nwords) {
		verb = find_verb(words[first]);
		if (verb) {
			memmove(&words[first], &words[first + 1], (nwords - first - 1) * sizeof(*words));
			memmove(&pids[first], &pids[first + 1], (nwords - first - 1) * sizeof(*pids));
			nwords--;
			help_arg = nwords > 0;
		} else if (looks_like_verb(words[first])) {
			size_t nplain = 0;
			for (size_t i = 0; i < nwords; i++)
				nplain += words[i] != NULL;
			if (nplain == 1 && !(cli.given & OPT(O_PID)))
				fprintf(stderr, "gcinspect: \"%s\" is neither a command nor a "
					"file (commands: ", words[first]);
			else
				fprintf(stderr, "gcinspect: unknown command \"%s\" (commands: ",
					words[first]);
			verb_list(stderr);
			fprintf(stderr, "; see gcinspect help)\n");
			return GCI_EXIT_USAGE;
		}
	}
	if (!verb)
		verb = find_verb(help && !nwords ? "help" : "summary");
	cli.verb = verb;
	if (help) {
		if (verb->run == cmd_help && !help_arg)
			general_help(stdout);
		else
			verb_help(stdout, verb);
		return cli_write_stdout("");
	}

	/* The remaining words: cores (in order with --pid) or arguments. */
	for (size_t i = w; i < nwords; i++) {
		int rc;
		if (!words[i]) {
			if ((rc = add_target(&cli, NULL, pids[i])))
				return rc;
		} else if (verb->max_targets == 0) {
			if (cli.nargs >= verb->max_args)
				return cli_usage_error(&cli, "unexpected argument '%s'", words[i]);
			cli.args[cli.nargs++] = words[i];
		} else if ((rc = add_target(&cli, words[i], 0))) {
			return rc;
		}
	}

	/* One rule: an option the verb does not take is an error. */
	for (int i = 0; i < O_NOPT; i++) {
		if ((cli.given & OPT(i)) && !(verb->options & OPT(i))) {
			fprintf(stderr, "gcinspect: --%s does not go with %s; it goes with: ",
				opt_name[i], verb->name);
			bool first_verb = true;
			for (size_t v = 0; v < NVERBS; v++)
				if (verbs[v].options & OPT(i)) {
					fprintf(stderr, "%s%s", first_verb ? "" : ", ", verbs[v].name);
					first_verb = false;
				}
			fprintf(stderr, " (see gcinspect help %s)\n", verb->name);
			return GCI_EXIT_USAGE;
		}
	}
	if (cli.ntargets < verb->min_targets) {
		if (verb->min_targets == 1)
			return cli_usage_error(&cli, "no core file given (or --pid PID)");
		return cli_usage_error(&cli, "%s takes %u targets (cores or --pid PID), %zu given",
				       verb->name, verb->min_targets, cli.ntargets);
	}
	if (cli.ntargets > verb->max_targets) {
		const struct cli_target *t = &cli.targets[verb->max_targets];
		if (verb->max_targets == 1 && cli.targets[0].pid && t->pid)
			return cli_usage_error(&cli, "--pid given twice (%d and %d)",
					       cli.targets[0].pid, t->pid);
		if (verb->max_targets == 1)
			return cli_usage_error(&cli, "give one core file or --pid, not both "
					       "(%s and %s)", cli.targets[0].pid ?
					       cli.targets[0].name : cli.targets[0].path,
					       t->pid ? t->name : t->path);
		return cli_usage_error(&cli, "unexpected argument '%s'", t->pid ? t->name : t->path);
	}
	if (cli.no_stop) {
		bool live = false;
		for (size_t i = 0; i < cli.ntargets; i++)
			live |= cli.targets[i].pid != 0;
		if (!live)
			return cli_usage_error(&cli, "--no-stop goes with --pid");
	}
	for (size_t i = 0; i < cli.ntargets; i++)
		if (cli.targets[i].path && !strcmp(cli.targets[i].path, "-") && isatty(0))
			return cli_usage_error(&cli, "standard input (-) is a terminal: pipe a "
					       "core into it (zstdcat core.zst | gcinspect -)");
	/*
	 * debuginfod (through libdwfl) fetches debug info this machine lacks from
	 * the servers $DEBUGINFOD_URLS names.  --offline: never (the library
	 * does not ask, and nothing else in this process can).  Otherwise a
	 * stalled server is given up on after DEBUGINFOD_TIMEOUT seconds: 30
	 * unless the user says otherwise (libdebuginfod's own default is 90).
	 */
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (cli.opts.offline && urls && *urls && verbosity >= 1)
		fprintf(stderr, "gcinspect: info: --offline: debuginfod (DEBUGINFOD_URLS=%s) is "
			"not asked\n", urls);
	if (cli.opts.offline)
		unsetenv("DEBUGINFOD_URLS");
	else
		setenv("DEBUGINFOD_TIMEOUT", "30", 0);
	int rc;
	if (cli.opts.exe && (rc = check_path(&cli, "--exe", cli.opts.exe, false)))
		return rc;
	if (cli.opts.sysroot && (rc = check_path(&cli, "--sysroot", cli.opts.sysroot, true)))
		return rc;
	if (cli.opts.debug_dir && (rc = check_path(&cli, "--debug-dir", cli.opts.debug_dir, true)))
		return rc;
	return verb->run(&cli);
}
