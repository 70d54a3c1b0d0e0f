/* The layout cache: one small text file per build-id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout_cache.h"

/* 3: the source names the file DWARF was read from as reports do (never a
 * /proc/PID path of the process it was read for).  4: the free-threaded
 * fields. */
#define CACHE_FORMAT "gcinspect-layout 4"
/* In the file name too, so that two gcinspects of different formats
 * sharing a cache directory do not overwrite each other's entries. */
#define CACHE_VERSION "v4"

char *gci_layout_cache_dir(const struct gci_program *prog)
{
	char *dir = NULL;
	const char *env;
	if (prog->opts.no_cache)
		return NULL;
	if ((env = getenv("GCINSPECT_CACHE_DIR")) && *env)
		return strdup(env);
	if ((env = getenv("XDG_CACHE_HOME")) && *env) {
		if (asprintf(&dir, "%s/gcinspect", env) < 0)
			return NULL;
		return dir;
	}
	if ((env = getenv("HOME")) && *env) {
		if (asprintf(&dir, "%s/.cache/gcinspect", env) < 0)
			return NULL;
		return dir;
	}
	return NULL;
}

static char *cache_path(const struct gci_program *prog, const char *build_id)
{
	char *dir = gci_layout_cache_dir(prog), *path = NULL;
	if (!dir)
		return NULL;
	if (asprintf(&path, "%s/layout-%s-%s", dir, CACHE_VERSION, build_id) < 0)
		path = NULL;
	free(dir);
	return path;
}

/* Longest line and file a cache writes (a source path is at most PATH_MAX). */
#define CACHE_MAX_LINE 4200
#define CACHE_MAX_FILE (64 * 1024)

const char *gci_layout_cache_parse(const char *text, size_t len, const char *build_id,
				   struct gci_layout *ret, char **ret_source)
{
	struct gci_layout L = *ret;
	bool seen[GCI_LAYOUT_MAX_FIELDS] = { false };
	size_t nseen = 0, nline = 0;
	char line[CACHE_MAX_LINE + 1], *source = NULL;
	const char *why = NULL;
	bool have_build_id = false;
	for (size_t at = 0; at < len && !why; nline++) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		if (!nl) {
			why = "the last line is not complete";
			break;
		}
		if (n > CACHE_MAX_LINE || memchr(text + at, '\0', n)) {
			why = "a line is too long or holds a NUL byte";
			break;
		}
		memcpy(line, text + at, n);
		line[n] = '\0';
		at += n + 1;
		if (nline == 0) {
			if (strcmp(line, CACHE_FORMAT) != 0)
				why = "not a " CACHE_FORMAT " file";
			continue;
		}
		if (!strncmp(line, "build-id ", 9)) {
			if (strcmp(line + 9, build_id) != 0)
				why = "it is for another build-id";
			have_build_id = true;
			continue;
		}
		if (!strncmp(line, "source ", 7)) {
			free(source);
			if (!(source = strdup(line + 7)))
				why = "out of memory";
			continue;
		}
		char name[64];
		long long v;
		char end;
		if (sscanf(line, "%63s %lld %c", name, &v, &end) != 2) {
			why = "a line is not a field and a number";
			break;
		}
		size_t i;
		for (i = 0; i < gci_layout_nfields; i++)
			if (!strcmp(gci_layout_fields[i].name, name))
				break;
		if (i == gci_layout_nfields || i >= GCI_LAYOUT_MAX_FIELDS) {
			why = "a field is unknown";
			break;
		}
		if (seen[i]) {
			why = "a field is given twice";
			break;
		}
		if (!gci_layout_set(&L, &gci_layout_fields[i], v)) {
			why = "a value is out of range";
			break;
		}
		seen[i] = true;
		nseen++;
	}
	if (!why && nline == 0)
		why = "it is empty";
	if (!why && (nseen != gci_layout_nfields || !source || !have_build_id))
		why = "a field is missing";
	if (!why)
		why = gci_layout_invalid(&L);
	if (why) {
		free(source);
		return why;
	}
	*ret = L;
	*ret_source = source;
	return NULL;
}

bool gci_layout_cache_load(struct gci_program *prog, const char *build_id,
			   struct gci_layout *ret, char **ret_source)
{
	char *path = cache_path(prog, build_id);
	if (!path)
		return false;
	FILE *f = fopen(path, "re");
	if (!f) {
		gci_log(prog, GCI_LOG_DEBUG, "layout cache: no %s", path);
		free(path);
		return false;
	}
	char *text = malloc(CACHE_MAX_FILE + 1);
	size_t len = text ? fread(text, 1, CACHE_MAX_FILE + 1, f) : 0;
	bool error = ferror(f);
	fclose(f);
	const char *why = !text ? "out of memory" : error ? "it cannot be read" :
			  len > CACHE_MAX_FILE ? "it is too large" :
			  gci_layout_cache_parse(text, len, build_id, ret, ret_source);
	free(text);
	if (why) {
		gci_log(prog, GCI_LOG_INFO, "layout cache: ignoring %s (%s; damaged or from "
			"another gcinspect)", path, why);
		free(path);
		return false;
	}
	gci_log(prog, GCI_LOG_INFO, "layout cache: using %s (cached from the DWARF of %s; "
		"a report says the same cold or warm)", path, *ret_source);
	free(path);
	return true;
}

static int mkdir_p(char *dir)
{
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(dir, 0755);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(dir, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

void gci_layout_cache_store(struct gci_program *prog, const char *build_id,
			    const struct gci_layout *L, const char *source)
{
	char *dir = gci_layout_cache_dir(prog), *path = NULL, *tmp = NULL;
	if (!dir)
		return;
	if (mkdir_p(dir) < 0 ||
	    asprintf(&path, "%s/layout-%s-%s", dir, CACHE_VERSION, build_id) < 0 ||
	    asprintf(&tmp, "%s.%ld.tmp", path, (long)getpid()) < 0) {
		gci_log(prog, GCI_LOG_DEBUG, "layout cache: cannot use %s: %s", dir,
			strerror(errno));
		free(dir);
		free(path);
		return;
	}
	FILE *f = fopen(tmp, "we");
	if (f) {
		fprintf(f, CACHE_FORMAT "\nbuild-id %s\nsource %s\n", build_id, source);
		for (size_t i = 0; i < gci_layout_nfields; i++)
			fprintf(f, "%s %lld\n", gci_layout_fields[i].name,
				(long long)gci_layout_get(L, &gci_layout_fields[i]));
	}
	if (!f || fclose(f) != 0 || rename(tmp, path) != 0) {
		gci_log(prog, GCI_LOG_DEBUG, "layout cache: cannot write %s: %s", path,
			strerror(errno));
		unlink(tmp);
	} else {
		gci_log(prog, GCI_LOG_DEBUG, "layout cache: wrote %s", path);
	}
	free(dir);
	free(path);
	free(tmp);
}
