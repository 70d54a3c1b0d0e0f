/* Reading ELF core files with libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "coreinput.h"
#include "error.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif
#define AT_PHDR_TAG 3

/* Offsets in the x86-64 Linux note payloads. */
#define PRPSINFO_PID 24
#define PRPSINFO_FNAME 40
#define PRPSINFO_PSARGS 56
#define PRPSINFO_SIZE 136
#define PRSTATUS_CURSIG 12
#define PRSTATUS_PID 32

void gci_core_destroy(struct gci_core *core)
{
	if (!core)
		return;
	free(core->files);
	if (core->elf)
		elf_end(core->elf);
	if (core->fd >= 0)
		close(core->fd);
	free(core->path);
	free(core);
}

static const char *elf_type_name(int type)
{
	switch (type) {
	case ET_EXEC: return "an ELF executable";
	case ET_DYN: return "an ELF shared object or PIE executable";
	case ET_REL: return "an ELF relocatable object";
	default: return "an ELF file of unknown type";
	}
}

static void parse_nt_file(struct gci_core *core, const unsigned char *d, size_t n,
			  struct gci_error **warn)
{
	uint64_t count, page;
	if (n < 16)
		return;
	memcpy(&count, d, 8);
	memcpy(&page, d + 8, 8);
	if (count > (n - 16) / 24 || page == 0 || (page & (page - 1)))
		return; /* damaged: the files are optional, memory still works */
	core->files = calloc(count ? count : 1, sizeof(*core->files));
	if (!core->files) {
		*warn = &gci_enomem;
		return;
	}
	const char *names = (const char *)d + 16 + count * 24;
	const char *end = (const char *)d + n;
	for (uint64_t i = 0; i < count; i++) {
		struct gci_mapping *f = &core->files[core->nfiles];
		uint64_t pgoff;
		memcpy(&f->start, d + 16 + i * 24, 8);
		memcpy(&f->end, d + 16 + i * 24 + 8, 8);
		memcpy(&pgoff, d + 16 + i * 24 + 16, 8);
		const char *nul = memchr(names, '\0', (size_t)(end - names));
		if (!nul)
			break;
		f->path = names;
		names = nul + 1;
		if (f->end <= f->start || __builtin_mul_overflow(pgoff, page, &f->offset))
			continue;
		core->nfiles++;
	}
}

static void parse_notes(struct gci_core *core, const GElf_Phdr *ph,
			struct gci_error **warn)
{
	if (ph->p_offset > core->size || ph->p_filesz > core->size - ph->p_offset) {
		core->truncated = true;
		return;
	}
	Elf_Data *data = elf_getdata_rawchunk(core->elf, (int64_t)ph->p_offset, ph->p_filesz,
					      ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
	if (!data)
		return;
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	bool have_siginfo = false;
	while (off < data->d_size &&
	       (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;
		size_t n = nh.n_descsz;
		switch (nh.n_type) {
		case NT_PRPSINFO:
			if (n >= PRPSINFO_SIZE) {
				int32_t pid;
				memcpy(&pid, desc + PRPSINFO_PID, 4);
				core->pid = pid;
				memcpy(core->fname, desc + PRPSINFO_FNAME, 16);
				memcpy(core->psargs, desc + PRPSINFO_PSARGS, 80);
				gci_text_clean(core->fname);
				gci_text_clean(core->psargs);
			}
			break;
		case NT_PRSTATUS:
			if (n >= PRSTATUS_PID + 4 && !have_siginfo && core->signal < 0) {
				int16_t sig;
				memcpy(&sig, desc + PRSTATUS_CURSIG, 2);
				core->signal = sig;
			}
			if (n >= PRSTATUS_PID + 4 && core->pid < 0) {
				int32_t pid;
				memcpy(&pid, desc + PRSTATUS_PID, 4);
				core->pid = pid;
			}
			break;
		case NT_SIGINFO:
			if (n >= 4) {
				int32_t sig;
				memcpy(&sig, desc, 4);
				core->signal = sig;
				have_siginfo = true;
			}
			break;
		case NT_AUXV:
			for (size_t i = 0; i + 16 <= n; i += 16) {
				uint64_t tag, val;
				memcpy(&tag, desc + i, 8);
				memcpy(&val, desc + i + 8, 8);
				if (tag == AT_PHDR_TAG)
					core->at_phdr = val;
			}
			break;
		case NT_FILE:
			if (!core->files)
				parse_nt_file(core, desc, n, warn);
			break;
		}
	}
}

static int segment_compare(const void *a, const void *b)
{
	const struct gci_segment *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

struct gci_error *gci_core_open(int fd, const char *path, uint64_t max_size,
				gci_core_input_progress_fn *progress, void *arg,
				struct gci_memory *mem, struct gci_core **ret)
{
	struct gci_error *err = NULL;
	struct gci_segment *segs = NULL;
	struct gci_core *core = calloc(1, sizeof(*core));
	if (!core)
		return &gci_enomem;
	core->fd = -1;
	core->pid = -1;
	core->signal = -1;
	core->path = strdup(path);
	if (!core->path) {
		err = &gci_enomem;
		goto fail;
	}
	int in = fd;
	if (in < 0 && (in = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err = gci_error_create(GCI_ERR_INPUT, "cannot open %s: %s", path,
				       strerror(errno));
		goto fail;
	}
	/* Compressed, piped or plain: from here on a plain core to map. */
	err = gci_core_input_open(in, path, max_size, progress, arg, &core->input);
	if (in != fd)
		close(in);
	if (err)
		goto fail;
	core->fd = core->input.fd;
	elf_version(EV_CURRENT);
	core->elf = elf_begin(core->fd, ELF_C_READ_MMAP, NULL);
	if (!core->elf) {
		err = gci_error_create(GCI_ERR_INPUT, "%s: elf_begin: %s", path,
				       elf_errmsg(-1));
		goto fail;
	}
	core->raw = (const unsigned char *)elf_rawfile(core->elf, &core->size);
	GElf_Ehdr eh;
	if (!core->raw || !gelf_getehdr(core->elf, &eh)) {
		err = gci_error_create(GCI_ERR_INPUT, "%s: damaged ELF header: %s", path,
				       elf_errmsg(-1));
		goto fail;
	}
	if (eh.e_type != ET_CORE) {
		err = gci_error_create(GCI_ERR_INPUT, "%s is %s, not a core file", path,
				       elf_type_name(eh.e_type));
		goto fail;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64) {
		err = gci_error_create(GCI_ERR_INPUT,
				       "%s: only x86-64 little-endian cores are supported "
				       "(e_machine %u, class %u)", path, eh.e_machine,
				       eh.e_ident[EI_CLASS]);
		goto fail;
	}
	if (eh.e_phoff == 0 || eh.e_phoff >= core->size) {
		err = gci_error_create(GCI_ERR_INPUT, "%s: damaged program header table: "
				       "e_phoff 0x%" PRIx64 " is outside the file (%zu bytes)",
				       path, (uint64_t)eh.e_phoff, core->size);
		goto fail;
	}
	size_t phnum;
	if (elf_getphdrnum(core->elf, &phnum) != 0) {
		err = gci_error_create(GCI_ERR_INPUT, "%s: cannot read the program header "
				       "count: %s", path, elf_errmsg(-1));
		goto fail;
	}
	if (phnum == 0 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phoff > core->size ||
	    phnum > (core->size - eh.e_phoff) / sizeof(Elf64_Phdr)) {
		err = gci_error_create(GCI_ERR_INPUT,
				       "%s: damaged program header table (%zu entries at "
				       "offset 0x%" PRIx64 ", file size %zu)",
				       path, phnum, (uint64_t)eh.e_phoff, core->size);
		goto fail;
	}
	size_t nload = 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(core->elf, (int)i, &ph)) {
			err = gci_error_create(GCI_ERR_INPUT, "%s: program header %zu: %s",
					       path, i, elf_errmsg(-1));
			goto fail;
		}
		uint64_t seg_end;
		if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &seg_end))
			seg_end = UINT64_MAX;
		if (seg_end > core->expected_size)
			core->expected_size = seg_end;
		if (ph.p_type == PT_NOTE) {
			parse_notes(core, &ph, &err);
			if (err)
				goto fail;
			continue;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr) {
			err = gci_error_create(GCI_ERR_INPUT, "%s: program header %zu: segment "
					       "at 0x%" PRIx64 " wraps around", path, i,
					       (uint64_t)ph.p_vaddr);
			goto fail;
		}
		struct gci_segment seg = {
			.start = ph.p_vaddr,
			.end = ph.p_vaddr + ph.p_memsz,
			.what = "core",
			/* Bytes past p_filesz were left out by the kernel
			 * (coredump_filter) or gcore: they are unknown, not 0. */
			.why_unsaved = "was not saved in the core",
		};
		uint64_t filesz = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
		if (ph.p_offset >= core->size) {
			filesz = 0;
			if (ph.p_filesz) {
				core->truncated = true;
				seg.why_unsaved = "is past the end of the truncated core";
			}
		} else if (filesz > core->size - ph.p_offset) {
			filesz = core->size - ph.p_offset;
			core->truncated = true;
			seg.why_unsaved = "is past the end of the truncated core";
		}
		seg.saved_end = seg.start + filesz;
		seg.buf = filesz ? core->raw + ph.p_offset : NULL;
		if (!seg.buf)
			seg.saved_end = seg.start;
		struct gci_segment *more = gci_reallocarray(segs, nload + 1, sizeof(*segs));
		if (!more) {
			err = &gci_enomem;
			goto fail;
		}
		segs = more;
		segs[nload++] = seg;
	}
	if (nload == 0) {
		err = gci_error_create(GCI_ERR_INPUT, "%s: core has no memory segments", path);
		goto fail;
	}
	/* In address order, each insertion appends: linear, however many
	 * segments a (hostile) core lists, in whatever order.  (qsort must
	 * not see segs NULL: no segment was checked above.) */
	qsort(segs, nload, sizeof(*segs), segment_compare);
	for (size_t i = 0; i < nload; i++) {
		err = gci_memory_add(mem, GCI_TIER_PRIMARY, &segs[i]);
		if (err) {
			err = gci_error_prefix(err, "%s: ", path);
			goto fail;
		}
	}
	free(segs);
	segs = NULL;
	*ret = core;
	return NULL;
fail:
	free(segs);
	gci_core_destroy(core);
	return err;
}
