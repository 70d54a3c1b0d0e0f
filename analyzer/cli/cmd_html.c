/* gcinspect report -o FILE.html: one self-contained HTML page. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"

/*
 * The output file is opened before the snapshot, which confines the process
 * (docs/sandbox.md): it is created if need be, but written, and cut to the
 * page's length, only once the page is there, so a failed run leaves an
 * existing file as it was.
 */
static int open_output(const char *path, int *ret_fd)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	struct gci_error *err;
	if (fd < 0) {
		fprintf(stderr, "gcinspect: cannot write the report to %s: %s\n", path,
			strerror(errno));
		return GCI_EXIT_OUTPUT;
	}
	if ((err = gci_confine_allow_write(fd))) {
		close(fd);
		return cli_fail(err, path);
	}
	*ret_fd = fd;
	return GCI_EXIT_OK;
}

static int write_file(const char *path, int fd, const char *text)
{
	size_t n = strlen(text), done = 0;
	while (done < n) {
		ssize_t w = write(fd, text + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	int saved = errno;
	bool ok = done == n;
	if (ok && ftruncate(fd, (off_t)n) != 0) {
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
	int fd = -1;
	int status = cli->output ? open_output(cli->output, &fd) : GCI_EXIT_OK;
	if (status)
		return status;
	/* The page is for people: warnings on stderr now, and in the page. */
	status = cli_snapshot_each(cli, t, GCI_SNAPSHOT_TYPE_PAGES, NULL, NULL, false,
				   GCI_EXIT_SOFTWARE, &prog, &snap);
	if (status) {
		if (fd >= 0)
			close(fd);
		return status;
	}
	struct gci_report_options ropts = { .format = GCI_FORMAT_TEXT, .limit = cli->limit };
	char *out;
	struct gci_error *err = gci_report_html(snap, &ropts, &out);
	if (err) {
		status = cli_fail(err, cli_target_name(t));
	} else {
		status = cli->output ? write_file(cli->output, fd, out) : cli_write_stdout(out);
		free(out);
		if (!status && cli->output)
			fprintf(stderr, "gcinspect: wrote %s\n", cli->output);
		if (!status)
			status = cli_partial(snap, cli_target_name(t));
	}
	gci_snapshot_destroy(snap);
	gci_program_destroy(prog);
	if (fd >= 0)
		close(fd);
	return status;
}
