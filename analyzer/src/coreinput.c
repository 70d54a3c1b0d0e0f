/* Core input: plain or compressed, from a file or a pipe (coreinput.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "coreinput.h"

#define IN_CHUNK ((size_t)1 << 20)
#define IN_SLICE ((size_t)16 << 10)
/* The decoders write into a buffer this size, and on into the copy; lz4
 * blocks are up to 4 MiB, which its decoder would otherwise hold again in
 * a buffer of its own, so lz4 gets LZ4_OUT_CHUNK. */
#define OUT_CHUNK ((size_t)1 << 20)
#define LZ4_OUT_CHUNK ((size_t)4 << 20)
/* xz -9 needs 65 MiB to decode; a stream asking for more than this is
 * refused rather than allowed to take the machine's memory. */
#define XZ_MEMLIMIT ((uint64_t)1 << 30)
/* What a copy leaves free on its file system: 1 GiB, or 5 % of it if less. */
#define RESERVE_MAX ((uint64_t)1 << 30)
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* The input, read in order: a regular file by pread from offset 0, anything
 * else by read() from where it stands. */
struct source {
	int fd;
	bool regular;
	unsigned char *buf;
	size_t len, pos;     /* buf[pos..len) not yet given to a decoder */
	uint64_t base;       /* input offset of buf[0] */
	uint64_t next;       /* input offset of the next read */
	bool eof;
};

/* The plain core being written. */
struct sink {
	int fd;
	uint64_t written;
	uint64_t limit;
	char limit_why[200];
	unsigned char head[4];
};

struct job {
	const char *name;
	const char *format;
	struct source in;
	struct sink out;
	unsigned char *obuf;
	/* progress: after a second, at most four times a second */
	gci_core_input_progress_fn *progress;
	void *arg;
	uint64_t t0, last;
	bool shown;
	uint64_t in_size;    /* regular files: the input's size; else 0 */
};

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void fmt_size(char *buf, size_t n, uint64_t bytes)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, n, "%.1f %s", v, units[u]);
}

/* Read more input into in->buf, after the len bytes it holds. */
static struct gci_error *source_read(struct job *j)
{
	struct source *in = &j->in;
	while (in->len < IN_CHUNK && !in->eof) {
		ssize_t n = in->regular
			? pread(in->fd, in->buf + in->len, IN_CHUNK - in->len, (off_t)in->next)
			: read(in->fd, in->buf + in->len, IN_CHUNK - in->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gci_error_create(GCI_ERR_INPUT, "%s: read error at byte %" PRIu64
						": %s", j->name, in->next, strerror(errno));
		if (n == 0) {
			in->eof = true;
			break;
		}
		in->len += (size_t)n;
		in->next += (uint64_t)n;
		/* A pipe gives what it has: decode that, not wait for more. */
		if (!in->regular)
			break;
	}
	return NULL;
}

static void progress(struct job *j)
{
	uint64_t now = now_usec();
	if (!j->progress || now - j->t0 < 1000000 || now - j->last < 250000)
		return;
	char msg[200];
	double read = (j->in.base + j->in.len) / 1048576.0, out = j->out.written / 1048576.0;
	const char *what = strcmp(j->format, "ELF") ? "decompressing" : "copying";
	if (j->in_size)
		snprintf(msg, sizeof(msg), "%s %s (%s): %.0f%% of %.0f MiB read, %.0f MiB of "
			 "core", what, j->name, j->format, 100.0 * read * 1048576.0 / j->in_size,
			 j->in_size / 1048576.0, out);
	else
		snprintf(msg, sizeof(msg), "%s %s (%s): %.0f MiB read, %.0f MiB of core", what,
			 j->name, j->format, read, out);
	j->progress(j->arg, msg);
	j->last = now;
	j->shown = true;
}

/* The next chunk of input, in place of the one given out. */
static struct gci_error *source_fill(struct job *j)
{
	struct source *in = &j->in;
	progress(j);
	in->base += in->len;
	in->len = in->pos = 0;
	return source_read(j);
}

static struct gci_error *damaged(struct job *j, uint64_t offset, const char *why)
{
	return gci_error_create(GCI_ERR_INPUT, "%s: damaged %s data (detected at compressed "
				"byte %" PRIu64 "): %s", j->name, j->format, offset, why);
}

static struct gci_error *truncated(struct job *j)
{
	return gci_error_create(GCI_ERR_INPUT, "%s: the %s data ends early, at compressed "
				"byte %" PRIu64 " (after %" PRIu64 " bytes of core): the "
				"input is truncated", j->name, j->format, j->in.base + j->in.len,
				j->out.written);
}

/* Append n bytes of plain core, read up to input offset at. */
static struct gci_error *sink_write(struct job *j, const unsigned char *p, size_t n,
				    uint64_t at)
{
	struct sink *s = &j->out;
	if (n == 0)
		return NULL;
	if (n > s->limit - s->written) {
		char lim[32];
		fmt_size(lim, sizeof(lim), s->limit);
		return gci_error_create(GCI_ERR_INPUT, "%s: the %s data decompresses to more "
					"than %s (%s), at compressed byte %" PRIu64 "; stopped",
					j->name, j->format, lim, s->limit_why, at);
	}
	/* The first bytes must make an ELF file, or nothing more is written. */
	for (size_t i = 0; s->written + i < 4 && i < n; i++)
		s->head[s->written + i] = p[i];
	if (s->written < 4 && s->written + n >= 4 && memcmp(s->head, "\177ELF", 4) != 0)
		return gci_error_create(GCI_ERR_INPUT, "%s: the decompressed %s data is not "
					"an ELF file, so not a core", j->name, j->format);
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return gci_error_create(GCI_ERR_INPUT, "%s: cannot write the "
						"decompressed core (%" PRIu64 " bytes so far): %s",
						j->name, s->written, w < 0 ? strerror(errno)
									 : "no progress");
		p += w;
		n -= (size_t)w;
		s->written += (uint64_t)w;
	}
	return NULL;
}

static struct gci_error *copy_plain(struct job *j)
{
	struct gci_error *err;
	do {
		struct source *in = &j->in;
		if ((err = sink_write(j, in->buf + in->pos, in->len - in->pos, in->base + in->len)))
			return err;
		in->pos = in->len;
	} while (!j->in.eof && !(err = source_fill(j)));
	return err;
}

static struct gci_error *inflate_zstd(struct job *j)
{
	struct gci_error *err = NULL;
	ZSTD_DStream *d = ZSTD_createDStream();
	if (!d)
		return &gci_enomem;
	size_t left = 0;  /* 0: between frames */
	do {
		/* In slices, so that an error says where it was found to within
		 * one (on error the decoder does not say how far it read). */
		while (j->in.pos < j->in.len) {
			size_t n = j->in.len - j->in.pos < IN_SLICE ? j->in.len - j->in.pos
								    : IN_SLICE;
			ZSTD_inBuffer zin = { j->in.buf + j->in.pos, n, 0 };
			while (zin.pos < zin.size) {
				ZSTD_outBuffer zout = { j->obuf, OUT_CHUNK, 0 };
				size_t r = ZSTD_decompressStream(d, &zout, &zin);
				uint64_t at = j->in.base + j->in.pos + zin.pos;
				if (ZSTD_isError(r)) {
					err = damaged(j, at, ZSTD_getErrorName(r));
					goto out;
				}
				if ((err = sink_write(j, j->obuf, zout.pos, at)))
					goto out;
				left = r;
			}
			j->in.pos += n;
		}
	} while (!j->in.eof && !(err = source_fill(j)));
	if (!err && left != 0)
		err = truncated(j);
out:
	ZSTD_freeDStream(d);
	return err;
}

static struct gci_error *inflate_lz4(struct job *j)
{
	struct gci_error *err = NULL;
	LZ4F_dctx *d;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return &gci_enomem;
	size_t hint = 1;  /* 0: between frames */
	do {
		struct source *in = &j->in;
		for (;;) {
			size_t dst = LZ4_OUT_CHUNK, src = in->len - in->pos;
			if (src > IN_SLICE)
				src = IN_SLICE;  /* as for zstd: errors located */
			size_t r = LZ4F_decompress(d, j->obuf, &dst, in->buf + in->pos, &src, NULL);
			if (LZ4F_isError(r)) {
				err = damaged(j, in->base + in->pos, LZ4F_getErrorName(r));
				goto out;
			}
			in->pos += src;
			hint = r;
			if ((err = sink_write(j, j->obuf, dst, in->base + in->pos)))
				goto out;
			/* A full output buffer may hide more: ask again. */
			if (dst < LZ4_OUT_CHUNK && in->pos == in->len)
				break;
			if (dst == 0 && src == 0) {
				err = damaged(j, in->base + in->pos, "the decoder is stuck");
				goto out;
			}
		}
	} while (!j->in.eof && !(err = source_fill(j)));
	if (!err && hint != 0)
		err = truncated(j);
out:
	LZ4F_freeDecompressionContext(d);
	return err;
}

static const char *lzma_why(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_MEMLIMIT_ERROR: return "it needs more than 1 GiB of memory to decode";
	case LZMA_FORMAT_ERROR: return "not in the .xz format";
	case LZMA_OPTIONS_ERROR: return "unsupported compression options";
	case LZMA_DATA_ERROR: return "the compressed data is corrupt";
	case LZMA_BUF_ERROR: return "the compressed data is truncated or corrupt";
	default: return "liblzma error";
	}
}

static struct gci_error *inflate_xz(struct job *j)
{
	struct gci_error *err = NULL;
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r = lzma_stream_decoder(&s, XZ_MEMLIMIT, LZMA_CONCATENATED);
	if (r != LZMA_OK)
		return r == LZMA_MEM_ERROR ? &gci_enomem
					   : gci_error_create(GCI_ERR_OTHER, "lzma_stream_decoder: %s",
							      lzma_why(r));
	for (;;) {
		struct source *in = &j->in;
		s.next_in = in->buf + in->pos;
		s.avail_in = in->len - in->pos;
		lzma_action action = in->eof ? LZMA_FINISH : LZMA_RUN;
		do {
			s.next_out = j->obuf;
			s.avail_out = OUT_CHUNK;
			r = lzma_code(&s, action);
			uint64_t at = in->base + (uint64_t)(s.next_in - in->buf);
			if ((err = sink_write(j, j->obuf, OUT_CHUNK - s.avail_out, at)))
				goto out;
			if (r == LZMA_STREAM_END)
				goto out;
			if (r == LZMA_BUF_ERROR && in->eof) {
				err = truncated(j);
				goto out;
			}
			if (r != LZMA_OK) {
				err = damaged(j, at, lzma_why(r));
				goto out;
			}
		} while (s.avail_in > 0 || s.avail_out == 0);
		in->pos = in->len;
		if (in->eof) {
			/* LZMA_FINISH with all input given and room to spare
			 * that did not end the stream: it was cut short. */
			err = truncated(j);
			goto out;
		}
		if ((err = source_fill(j)))
			goto out;
	}
out:
	lzma_end(&s);
	return err;
}

static struct gci_error *inflate_gzip(struct job *j)
{
	struct gci_error *err = NULL;
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return &gci_enomem;
	bool in_member = true;
	do {
		struct source *in = &j->in;
		z.next_in = in->buf + in->pos;
		z.avail_in = (uInt)(in->len - in->pos);
		while (z.avail_in > 0) {
			if (!in_member) {
				/* Another member follows (gzip files concatenate). */
				inflateReset(&z);
				in_member = true;
			}
			z.next_out = j->obuf;
			z.avail_out = (uInt)OUT_CHUNK;
			int r = inflate(&z, Z_NO_FLUSH);
			uint64_t at = in->base + (uint64_t)(z.next_in - in->buf);
			if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
				err = r == Z_MEM_ERROR ? &gci_enomem
						       : damaged(j, at, z.msg ? z.msg : "zlib error");
				goto out;
			}
			if ((err = sink_write(j, j->obuf, OUT_CHUNK - z.avail_out, at)))
				goto out;
			if (r == Z_STREAM_END) {
				in_member = false;
			} else if (r == Z_BUF_ERROR && z.avail_out != 0) {
				/* Input and room, and no progress: never in zlib's
				 * contract, and never a reason to drop input. */
				err = damaged(j, at, "the decoder is stuck");
				goto out;
			}
		}
		/* Output still held back for want of room: drain it. */
		while (in_member) {
			z.next_out = j->obuf;
			z.avail_out = (uInt)OUT_CHUNK;
			int r = inflate(&z, Z_NO_FLUSH);
			uint64_t at = in->base + in->len;
			if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
				err = damaged(j, at, z.msg ? z.msg : "zlib error");
				goto out;
			}
			if ((err = sink_write(j, j->obuf, OUT_CHUNK - z.avail_out, at)))
				goto out;
			if (r == Z_STREAM_END)
				in_member = false;
			if (z.avail_out != 0)
				break;
		}
		in->pos = in->len;
	} while (!j->in.eof && !(err = source_fill(j)));
	if (!err && in_member)
		err = truncated(j);
out:
	inflateEnd(&z);
	return err;
}

/* The format of the first bytes, or NULL. */
static const char *sniff(const unsigned char *b, size_t n)
{
	if (n >= 4 && !memcmp(b, "\177ELF", 4))
		return "ELF";
	if (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4))
		return "zstd";
	if (n >= 4 && !memcmp(b, "\x04\x22\x4d\x18", 4))
		return "lz4";
	if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
		return "xz";
	if (n >= 3 && !memcmp(b, "\x1f\x8b\x08", 3))
		return "gzip";
	if (n >= 4 && !memcmp(b, "\x02\x21\x4c\x18", 4))
		return "lz4-legacy";
	return NULL;
}

/*
 * An unlinked file to hold the copy: in $TMPDIR, else /var/tmp (on disk on
 * most systems), else /tmp (often tmpfs, i.e. memory); a memfd only if none
 * is writable.  Sets the sink's fd and its limit from the free space.
 */
static struct gci_error *make_temp(struct job *j, uint64_t max_size, char *where,
				   size_t nwhere)
{
	const char *dirs[3] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
	struct sink *s = &j->out;
	s->fd = -1;
	const char *dir = NULL;
	int last_errno = 0;
	for (int i = 0; i < 3 && s->fd < 0; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		dir = dirs[i];
		s->fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
		if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
			/* A file system without O_TMPFILE: name it, unlink it. */
			char *path;
			if (asprintf(&path, "%s/gcinspect-core.XXXXXX", dir) >= 0) {
				s->fd = mkostemp(path, O_CLOEXEC);
				if (s->fd >= 0)
					unlink(path);
				free(path);
			}
		}
		if (s->fd < 0)
			last_errno = errno;
	}
	uint64_t avail = 0, total = 0;
	if (s->fd >= 0) {
		struct statvfs v;
		struct statfs f;
		if (fstatvfs(s->fd, &v) == 0) {
			avail = (uint64_t)v.f_bavail * v.f_frsize;
			total = (uint64_t)v.f_blocks * v.f_frsize;
		}
		bool tmpfs = fstatfs(s->fd, &f) == 0 && f.f_type == TMPFS_MAGIC;
		snprintf(where, nwhere, "an unlinked file in %s%s", dir,
			 tmpfs ? " (tmpfs: in memory)" : "");
	} else {
		s->fd = memfd_create("gcinspect-core", MFD_CLOEXEC);
		if (s->fd < 0)
			return gci_error_create(GCI_ERR_INPUT, "%s: no place to decompress the "
						"core: no writable temporary directory (%s) and no "
						"memfd (%s)", j->name, strerror(last_errno),
						strerror(errno));
		long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
		avail = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 2 : 0;
		total = avail * 2;
		dir = NULL;
		snprintf(where, nwhere, "a memfd (in memory: no writable temporary directory)");
	}
	uint64_t reserve = total / 20 < RESERVE_MAX ? total / 20 : RESERVE_MAX;
	uint64_t room = avail > reserve ? avail - reserve : 0;
	char a[32], r[32];
	fmt_size(a, sizeof(a), avail);
	fmt_size(r, sizeof(r), reserve);
	if (max_size && max_size <= room) {
		s->limit = max_size;
		snprintf(s->limit_why, sizeof(s->limit_why), "the limit --max-core-size sets");
	} else if (dir) {
		s->limit = room;
		snprintf(s->limit_why, sizeof(s->limit_why), "what %s can hold: %s free, less "
			 "%s kept free; set TMPDIR to a roomier place", dir, a, r);
	} else {
		s->limit = room;
		snprintf(s->limit_why, sizeof(s->limit_why), "half the free memory, %s, for "
			 "a memfd", a);
	}
	return NULL;
}

struct gci_error *gci_core_input_open(int fd, const char *name, uint64_t max_size,
				      gci_core_input_progress_fn *progress_fn, void *arg,
				      struct gci_core_input *ret)
{
	struct gci_error *err = NULL;
	struct stat st;
	struct job j = { .name = name, .out = { .fd = -1 }, .progress = progress_fn,
			 .arg = arg };
	if (fstat(fd, &st) < 0)
		return gci_error_create(GCI_ERR_INPUT, "cannot stat %s: %s", name,
					strerror(errno));
	if (S_ISDIR(st.st_mode))
		return gci_error_create(GCI_ERR_INPUT, "%s is a directory, not a core file",
					name);
	j.in.fd = fd;
	j.in.regular = S_ISREG(st.st_mode);
	j.in_size = j.in.regular ? (uint64_t)st.st_size : 0;
	j.in.buf = malloc(IN_CHUNK);
	if (!j.in.buf)
		return &gci_enomem;
	uint64_t t0 = j.t0 = now_usec();
	/* Enough bytes to tell the format (a pipe may give fewer at a time). */
	while (!j.in.eof && j.in.len < 8)
		if ((err = source_read(&j)))
			goto fail;
	if (j.in.len == 0) {
		err = gci_error_create(GCI_ERR_INPUT, "%s is empty, not a core file", name);
		goto fail;
	}
	j.format = sniff(j.in.buf, j.in.len);
	if (!j.format) {
		err = gci_error_create(GCI_ERR_INPUT, "%s is not an ELF file (nor zstd, lz4, "
				       "xz or gzip data)", name);
		goto fail;
	}
	if (!strcmp(j.format, "lz4-legacy")) {
		err = gci_error_create(GCI_ERR_INPUT, "%s is in lz4's legacy format (lz4 -l), "
				       "which gcinspect does not read: decompress it first "
				       "(lz4 -d)", name);
		goto fail;
	}
	memset(ret, 0, sizeof(*ret));
	ret->format = j.format;
	ret->stream = !j.in.regular;
	if (j.in.regular && !strcmp(j.format, "ELF")) {
		free(j.in.buf);
		ret->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (ret->fd < 0)
			return gci_error_create(GCI_ERR_INPUT, "%s: dup: %s", name, strerror(errno));
		return NULL;
	}
	if ((err = make_temp(&j, max_size, ret->where, sizeof(ret->where))))
		goto fail;
	j.obuf = malloc(!strcmp(j.format, "lz4") ? LZ4_OUT_CHUNK : OUT_CHUNK);
	if (!j.obuf) {
		err = &gci_enomem;
		goto fail;
	}
	if (!strcmp(j.format, "ELF"))
		err = copy_plain(&j);
	else if (!strcmp(j.format, "zstd"))
		err = inflate_zstd(&j);
	else if (!strcmp(j.format, "lz4"))
		err = inflate_lz4(&j);
	else if (!strcmp(j.format, "xz"))
		err = inflate_xz(&j);
	else
		err = inflate_gzip(&j);
	if (err)
		goto fail;
	if (j.out.written < 4) {
		err = gci_error_create(GCI_ERR_INPUT, "%s: the %s data decompresses to %" PRIu64
				       " bytes, not a core", name, j.format, j.out.written);
		goto fail;
	}
	free(j.in.buf);
	free(j.obuf);
	if (j.shown)
		j.progress(j.arg, "");
	if (j.in.regular) {
		/* When the core was written is when its compressed file was. */
		struct timespec times[2] = { st.st_atim, st.st_mtim };
		futimens(j.out.fd, times);
	}
	ret->fd = j.out.fd;
	ret->copied = true;
	ret->in_bytes = j.in.base + j.in.len;
	ret->out_bytes = j.out.written;
	ret->usec = now_usec() - t0;
	return NULL;
fail:
	free(j.in.buf);
	free(j.obuf);
	if (j.out.fd >= 0)
		close(j.out.fd);
	if (j.shown)
		j.progress(j.arg, "");
	return err;
}
