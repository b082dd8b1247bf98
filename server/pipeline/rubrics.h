/*
 * rubrics: the rubrics table (rubric.h parses and applies one rubric).
 */
#ifndef INTROEVAL_RUBRICS_H
#define INTROEVAL_RUBRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;

/* The newest rubric, creating the default one on first use. */
bool	rubrics_current(struct db *, long long *id, json_t **def,
	    char *err, size_t errlen);
bool	rubrics_get(struct db *, long long id, json_t **def,
	    char *err, size_t errlen);

#endif
