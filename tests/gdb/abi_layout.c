/*
 * abi_layout: the size of every struct the gdb plugin mirrors with ctypes,
 * and the offset of each of its fields, as JSON (check_abi.py compares).
 */
#include <stddef.h>
#include <stdio.h>

#include "gcinspect.h"

static int first;

static void begin(const char *name, size_t size)
{
	printf("%s\"%s\": {\"size\": %zu, \"fields\": {", first++ ? ", " : "", name, size);
}

#define BEGIN(s) do { begin(#s, sizeof(struct s)); int f_ = 0; (void)f_
#define F(s, m) printf("%s\"%s\": %zu", f_++ ? ", " : "", #m, offsetof(struct s, m))
#define END() printf("}}"); } while (0)

int main(void)
{
	printf("{");
	BEGIN(gci_error); F(gci_error, code); F(gci_error, has_address);
	F(gci_error, address); F(gci_error, message); END();
	BEGIN(gci_options); F(gci_options, sysroot); F(gci_options, exe);
	F(gci_options, debug_dir); F(gci_options, no_dwarf); F(gci_options, no_cache);
	F(gci_options, offline); F(gci_options, log); F(gci_options, log_arg);
	F(gci_options, max_core_size); F(gci_options, progress);
	F(gci_options, progress_arg); END();
	BEGIN(gci_mapping); F(gci_mapping, start); F(gci_mapping, end);
	F(gci_mapping, offset); F(gci_mapping, path); END();
	BEGIN(gci_process_info); F(gci_process_info, pid); F(gci_process_info, signal);
	F(gci_process_info, signal_name); F(gci_process_info, command);
	F(gci_process_info, args); F(gci_process_info, path); F(gci_process_info, kind);
	F(gci_process_info, stopped); F(gci_process_info, stopped_usec); END();
	BEGIN(gci_gen); F(gci_gen, name); F(gci_gen, head); F(gci_gen, threshold);
	F(gci_gen, count); F(gci_gen, nobjects); F(gci_gen, bytes); F(gci_gen, complete);
	F(gci_gen, last_head); F(gci_gen, first); F(gci_gen, data); END();
	BEGIN(gci_type); F(gci_type, address); F(gci_type, name); F(gci_type, name_known);
	F(gci_type, basicsize); F(gci_type, itemsize); F(gci_type, flags); END();
	BEGIN(gci_object); F(gci_object, address); F(gci_object, type); F(gci_object, size);
	END();
	BEGIN(gci_problem); F(gci_problem, address); F(gci_problem, message); END();
	BEGIN(gci_interp); F(gci_interp, id); F(gci_interp, address); F(gci_interp, gc_state);
	F(gci_interp, enabled); F(gci_interp, collecting); F(gci_interp, long_lived_total);
	F(gci_interp, long_lived_pending); F(gci_interp, heap_size); F(gci_interp, collector);
	F(gci_interp, visited_space); F(gci_interp, phase);
	F(gci_interp, ngens); F(gci_interp, gens);
	F(gci_interp, has_permanent); F(gci_interp, permanent);
	F(gci_interp, has_work_to_do); F(gci_interp, work_to_do); END();
	BEGIN(gci_smaps); F(gci_smaps, known); F(gci_smaps, mappings); F(gci_smaps, rss);
	F(gci_smaps, shared_clean); F(gci_smaps, shared_dirty); F(gci_smaps, private_clean);
	F(gci_smaps, private_dirty); END();
	BEGIN(gci_snapshot); F(gci_snapshot, prog); F(gci_snapshot, version);
	F(gci_snapshot, version_hex); F(gci_snapshot, version_source);
	F(gci_snapshot, layout_source); F(gci_snapshot, layout_name);
	F(gci_snapshot, debug_offsets); F(gci_snapshot, debug_build); F(gci_snapshot, runtime);
	F(gci_snapshot, ninterps); F(gci_snapshot, interps); F(gci_snapshot, nobjects);
	F(gci_snapshot, objects); F(gci_snapshot, ntypes); F(gci_snapshot, types);
	F(gci_snapshot, nproblems); F(gci_snapshot, problems); F(gci_snapshot, smaps); F(gci_snapshot, time); F(gci_snapshot, time_source); END();
	BEGIN(gci_report_options); F(gci_report_options, kind); F(gci_report_options, format);
	F(gci_report_options, generation); F(gci_report_options, pages);
	F(gci_report_options, limit); END();
	/* enum values the plugin uses */
	printf(", \"enums\": {\"GCI_ERR_USAGE\": %d, \"GCI_REPORT_SUMMARY\": %d, "
	       "\"GCI_REPORT_TYPES\": %d, \"GCI_REPORT_TOUCH\": %d, \"GCI_FORMAT_TEXT\": %d, "
	       "\"GCI_FORMAT_JSON\": %d, \"GCI_LOG_WARNING\": %d, \"GCI_LOG_INFO\": %d, "
	       "\"GCI_LOG_DEBUG\": %d, \"GCI_SNAPSHOT_OBJECTS\": %d, "
	       "\"GCI_SNAPSHOT_TYPE_PAGES\": %d, \"GCI_MAX_GENS\": %d}",
	       GCI_ERR_USAGE, GCI_REPORT_SUMMARY, GCI_REPORT_TYPES, GCI_REPORT_TOUCH,
	       GCI_FORMAT_TEXT, GCI_FORMAT_JSON, GCI_LOG_WARNING, GCI_LOG_INFO, GCI_LOG_DEBUG,
	       GCI_SNAPSHOT_OBJECTS, GCI_SNAPSHOT_TYPE_PAGES, GCI_MAX_GENS);
	printf("}\n");
	return 0;
}
