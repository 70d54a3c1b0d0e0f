/*
 * ELF core files: PT_LOAD segments become primary-tier memory (mmap'd,
 * bytes past p_filesz reported as not saved), and the notes say who the
 * process was and which files it had mapped (NT_FILE).
 */
#ifndef GCI_CORE_H
#define GCI_CORE_H

#include <libelf.h>
#include <stdint.h>

#include "coreinput.h"
#include "memory.h"

struct gci_core {
	char *path;
	int fd;                      /* the plain core (input.fd) */
	struct gci_core_input input; /* what was done to get it */
	Elf *elf;
	const unsigned char *raw;
	size_t size;
	bool truncated;
	uint64_t expected_size;      /* where the last segment or note ends */
	int64_t pid;
	int signal;
	char fname[17];
	char psargs[81];
	uint64_t at_phdr;            /* from NT_AUXV, 0 if unknown */
	struct gci_mapping *files;   /* NT_FILE; paths point into the note */
	size_t nfiles;
};

/*
 * Open and check a core, plain or compressed (coreinput.h), from fd, or
 * from path if fd < 0 (path names it in messages either way); add its
 * segments to mem.  fd is not taken over; progress as in coreinput.h.
 */
struct gci_error *gci_core_open(int fd, const char *path, uint64_t max_size,
				gci_core_input_progress_fn *progress, void *arg,
				struct gci_memory *mem, struct gci_core **ret);
void gci_core_destroy(struct gci_core *core);

#endif
