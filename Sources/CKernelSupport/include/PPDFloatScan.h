#ifndef PPD_FLOAT_SCAN_H
#define PPD_FLOAT_SCAN_H

// Scans of float rows (a 262,144-token logits row, a slice of products) in vector registers:
// AVX-512 or AVX2 where the CPU has them, a scalar loop elsewhere; every path gives the scalar
// loop's answer. (Swift's `any()` of a SIMD comparison lowered to a per-lane loop, which made the
// scans of the best-token path cost a tenth of a 7-row forward pass.)

/// The largest of `v[0 ..< n]` that is not NaN; -infinity when there is none (or n is 0).
float ppd_f32_max(const float *v, long n);

/// The first index i in `start ..< n` with `v[i] == value`, or `n` when there is none.
long ppd_f32_find_equal(const float *v, long start, long n, float value);

/// The first index i in `start ..< n` with `v[i] > value`, or `n` when there is none.
long ppd_f32_find_above(const float *v, long start, long n, float value);

/// The same scans at most `width` bits wide (512, 256, or 1 for the scalar loop; a width the CPU
/// lacks falls back to the next narrower one): tests check every path the CPU can run.
float ppd_f32_max_width(const float *v, long n, int width);
long ppd_f32_find_equal_width(const float *v, long start, long n, float value, int width);
long ppd_f32_find_above_width(const float *v, long start, long n, float value, int width);

#endif
