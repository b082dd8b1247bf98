/* agree: see agree.h. */
#include <math.h>
#include <stdlib.h>

#include "agree.h"
#include "util.h"

double
agree_qwk(const int *a, const int *b, size_t n, int min, int max)
{
	size_t k = (size_t)(max - min + 1), i, j;
	double *obs, *ra, *rb, num = 0, den = 0, w, e;
	bool same = true;

	if (n == 0 || min >= max)
		return NAN;
	for (i = 0; i < n; i++) {
		if (a[i] < min || a[i] > max || b[i] < min || b[i] > max)
			return NAN;
		same = same && a[i] == a[0] && b[i] == a[0];
	}
	if (same)
		return 1.0;
	obs = xcalloc(k * k, sizeof(double));
	ra = xcalloc(k, sizeof(double));
	rb = xcalloc(k, sizeof(double));
	for (i = 0; i < n; i++) {
		obs[(size_t)(a[i] - min) * k + (size_t)(b[i] - min)] += 1;
		ra[a[i] - min] += 1;
		rb[b[i] - min] += 1;
	}
	for (i = 0; i < k; i++)
		for (j = 0; j < k; j++) {
			w = ((double)i - (double)j) * ((double)i - (double)j) /
			    ((double)(k - 1) * (double)(k - 1));
			e = ra[i] * rb[j] / (double)n;
			num += w * obs[i * k + j];
			den += w * e;
		}
	free(obs);
	free(ra);
	free(rb);
	/* One rater constant and the other not: no chance disagreement. */
	return den > 0 ? 1.0 - num / den : 0.0;
}

double
agree_mae(const int *a, const int *b, size_t n)
{
	double sum = 0;
	size_t i;

	if (n == 0)
		return NAN;
	for (i = 0; i < n; i++)
		sum += abs(a[i] - b[i]);
	return sum / (double)n;
}

double
agree_stddev(const double *v, size_t n)
{
	double mean = 0, sq = 0;
	size_t i;

	if (n < 2)
		return 0;
	for (i = 0; i < n; i++)
		mean += v[i];
	mean /= (double)n;
	for (i = 0; i < n; i++)
		sq += (v[i] - mean) * (v[i] - mean);
	return sqrt(sq / (double)n);
}
