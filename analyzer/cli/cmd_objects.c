/*
 * gcinspect objects: every object of the lists (or of one, -g), filtered by
 * type, size and page, one per line, printed as the walk meets it.  Memory
 * does not grow with the object count: nothing is kept per object.
 *
 * A live target stays stopped for the walk (unless --no-stop), and the
 * objects are printed during the walk; so that a slow reader of stdout (a
 * pager) cannot hold the target stopped, the lines go to an unlinked
 * temporary file first and are copied to stdout once the target runs again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct objects_run {
	struct cli *cli;
	FILE *out;
	bool json, has_page;
	uint64_t page;
	/* --type: by name, or by address */
	bool type_by_address;
	uint64_t type_address;
	unsigned char *type_match;  /* per type index: 0 not decided, 1 yes, 2 no */
	size_t type_match_cap;
	bool type_seen;
	/* -g: the selected lists of the interpreter met last */
	const struct gci_interp *sel_interp;
	const struct gci_gen *sel[GCI_MAX_GENS + 1];
	size_t nsel;
	struct gci_error *sel_err;
	size_t limit;          /* 0: all */
	uint64_t matched, shown;
	bool header_done, write_failed;
	int write_errno;
	char line[1024];
};

static bool type_matches(struct objects_run *r, const struct gci_snapshot *snap, uint32_t ti)
{
	if (!r->cli->type)
		return true;
	if (ti >= r->type_match_cap) {
		size_t cap = r->type_match_cap ? r->type_match_cap : 256;
		while (cap <= ti)
			cap *= 2;
		unsigned char *m = realloc(r->type_match, cap);
		if (!m) {
			/* out of memory: no cache, compare each time */
			const struct gci_type *t = &snap->types[ti];
			bool yes = r->type_by_address ? t->address == r->type_address
						      : !strcmp(t->name, r->cli->type);
			r->type_seen |= yes;
			return yes;
		}
		memset(m + r->type_match_cap, 0, cap - r->type_match_cap);
		r->type_match = m;
		r->type_match_cap = cap;
	}
	if (!r->type_match[ti]) {
		const struct gci_type *t = &snap->types[ti];
		bool yes = r->type_by_address ? t->address == r->type_address
					      : !strcmp(t->name, r->cli->type);
		r->type_match[ti] = yes ? 1 : 2;
		r->type_seen |= yes;
	}
	return r->type_match[ti] == 1;
}

static bool list_selected(struct objects_run *r, const struct gci_snapshot *snap,
			  const struct gci_object_info *obj)
{
	if (!r->cli->generation)
		return true;
	if (obj->interp != r->sel_interp) {
		r->sel_interp = obj->interp;
		r->nsel = 0;
		struct gci_error *err = gci_select_lists(snap, obj->interp, r->cli->generation,
							 r->sel, &r->nsel);
		if (err) {
			r->sel_err = err;
			return false;
		}
	}
	for (size_t i = 0; i < r->nsel; i++)
		if (r->sel[i] == obj->list)
			return true;
	return false;
}

static int emit(struct objects_run *r, const char *text, size_t n)
{
	if (fwrite(text, 1, n, r->out) != n) {
		r->write_failed = true;
		r->write_errno = errno ? errno : EIO;
		return 1;
	}
	return 0;
}

static int on_object(void *arg, const struct gci_snapshot *snap,
		     const struct gci_object_info *obj)
{
	struct objects_run *r = arg;
	if (!list_selected(r, snap, obj))
		return r->sel_err != NULL;
	if (!type_matches(r, snap, obj->type) || obj->size < r->cli->min_size)
		return 0;
	if (r->has_page && !gci_object_on_page(obj, r->page))
		return 0;
	r->matched++;
	if (r->limit && r->shown >= r->limit)
		return 0;
	r->shown++;
	if (!r->json && !r->header_done) {
		const char *h = gci_object_format_header(r->has_page);
		r->header_done = true;
		if (emit(r, h, strlen(h)))
			return 1;
	}
	size_t n = gci_object_format(snap, obj, r->json ? GCI_FORMAT_JSON : GCI_FORMAT_TEXT,
				     r->has_page ? &r->page : NULL, r->line, sizeof(r->line));
	if (n >= sizeof(r->line)) {
		/* A type name longer than the line: format it again in a buffer
		 * of its own size. */
		char *big = malloc(n + 1);
		if (!big)
			return emit(r, r->line, sizeof(r->line) - 1);
		gci_object_format(snap, obj, r->json ? GCI_FORMAT_JSON : GCI_FORMAT_TEXT,
				  r->has_page ? &r->page : NULL, big, n + 1);
		int rc = emit(r, big, n);
		free(big);
		return rc;
	}
	return emit(r, r->line, n);
}

/* 1234567 as "1,234,567". */
static void group(char *buf, size_t n, uint64_t v)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}

/* Copy the spooled lines to stdout. */
static int copy_spool(FILE *spool)
{
	char buf[65536];
	size_t n;
	rewind(spool);
	while ((n = fread(buf, 1, sizeof(buf), spool)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			break;
	if (ferror(spool)) {
		fprintf(stderr, "gcinspect: cannot read back the objects from a temporary "
			"file: %s\n", strerror(errno ? errno : EIO));
		return GCI_EXIT_OUTPUT;
	}
	return cli_write_stdout("");
}

/* --type named nothing walked: say so, with the qualified names it may mean. */
static void no_such_type(const struct cli *cli, const struct gci_snapshot *snap,
			 const struct cli_target *t)
{
	fprintf(stderr, "gcinspect: %s: warning: no object of type %s on the lists walked",
		cli_target_name(t), cli->type);
	size_t n = strlen(cli->type), shown = 0;
	for (size_t i = 0; i < snap->ntypes && shown < 5; i++) {
		const char *name = snap->types[i].name;
		size_t len = strlen(name);
		if (len > n && name[len - n - 1] == '.' && !strcmp(name + len - n, cli->type))
			fprintf(stderr, "%s%s", shown++ ? ", " : " (did you mean: ", name);
	}
	fprintf(stderr, "%s\n", shown ? "? gcinspect types lists the names)"
				      : " (gcinspect types lists the names)");
}

static int parse_type(struct cli *cli, struct objects_run *r)
{
	const char *t = cli->type;
	if (!t || strncmp(t, "0x", 2) != 0)
		return 0;
	char *end;
	errno = 0;
	unsigned long long a = strtoull(t + 2, &end, 16);
	if (!t[2] || *end || errno)
		return cli_usage_error(cli, "--type %s: not a type name nor a type address "
				       "(0x followed by hex digits)", t);
	r->type_by_address = true;
	r->type_address = a;
	return 0;
}

int cmd_objects(struct cli *cli)
{
	struct objects_run r = { .cli = cli, .json = cli->json, .out = stdout };
	int status = parse_type(cli, &r);
	if (status)
		return status;
	r.has_page = cli->given & OPT(O_PAGE);
	r.page = cli->page & ~(uint64_t)4095;
	/* Text: 40 rows unless --limit says otherwise; JSON: all. */
	r.limit = cli->json && !(cli->given & OPT(O_LIMIT)) ? 0 : cli->limit;

	const struct cli_target *t = &cli->targets[0];
	/* Rows on the terminal already show the walk going on. */
	if (isatty(STDOUT_FILENO))
		cli->opts.progress = NULL;
	FILE *spool = NULL;
	if (t->pid && !cli->no_stop) {
		spool = tmpfile();
		if (!spool) {
			fprintf(stderr, "gcinspect: cannot make a temporary file for the objects "
				"of %s: %s (TMPDIR names where)\n", cli_target_name(t),
				strerror(errno));
			return GCI_EXIT_OUTPUT;
		}
		r.out = spool;
		/* Written during the walk, inside the sandbox (docs/sandbox.md). */
		struct gci_error *err = gci_confine_allow_write(fileno(spool));
		if (err) {
			fclose(spool);
			return cli_fail(err, cli_target_name(t));
		}
	}
	struct gci_program *prog;
	struct gci_snapshot *snap;
	status = cli_snapshot_each(cli, t, 0, on_object, &r, false, -1, &prog, &snap);
	if (status == -1) {
		/* on_object stopped the walk */
		if (r.sel_err)
			status = cli_fail(r.sel_err, cli_target_name(t));
		else
			fprintf(stderr, "gcinspect: cannot write the objects%s: %s\n",
				spool ? " to a temporary file" : " to standard output",
				strerror(r.write_errno));
		status = r.sel_err ? status : GCI_EXIT_OUTPUT;
		r.sel_err = NULL;
	}
	if (status) {
		if (spool)
			fclose(spool);
		free(r.type_match);
		return status;
	}
	/* A -g that names no list is an error even where no object was met. */
	struct gci_error *err = NULL;
	for (size_t i = 0; cli->generation && i < snap->ninterps && !err; i++) {
		const struct gci_gen *sel[GCI_MAX_GENS + 1];
		size_t nsel;
		err = gci_select_lists(snap, &snap->interps[i], cli->generation, sel, &nsel);
	}
	if (err) {
		if (spool)
			fclose(spool);
		free(r.type_match);
		gci_snapshot_destroy(snap);
		gci_program_destroy(prog);
		return cli_fail(err, cli_target_name(t));
	}
	if (!r.json && !r.header_done)
		emit(&r, gci_object_format_header(r.has_page),
		     strlen(gci_object_format_header(r.has_page)));
	if (!r.json) {
		char shown[32], matched[32];
		group(shown, sizeof(shown), r.shown);
		group(matched, sizeof(matched), r.matched);
		if (r.shown < r.matched)
			fprintf(r.out, "%s of %s objects", shown, matched);
		else
			fprintf(r.out, "%s object%s", matched, r.matched == 1 ? "" : "s");
		if (cli->generation)
			fprintf(r.out, " on list %s", cli->generation);
		if (cli->type)
			fprintf(r.out, " of type %s", cli->type);
		if (cli->given & OPT(O_MIN_SIZE))
			fprintf(r.out, " of at least %" PRIu64 " bytes", cli->min_size);
		if (r.has_page)
			fprintf(r.out, " with their GC head (head) or memory (object) on the "
				"page 0x%" PRIx64, r.page);
		fprintf(r.out, "%s\n", r.shown < r.matched ? " shown (--limit 0 shows all)" : "");
	}
	if (spool) {
		status = copy_spool(spool);
		fclose(spool);
	} else {
		status = cli_write_stdout("");
	}
	if (!status && cli->type && !r.type_seen)
		no_such_type(cli, snap, t);
	if (!status)
		status = cli_partial(snap, cli_target_name(t));
	free(r.type_match);
	gci_snapshot_destroy(snap);
	gci_program_destroy(prog);
	return status;
}
