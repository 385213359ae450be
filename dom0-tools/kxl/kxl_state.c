/* kxl's state directory: the saved config of every domain it created, for dumpxml and restarts. */
#include <config.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kxl.h"
#include "kxen/kxconfig.h"

#define KXL_PRUNE_AGE_S 60

const char *kxl_state_dir(void)
{
	const char *env = getenv(KXL_STATE_ENV);
	return env && *env ? env : KXL_STATE_DIR;
}

void kxl_state_verdicts(void)
{
	const char *env = getenv(KXL_VERDICTS_ENV);
	char dir[4096];

	if (env) {
		kxconfig_set_verdict_cache(env);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/verdicts", kxl_state_dir());
	kxconfig_set_verdict_cache(dir);
}

void kxl_state_path(const uint8_t uuid[16], const char *suffix, char *buf, size_t len)
{
	char u[37];
	kxconfig_uuid_format(uuid, u);
	snprintf(buf, len, "%s/%s%s", kxl_state_dir(), u, suffix);
}

/* mkdir -p for the state directory: /var/lib/kxen may not exist on a fresh host. */
static int make_dirs(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int kxl_state_save(const struct kxconfig *cfg)
{
	char path[4096], tmp[4200];
	int r = make_dirs(kxl_state_dir());
	if (r)
		return r;
	kxl_state_path(cfg->uuid, ".xml", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	r = kxconfig_format(cfg, f);
	if (fclose(f) != 0 || r) {
		r = -EIO;
		goto out;
	}
	/* rename: a reader (dumpxml, a restart) never sees half a file. */
	if (rename(tmp, path) < 0)
		r = -errno;
out:
	if (r)
		unlink(tmp);
	return r;
}

int kxl_state_load(const uint8_t uuid[16], struct kxconfig **out, char *err, size_t errlen)
{
	char path[4096];
	kxl_state_path(uuid, ".xml", path, sizeof(path));
	if (access(path, F_OK) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return kxconfig_load(path, out, err, errlen) ? -EINVAL : 0;
}

void kxl_state_remove(const uint8_t uuid[16])
{
	static const char *const suffixes[] = { ".xml", ".pid" };
	char path[4096];
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		kxl_state_path(uuid, suffixes[i], path, sizeof(path));
		unlink(path);
	}
}

/* Domains that kxen-hv destroyed by itself (on_poweroff destroy, no monitor) leave files behind. */
void kxl_state_prune(const struct kxctl_dominfo *all, unsigned n)
{
	DIR *d = opendir(kxl_state_dir());
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		uint8_t u[16];
		char name[37];
		size_t l = strlen(de->d_name);
		if (l != 40 || strcmp(de->d_name + 36, ".xml"))
			continue;
		snprintf(name, sizeof(name), "%.36s", de->d_name);
		if (kxconfig_uuid_parse(name, u))
			continue;
		/* A create running now may have listed domains before this one was built. */
		struct stat st;
		char path[4096];
		kxl_state_path(u, ".xml", path, sizeof(path));
		if (stat(path, &st) < 0 || time(NULL) - st.st_mtime < KXL_PRUNE_AGE_S)
			continue;
		int live = 0;
		for (unsigned i = 0; i < n && !live; i++)
			live = !memcmp(all[i].uuid, u, 16);
		if (!live)
			kxl_state_remove(u);
	}
	closedir(d);
}
