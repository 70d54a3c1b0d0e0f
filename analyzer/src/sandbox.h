/*
 * The sandbox: a seccomp filter the process installs on itself once
 * everything a target needs is open and before its memory is walked
 * (gci_program_confine, docs/sandbox.md).  A process that a hostile heap
 * has taken over can then only read what it already holds open, allocate
 * memory that is never executable, write to standard output and error,
 * detach from the threads it holds stopped, and exit.
 */
#ifndef GCI_SANDBOX_H
#define GCI_SANDBOX_H

#include <stdbool.h>

#include "gcinspect.h"

struct gci_sandbox {
	/* The process holds a live target's threads stopped: PTRACE_DETACH
	 * stays allowed (and no other ptrace request). */
	bool detach;
};

/*
 * Install the filter on every thread of the calling process, after
 * PR_SET_NO_NEW_PRIVS.  It cannot be undone.  GCI_ERR_OTHER if the
 * kernel refuses it (no seccomp).
 */
struct gci_error *gci_sandbox_enter(const struct gci_sandbox *sb);

#endif
