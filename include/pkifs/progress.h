/*
 * progress: how far a long piece of work has come.
 *
 * Work whose time grows with the store (a backup, a check) reports its
 * progress through this callback, so a command run on a terminal can show
 * it; the core prints nothing itself.
 */
#ifndef PKIFS_PROGRESS_H
#define PKIFS_PROGRESS_H

#include <stdint.h>

struct pk_progress {
	void (*fn)(void *ctx, const char *what, uint64_t done, uint64_t total);
	void *ctx;
};

/* Report done of total (a NULL p or fn reports nothing). */
static inline void pk_progress_report(const struct pk_progress *p, const char *what,
				      uint64_t done, uint64_t total)
{
	if (p && p->fn)
		p->fn(p->ctx, what, done, total);
}

#endif
