/* gcinspect diff A B: two snapshots side by side. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_diff(struct cli *cli)
{
	struct gci_program *prog[2] = { NULL, NULL };
	struct gci_snapshot *snap[2] = { NULL, NULL };
	int status = GCI_EXIT_OK;
	for (int i = 0; i < 2 && !status; i++)
		status = cli_snapshot(cli, &cli->targets[i], 0, &prog[i], &snap[i]);
	if (!status) {
		struct gci_report_options ropts = {
			.format = cli->json ? GCI_FORMAT_JSON : GCI_FORMAT_TEXT,
			.generation = cli->generation,
			.limit = cli->limit,
		};
		char *out;
		struct gci_error *err = gci_report_diff(snap[0], snap[1], &ropts, &out);
		if (err) {
			status = cli_fail(err, NULL);
		} else {
			status = cli_write_stdout(out);
			free(out);
		}
		for (int i = 0; i < 2 && !status; i++)
			status = cli_partial(snap[i], cli_target_name(&cli->targets[i]));
	}
	for (int i = 0; i < 2; i++) {
		gci_snapshot_destroy(snap[i]);
		gci_program_destroy(prog[i]);
	}
	return status;
}
