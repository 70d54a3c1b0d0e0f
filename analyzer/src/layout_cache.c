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
	struct gci_layout L = *ret;
	bool seen[GCI_LAYOUT_MAX_FIELDS] = { false };
	size_t nseen = 0;
	char line[4200], *source = NULL;
	bool ok = fgets(line, sizeof(line), f) && !strcmp(line, CACHE_FORMAT "\n");
	while (ok && fgets(line, sizeof(line), f)) {
		char name[64];
		long long v;
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "build-id ", 9)) {
			ok = !strcmp(line + 9, build_id);
			continue;
		}
		if (!strncmp(line, "source ", 7)) {
			free(source);
			source = strdup(line + 7);
			continue;
		}
		if (sscanf(line, "%63s %lld", name, &v) != 2) {
			ok = false;
			break;
		}
		size_t i;
		for (i = 0; i < gci_layout_nfields; i++)
			if (!strcmp(gci_layout_fields[i].name, name))
				break;
		if (i == gci_layout_nfields || i >= GCI_LAYOUT_MAX_FIELDS || seen[i]) {
			ok = false;
			break;
		}
		gci_layout_set(&L, &gci_layout_fields[i], v);
		seen[i] = true;
		nseen++;
	}
	fclose(f);
	if (ok && gci_layout_invalid(&L))
		ok = false;
	if (!ok || nseen != gci_layout_nfields || !source) {
		gci_log(prog, GCI_LOG_INFO, "layout cache: ignoring %s (damaged or from "
			"another gcinspect)", path);
		free(source);
		free(path);
		return false;
	}
	gci_log(prog, GCI_LOG_INFO, "layout cache: using %s (cached from the DWARF of %s; "
		"a report says the same cold or warm)", path, source);
	free(path);
	*ret = L;
	*ret_source = source;
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
