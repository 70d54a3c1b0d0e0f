/*
 * Reading _Py_DebugOffsets.  Every field is a uint64_t; the block grows
 * between minor versions (584 bytes in 3.13, 760 in 3.14, 888 in 3.15), so
 * where each field sits is data per minor version, derived from
 * Include/internal/pycore_runtime.h (v3.13.0) and pycore_debug_offsets.h
 * (v3.14.10, v3.15.2): sections in order, one word per field.
 */
#include <string.h>

#include "debug_offsets.h"
#include "error.h"

struct block_layout {
	unsigned minor;
	uint32_t size;
	/* byte positions inside the block */
	uint32_t runtime_size, interpreters_head;
	uint32_t interp_size, interp_id, interp_next, interp_gc;
	uint32_t pyobject_size, ob_type;
	uint32_t type_size, tp_name, tp_flags;
	uint32_t gc_size, gc_collecting;
};

static const struct block_layout blocks[] = {
	/* 3.13: runtime_state 24.., interpreter_state 48.. (size, id, next,
	 * threads_head, gc, ...), pyobject 352, type_object 368, gc 568. */
	{ 13, 584, 24, 40, 48, 56, 64, 80, 352, 360, 368, 376, 392, 568, 576 },
	/* 3.14: interpreter_state gains threads_main after threads_head;
	 * thread_state, frame and code sections grow; gc at 648. */
	{ 14, 760, 24, 40, 48, 56, 64, 88, 400, 408, 416, 424, 440, 648, 656 },
	/* 3.15: thread_state grows again, err_stackitem is new, type_object
	 * gains tp_basicsize and tp_dictoffset; gc at 752. */
	{ 15, 888, 24, 40, 48, 56, 64, 88, 464, 472, 480, 488, 504, 752, 760 },
};

bool gci_debug_offsets_present(struct gci_memory *mem, uint64_t address,
			       uint64_t *ret_version)
{
	unsigned char b[16];
	struct gci_error *err = gci_memory_read(mem, address, b, sizeof(b));
	if (err) {
		gci_error_destroy(err);
		return false;
	}
	if (memcmp(b, GCI_DEBUG_COOKIE, 8) != 0)
		return false;
	uint64_t v;
	memcpy(&v, b + 8, 8);
	if ((v >> 24) != 3 || ((v >> 16) & 0xff) < 13 || v > UINT32_MAX)
		return false;
	*ret_version = v;
	return true;
}

static uint64_t word(const unsigned char *b, uint32_t at)
{
	uint64_t v;
	memcpy(&v, b + at, 8);
	return v;
}

/* Whether [offset, offset + width) lies within [0, size) (size <= 2^24). */
static bool inside(uint64_t offset, uint64_t width, uint64_t size)
{
	return width <= size && offset <= size - width;
}

struct gci_error *gci_debug_offsets_read(struct gci_memory *mem, uint64_t address,
					 struct gci_debug_offsets *ret)
{
	uint64_t version;
	if (!gci_debug_offsets_present(mem, address, &version))
		return gci_error_at(GCI_ERR_INTEGRITY, address,
				    "no _Py_DebugOffsets at 0x%" PRIx64, address);
	unsigned minor = (version >> 16) & 0xff;
	const struct block_layout *bl = NULL;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (blocks[i].minor == minor)
			bl = &blocks[i];
	if (!bl)
		return gci_error_at(GCI_ERR_UNSUPPORTED, address,
				    "_Py_DebugOffsets of CPython 3.%u: layout of the block "
				    "unknown", minor);
	unsigned char b[1024];
	struct gci_error *err = gci_memory_read(mem, address, b, bl->size);
	if (err)
		return gci_error_prefix(err, "reading _Py_DebugOffsets: ");
	struct gci_debug_offsets d = {
		.version = version,
		.free_threaded = word(b, 16),
		.runtime_size = word(b, bl->runtime_size),
		.interpreters_head = word(b, bl->interpreters_head),
		.interp_size = word(b, bl->interp_size),
		.interp_id = word(b, bl->interp_id),
		.interp_next = word(b, bl->interp_next),
		.interp_gc = word(b, bl->interp_gc),
		.pyobject_size = word(b, bl->pyobject_size),
		.ob_type = word(b, bl->ob_type),
		.type_size = word(b, bl->type_size),
		.tp_name = word(b, bl->tp_name),
		.tp_flags = word(b, bl->tp_flags),
		.gc_size = word(b, bl->gc_size),
		.gc_collecting = word(b, bl->gc_collecting),
	};
	/* Validate: bounded sizes, every field inside its struct.  Each size
	 * is bounded first, so "field + width <= size" cannot wrap. */
	const char *bad = NULL;
	if (d.free_threaded > 1)
		bad = "free_threaded is neither 0 nor 1";
	else if (d.runtime_size < 64 || d.runtime_size > (1u << 24))
		bad = "runtime_state.size out of range";
	else if (!inside(d.interpreters_head, 8, d.runtime_size))
		bad = "interpreters_head outside _PyRuntimeState";
	else if (d.interp_size < 64 || d.interp_size > (1u << 24))
		bad = "interpreter_state.size out of range";
	else if (!inside(d.interp_id, 8, d.interp_size) || !inside(d.interp_next, 8, d.interp_size))
		bad = "interpreter_state.id or next outside PyInterpreterState";
	else if (d.gc_size < 64 || d.gc_size > 4096 || !inside(d.interp_gc, d.gc_size, d.interp_size))
		bad = "the GC state does not fit inside PyInterpreterState";
	else if (!inside(d.gc_collecting, 4, d.gc_size))
		bad = "gc.collecting outside the GC state";
	else if ((d.pyobject_size != 16 && d.pyobject_size != 32) ||
		 !inside(d.ob_type, 8, d.pyobject_size))
		bad = "PyObject size or ob_type out of range";
	else if (d.type_size < 200 || d.type_size > 4096 || !inside(d.tp_name, 8, d.type_size) ||
		 !inside(d.tp_flags, 8, d.type_size))
		bad = "PyTypeObject fields out of range";
	if (bad)
		return gci_error_at(GCI_ERR_INTEGRITY, address,
				    "_Py_DebugOffsets at 0x%" PRIx64 " fails validation: %s",
				    address, bad);
	*ret = d;
	return NULL;
}

static int apply_one(struct gci_program *prog, const char *what, int32_t *slot,
		     uint64_t value)
{
	int differs = *slot >= 0 && (uint64_t)*slot != value;
	if (differs)
		gci_log(prog, GCI_LOG_INFO, "layout: _Py_DebugOffsets and the layout "
			"disagree on %s: %" PRIu64 " vs %d (using _Py_DebugOffsets)", what,
			value, *slot);
	*slot = (int32_t)value;
	return differs;
}

int gci_debug_offsets_apply(struct gci_program *prog, const struct gci_debug_offsets *d,
			    struct gci_layout *L)
{
	int n = 0;
	n += apply_one(prog, "interpreters_head", &L->runtime_interp_head, d->interpreters_head);
	n += apply_one(prog, "interpreter_state.id", &L->interp_id, d->interp_id);
	n += apply_one(prog, "interpreter_state.next", &L->interp_next, d->interp_next);
	n += apply_one(prog, "interpreter_state.gc", &L->interp_gc, d->interp_gc);
	n += apply_one(prog, "gc.collecting", &L->gc_collecting, d->gc_collecting);
	n += apply_one(prog, "PyObject.ob_type", &L->ob_type, d->ob_type);
	n += apply_one(prog, "PyTypeObject.tp_name", &L->tp_name, d->tp_name);
	n += apply_one(prog, "PyTypeObject.tp_flags", &L->tp_flags, d->tp_flags);
	return n;
}
