/* gcinspect report -o FILE.html: one self-contained HTML page. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "gcinspect: cannot write the report to %s: %s\n", path,
			strerror(errno));
		return GCI_EXIT_OUTPUT;
	}
	size_t n = strlen(text);
	bool ok = fwrite(text, 1, n, f) == n;
	int saved = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		fprintf(stderr, "gcinspect: cannot write the report to %s: %s\n", path,
			strerror(saved ? saved : EIO));
		return GCI_EXIT_OUTPUT;
	}
	return GCI_EXIT_OK;
}

int cmd_html(struct cli *cli)
{
	const struct cli_target *t = &cli->targets[0];
	struct gci_program *prog;
	struct gci_snapshot *snap;
	/* The page is for people: warnings on stderr now, and in the page. */
	int status = cli_snapshot_each(cli, t, GCI_SNAPSHOT_TYPE_PAGES, NULL, NULL, false,
				       GCI_EXIT_SOFTWARE, &prog, &snap);
	if (status)
		return status;
	struct gci_report_options ropts = { .format = GCI_FORMAT_TEXT, .limit = cli->limit };
	char *out;
	struct gci_error *err = gci_report_html(snap, &ropts, &out);
	if (err) {
		status = cli_fail(err, cli_target_name(t));
	} else {
		status = cli->output ? write_file(cli->output, out) : cli_write_stdout(out);
		free(out);
		if (!status && cli->output)
			fprintf(stderr, "gcinspect: wrote %s\n", cli->output);
		if (!status)
			status = cli_partial(snap, cli_target_name(t));
	}
	gci_snapshot_destroy(snap);
	gci_program_destroy(prog);
	return status;
}
