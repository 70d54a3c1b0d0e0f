/*
 * Qualified type names: a class defined in Python has only its own name in
 * tp_name ("property"); the module it was defined in is the "__module__"
 * string in its dict.  To tell a heap type "property" from the builtin one,
 * that string is read from the target, bounded at every step, and the type
 * is named "module.name" as Python's repr names it.  Anything unexpected
 * leaves the bare tp_name: qualification is a refinement, never an error.
 *
 * The structures read (PyTypeObject.tp_dict, PyDictObject.ma_keys, the dict
 * keys object, compact ASCII strings) are stable across release builds
 * within the version ranges of the table below; a build whose object header
 * is larger (Py_TRACE_REFS) shifts them all by the same amount, which the
 * layout's ob_type offset tells.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "typename.h"

#define TPFLAGS_HEAPTYPE (1ul << 9)
#define MAX_ENTRIES 4096        /* a class dict larger than this: give up */
#define MAX_MODULE_NAME 256

enum keys_format {
	KEYS_36,  /* 3.6-3.10: dk_size, dk_lookup, dk_usable, dk_nentries, indices */
	KEYS_311, /* 3.11+: dk_log2_size, dk_log2_index_bytes, dk_kind, ... */
};

static const struct object_model {
	uint32_t min_hex, max_hex;
	int32_t tp_dict;        /* PyTypeObject.tp_dict */
	int32_t ma_keys;        /* PyDictObject.ma_keys */
	enum keys_format keys;
	int32_t str_length, str_state, str_ascii_data; /* PyASCIIObject */
} models[] = {
	/* struct _dictkeysobject of Objects/dict-common.h; PyASCIIObject
	 * with its wstr pointer (removed in 3.12) */
	{ 0x03060000, 0x030affff, 264, 32, KEYS_36, 16, 32, 48 },
	{ 0x030b0000, 0x030bffff, 264, 32, KEYS_311, 16, 32, 48 },
	/* 3.12: PEP 623 drops wstr; keys and dict unchanged through 3.15 */
	{ 0x030c0000, 0x030fffff, 264, 32, KEYS_311, 16, 32, 40 },
};

static const struct object_model *model_for(uint32_t version_hex)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (version_hex >= models[i].min_hex && version_hex <= models[i].max_hex)
			return &models[i];
	return NULL;
}

/*
 * The text of a compact ASCII str at addr (at most max bytes), or NULL.
 * state: interned:2, kind:3, compact:1, ascii:1 in every version read.
 */
static char *ascii_str(struct gci_memory *mem, const struct object_model *m, int64_t shift,
		       uint64_t addr, size_t max)
{
	int64_t len;
	uint32_t state;
	struct gci_error *err;
	if ((err = gci_read_i64(mem, addr + (uint64_t)(m->str_length + shift), &len)) ||
	    (err = gci_read_u32(mem, addr + (uint64_t)(m->str_state + shift), &state))) {
		gci_error_destroy(err);
		return NULL;
	}
	bool compact = state & (1u << 5), ascii = state & (1u << 6);
	if (!compact || !ascii || len < 0 || (uint64_t)len > max)
		return NULL;
	char *s = malloc((size_t)len + 1);
	if (!s)
		return NULL;
	err = gci_memory_read(mem, addr + (uint64_t)(m->str_ascii_data + shift), s, (size_t)len);
	if (err) {
		gci_error_destroy(err);
		free(s);
		return NULL;
	}
	s[len] = '\0';
	if (strlen(s) != (size_t)len) {  /* an embedded NUL: not a name */
		free(s);
		return NULL;
	}
	return s;
}

/* The value of the str key "__module__" in the dict at dict, or 0. */
static uint64_t dict_module(struct gci_memory *mem, const struct object_model *m,
			    int64_t shift, uint64_t dict)
{
	uint64_t keys;
	struct gci_error *err;
	if ((err = gci_read_u64(mem, dict + (uint64_t)(m->ma_keys + shift), &keys)) || !keys) {
		gci_error_destroy(err);
		return 0;
	}
	int64_t nentries;
	uint64_t indices_bytes, entries;
	size_t entry_size = 24;     /* me_hash, me_key, me_value */
	size_t key_at = 8;
	if (m->keys == KEYS_36) {
		int64_t size;
		if ((err = gci_read_i64(mem, keys + 8, &size)) ||
		    (err = gci_read_i64(mem, keys + 32, &nentries))) {
			gci_error_destroy(err);
			return 0;
		}
		if (size <= 0 || size > (1 << 20) || (size & (size - 1)))
			return 0;
		size_t ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		indices_bytes = (uint64_t)size * ix;
		entries = keys + 40 + indices_bytes;
	} else {
		uint8_t hdr[3];
		if ((err = gci_memory_read(mem, keys + 8, hdr, 3)) ||
		    (err = gci_read_i64(mem, keys + 24, &nentries))) {
			gci_error_destroy(err);
			return 0;
		}
		if (hdr[1] > 23)     /* dk_log2_index_bytes */
			return 0;
		indices_bytes = (uint64_t)1 << hdr[1];
		entries = keys + 32 + indices_bytes;
		if (hdr[2] != 0) {   /* DICT_KEYS_UNICODE or SPLIT: me_key, me_value */
			entry_size = 16;
			key_at = 0;
		}
	}
	if (nentries <= 0 || nentries > MAX_ENTRIES)
		return 0;
	for (int64_t i = 0; i < nentries; i++) {
		uint64_t e = entries + (uint64_t)i * entry_size, key, value;
		if ((err = gci_read_u64(mem, e + key_at, &key)) ||
		    (err = gci_read_u64(mem, e + key_at + 8, &value))) {
			gci_error_destroy(err);
			return 0;
		}
		if (!key || !value)
			continue;
		char *name = ascii_str(mem, m, shift, key, 16);
		bool hit = name && !strcmp(name, "__module__");
		free(name);
		if (hit)
			return value;
	}
	return 0;
}

char *gci_type_qualified_name(struct gci_memory *mem, const struct gci_layout *L,
			      uint32_t version_hex, uint64_t type, uint64_t flags,
			      const char *tp_name)
{
	const struct object_model *m = model_for(version_hex);
	/* Only heap types keep their module apart from tp_name; a dotted
	 * tp_name already says it. */
	if (!m || !(flags & TPFLAGS_HEAPTYPE) || strchr(tp_name, '.'))
		return NULL;
	int64_t shift = (int64_t)L->ob_type - 8;
	uint64_t dict;
	struct gci_error *err = gci_read_u64(mem, type + (uint64_t)(m->tp_dict + shift), &dict);
	if (err || !dict) {
		gci_error_destroy(err);
		return NULL;
	}
	uint64_t value = dict_module(mem, m, shift, dict);
	char *module = value ? ascii_str(mem, m, shift, value, MAX_MODULE_NAME) : NULL;
	if (!module || !*module || !strcmp(module, "builtins")) {
		free(module);
		return NULL;
	}
	char *out;
	if (asprintf(&out, "%s.%s", module, tp_name) < 0)
		out = NULL;
	free(module);
	return out;
}
