/*
 * agree: how closely two sets of integer ratings agree, for comparing a
 * model's scores with the teachers' (the bake-off).
 *
 * Quadratic-weighted kappa (Cohen 1968): 1 - sum(w*O) / sum(w*E) with
 * w(i,j) = (i-j)^2 / (k-1)^2 over the k categories min..max, O the
 * observed matrix and E the product of the marginals scaled to the same
 * total. 1 is perfect agreement, 0 what chance gives, below 0 worse.
 */
#ifndef INTROEVAL_AGREE_H
#define INTROEVAL_AGREE_H

#include <stddef.h>

/* NAN when n == 0, min >= max, or a rating lies outside min..max; 1 when
   both raters gave one and the same rating throughout. */
double	agree_qwk(const int *a, const int *b, size_t n, int min, int max);
/* Mean absolute difference; NAN when n == 0. */
double	agree_mae(const int *a, const int *b, size_t n);
/* Population standard deviation of n values; 0 when n < 2. */
double	agree_stddev(const double *v, size_t n);

#endif
