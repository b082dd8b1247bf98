/*
 * config: where introevalctl keeps the server's URL and the token that
 * login got, so later commands need neither. The file is
 * $XDG_CONFIG_HOME/introevalctl/config (~/.config when unset), lines of
 * key=value (url, token, email, kind, token_id); the directory is
 * created 0700 and the file written 0600 through a temporary file and
 * rename(), so a reader never sees half of it and the token is never
 * readable by others, not even for a moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

#define CONFIG_MAX	8192

static void	 put(char *, size_t, const char *, size_t);
static bool	 make_dir(const char *, char *, size_t);

/* The file's path; err says why there is none (no HOME). */
bool
ctl_config_path(char *path, size_t len, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, len, "%s/introevalctl/config", xdg);
	else if (home != NULL && home[0] != '\0')
		snprintf(path, len, "%s/.config/introevalctl/config", home);
	else {
		snprintf(err, errlen, "neither XDG_CONFIG_HOME nor HOME is "
		    "set: no place for the config file");
		return false;
	}
	return true;
}

static void
put(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Unknown keys and lines without "=" are ignored (a newer version's). */
bool
ctl_config_parse(const char *text, struct ctl_config *c)
{
	const char *line = text, *eq, *end;
	size_t klen, vlen;

	memset(c, 0, sizeof(*c));
	while (*line != '\0') {
		end = line + strcspn(line, "\n");
		eq = memchr(line, '=', (size_t)(end - line));
		if (line[0] != '#' && eq != NULL) {
			klen = (size_t)(eq - line);
			vlen = (size_t)(end - eq - 1);
			if (vlen > 0 && eq[vlen] == '\r')
				vlen--;
#define KEY(k, field) \
	if (klen == sizeof(k) - 1 && strncmp(line, k, klen) == 0) \
		put(c->field, sizeof(c->field), eq + 1, vlen)
			KEY("url", url);
			KEY("token", token);
			KEY("email", email);
			KEY("kind", kind);
			KEY("token_id", token_id);
#undef KEY
		}
		line = *end == '\n' ? end + 1 : end;
	}
	return c->url[0] != '\0' || c->token[0] != '\0';
}

/* The file's text; the caller frees it. */
char *
ctl_config_format(const struct ctl_config *c)
{
	char *text = malloc(CONFIG_MAX);

	if (text == NULL)
		return NULL;
	snprintf(text, CONFIG_MAX, "# introevalctl's sign-in, written by "
	    "\"introevalctl login\"; keep it private.\n"
	    "url=%s\ntoken=%s\nemail=%s\nkind=%s\ntoken_id=%s\n", c->url,
	    c->token, c->email, c->kind[0] ? c->kind : "session",
	    c->token_id);
	return text;
}

/* True with c filled, or with c empty when there is no file yet. */
bool
ctl_config_load(const char *path, struct ctl_config *c, char *err,
    size_t errlen)
{
	char text[CONFIG_MAX];
	size_t n;
	FILE *f;

	memset(c, 0, sizeof(*c));
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return true;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	ctl_config_parse(text, c);
	return true;
}

/* The directory and its parents, the last one 0700. */
static bool
make_dir(const char *file, char *err, size_t errlen)
{
	char dir[1024], *p;

	snprintf(dir, sizeof(dir), "%s", file);
	if ((p = strrchr(dir, '/')) == NULL)
		return true;
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return false;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return false;
	}
	if (chmod(dir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return false;
	}
	return true;
}

bool
ctl_config_save(const char *path, const struct ctl_config *c, char *err,
    size_t errlen)
{
	char tmp[1100], *text = NULL;
	size_t len;
	bool ok = false;
	int fd = -1;

	if (!make_dir(path, err, errlen))
		return false;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if ((text = ctl_config_format(c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	len = strlen(text);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	    0 || fchmod(fd, 0600) != 0 || write(fd, text, len) !=
	    (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (!ok)
		unlink(tmp);
	free(text);
	return ok;
}
