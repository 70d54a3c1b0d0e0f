/*
 * Core input: what the user hands gcinspect as a core (a plain ELF file, or
 * one compressed with zstd, lz4, xz or gzip, from a file or a pipe) made
 * into what the core reader maps: a file descriptor of a plain ELF core.
 *
 * The format is told by magic bytes, never by the file name.  A plain core
 * in a regular file is used as it is.  Anything else is written out once,
 * streaming, into an unlinked temporary file ($TMPDIR, else /var/tmp, else
 * /tmp; a memfd only when none of them is writable), which is then mmap'd
 * like a plain core: the decompressed bytes are page cache the kernel can
 * drop and reread, not anonymous memory of ours.  The copy is bounded
 * (max_size, and the free space of its file system, less a reserve), so a
 * decompression bomb stops with a message instead of filling the disk.
 */
#ifndef GCI_COREINPUT_H
#define GCI_COREINPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct gci_core_input {
	int fd;                /* a plain ELF core, mmap-able; owned */
	const char *format;    /* "ELF", "zstd", "lz4", "xz", "gzip" */
	bool copied;           /* fd is a temporary copy (decompressed or piped) */
	/* The input was a pipe (or other stream): when the core was written is
	 * unknown.  Otherwise a copy carries the input file's times, so that
	 * fstat(fd) says when the core was written, as for a plain core. */
	bool stream;
	char where[300];       /* copied: "an unlinked file in /var/tmp", ... */
	uint64_t in_bytes;     /* copied: bytes read from the input */
	uint64_t out_bytes;    /* copied: bytes of the plain core */
	uint64_t usec;         /* copied: how long it took */
};

/* Where a long copy stands (a line for a terminal); "" when it is over. */
typedef void gci_core_input_progress_fn(void *arg, const char *message);

/*
 * Make fd (a regular file, a pipe, or anything read()able; not consumed:
 * the caller closes it) into a plain core.  name is what messages call the
 * input.  max_size bounds the bytes a copy may hold (0: only the free space
 * of the temporary file system bounds it).  progress (may be NULL) hears
 * how a copy that takes more than a second goes.  On success ret->fd is a
 * new descriptor the caller closes.
 */
struct gci_error *gci_core_input_open(int fd, const char *name, uint64_t max_size,
				      gci_core_input_progress_fn *progress, void *arg,
				      struct gci_core_input *ret);

#endif
