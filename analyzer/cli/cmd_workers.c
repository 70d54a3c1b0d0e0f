/* gcinspect workers: a pre-fork server, once or every --interval seconds. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Write text to path atomically: a temporary file beside it, then rename,
 * so that a reader (node_exporter) never sees half a file. */
static int write_atomically(const char *path, const char *text)
{
	char *dup = strdup(path), *dup2 = strdup(path), *tmp = NULL;
	int fd = -1, e = 0;
	if (!dup || !dup2 || asprintf(&tmp, "%s/.%s.XXXXXX", dirname(dup), basename(dup2)) < 0) {
		tmp = NULL;
		e = ENOMEM;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			goto out;
		}
		done += (size_t)w;
	}
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		e = errno;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		e = errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		e = errno;
out:
	if (fd >= 0)
		close(fd);
	if (e && tmp)
		unlink(tmp);
	free(tmp);
	free(dup);
	free(dup2);
	if (e) {
		fprintf(stderr, "gcinspect: cannot write %s: %s\n", path, strerror(e));
		return GCI_EXIT_OUTPUT;
	}
	return GCI_EXIT_OK;
}

/* Sleep, waking early when asked to stop. */
static void pause_for(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	while (!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* One sample: find the server, read it, print; returns an exit status. */
static int sample(struct cli *cli, int pid)
{
	struct gci_server *srv;
	struct gci_error *err = gci_server_open(pid, &cli->opts, &srv);
	if (err)
		return cli_fail(err, cli->targets[0].name);
	err = gci_server_read(srv, cli->no_stop ? 0 : GCI_SNAPSHOT_STOP);
	if (err) {
		gci_server_destroy(srv);
		return cli_fail(err, cli->targets[0].name);
	}
	int status = GCI_EXIT_OK;
	char *out = NULL;
	if (!cli->json) {
		const char *const *w;
		size_t nw = gci_server_warnings(srv, &w);
		for (size_t i = 0; i < nw; i++)
			cli_warn(cli->targets[0].name, w[i]);
	}
	if (cli->prometheus) {
		if ((err = gci_server_report(srv, GCI_SERVER_PROMETHEUS, &out))) {
			status = cli_fail(err, cli->targets[0].name);
			goto done;
		}
		status = write_atomically(cli->prometheus, out);
		free(out);
		out = NULL;
		if (status)
			goto done;
	}
	if (cli->json || !cli->prometheus) {
		enum gci_server_format fmt = cli->json ?
			(cli->interval ? GCI_SERVER_JSON_LINE : GCI_SERVER_JSON) :
			(cli->interval ? GCI_SERVER_LINES : GCI_SERVER_TEXT);
		if ((err = gci_server_report(srv, fmt, &out))) {
			status = cli_fail(err, cli->targets[0].name);
			goto done;
		}
		if ((status = cli_write_stdout(out)))
			goto done;
	}
	struct gci_server_status st;
	gci_server_status(srv, &st);
	if (st.problems || st.unreadable) {
		fprintf(stderr, "gcinspect: %s: the result is partial: %zu integrity problem%s, "
			"%zu worker%s unreadable\n", cli->targets[0].name, st.problems,
			st.problems == 1 ? "" : "s", st.unreadable, st.unreadable == 1 ? "" : "s");
		status = GCI_EXIT_PARTIAL;
	}
done:
	free(out);
	gci_server_destroy(srv);
	return status;
}

int cmd_workers(struct cli *cli)
{
	const struct cli_target *t = &cli->targets[0];
	if (!t->pid)
		return cli_usage_error(cli, "workers reads live processes: give --pid PID, "
				       "not a core file (%s)", t->path);
	if (cli->count && !cli->interval)
		return cli_usage_error(cli, "--count goes with --interval");
	if (!cli->interval)
		return sample(cli, t->pid);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;  /* a stop in progress finishes, then the loop ends */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int worst = GCI_EXIT_OK;
	for (long n = 0; !stop_requested && (!cli->count || n < cli->count); n++) {
		if (n)
			pause_for(cli->interval);
		if (stop_requested)
			break;
		int status = sample(cli, t->pid);
		/* A process that is gone, an unreadable input: no use going on. */
		if (status != GCI_EXIT_OK && status != GCI_EXIT_PARTIAL)
			return status;
		if (status > worst)
			worst = status;
	}
	return worst;
}
