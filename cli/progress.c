/*
 * progress: the upload progress line. On a terminal submit redraws one
 * line ("intro01.mp4  [########........]  50%  98.4 KiB / 196.8 KiB");
 * elsewhere it prints a plain line at every quarter (ctl_progress_step),
 * so a log holds a few lines, not hundreds.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

#define BAR_WIDTH	24

/* 0 B, 1023 B, 1.0 KiB, 200.3 KiB, 1.5 MiB, 2.0 GiB */
void
ctl_size_text(double bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int i = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%.0f B", bytes < 0 ? 0 : bytes);
		return;
	}
	while (bytes >= 1024 && i < 3) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", bytes, unit[i]);
}

/*
 * One progress line without a newline. width is the terminal's columns:
 * the name is shortened (from the left: the end says most) to fit.
 */
void
ctl_progress_line(const char *name, double done, double total, double rate,
    int width, char *buf, size_t len)
{
	char bar[BAR_WIDTH + 1], d[32], t[32], r[40] = "", shown[64];
	double frac = total > 0 ? done / total : 1;
	int i, filled, room;
	size_t nlen = strlen(name);

	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	filled = (int)(frac * BAR_WIDTH + 0.5);
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	ctl_size_text(done, d, sizeof(d));
	ctl_size_text(total, t, sizeof(t));
	if (rate > 0) {
		ctl_size_text(rate, r + 2, sizeof(r) - 2);
		memcpy(r, "  ", 2);
		strcat(r, "/s");
	}
	/* bar, percent, sizes and rate take about 60 columns */
	room = (width > 0 ? width : 80) - 62;
	if (room < 8)
		room = 8;
	if (room > (int)sizeof(shown) - 1)
		room = (int)sizeof(shown) - 1;
	if ((int)nlen > room)
		snprintf(shown, sizeof(shown), "...%s", name + nlen - (size_t)(room
		    - 3));
	else
		snprintf(shown, sizeof(shown), "%s", name);
	snprintf(buf, len, "%s  [%s] %3d%%  %s / %s%s", shown, bar,
	    (int)(frac * 100), d, t, r);
}

/* Which quarter (0-4) done/total has reached: a plain line per change. */
int
ctl_progress_step(double done, double total)
{
	if (total <= 0 || done >= total)
		return 4;
	if (done <= 0)
		return 0;
	return (int)(done * 4 / total);
}
