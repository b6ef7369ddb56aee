// Vector scans of float rows (see include/PPDFloatScan.h). Each width keeps the scalar loop's
// answer: `max` ignores NaN because `maxps(v, m)` returns its second operand when either is NaN
// (so a NaN in `v` leaves `m`), and the running maximum starts at -infinity; `find_equal`
// compares with `==`, which NaN never satisfies.
#include "PPDFloatScan.h"

#include <immintrin.h>
#include <math.h>

#define PPD_SCAN_AVX512 __attribute__((target("avx512f")))
#define PPD_SCAN_AVX2 __attribute__((target("avx2")))

static int has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }

static float max_tail(const float *v, long i, long n, float m) {
    for (; i < n; i++)
        if (v[i] > m) m = v[i];
    return m;
}

PPD_SCAN_AVX512 static float max_avx512(const float *v, long n) {
    __m512 a = _mm512_set1_ps(-INFINITY), b = a;
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        a = _mm512_max_ps(_mm512_loadu_ps(v + i), a);
        b = _mm512_max_ps(_mm512_loadu_ps(v + i + 16), b);
    }
    for (; i + 16 <= n; i += 16) a = _mm512_max_ps(_mm512_loadu_ps(v + i), a);
    return max_tail(v, i, n, _mm512_reduce_max_ps(_mm512_max_ps(a, b)));
}

PPD_SCAN_AVX2 static float max_avx2(const float *v, long n) {
    __m256 a = _mm256_set1_ps(-INFINITY), b = a;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        a = _mm256_max_ps(_mm256_loadu_ps(v + i), a);
        b = _mm256_max_ps(_mm256_loadu_ps(v + i + 8), b);
    }
    for (; i + 8 <= n; i += 8) a = _mm256_max_ps(_mm256_loadu_ps(v + i), a);
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(a, b));
    return max_tail(v, i, n, max_tail(lanes, 0, 8, -INFINITY));
}

/// The widest width the CPU has, at most `width` (512, 256 or anything else for scalar).
static int usable_width(int width) {
    if (width >= 512 && has_avx512()) return 512;
    if (width >= 256 && has_avx2()) return 256;
    return 1;
}

float ppd_f32_max_width(const float *v, long n, int width) {
    switch (usable_width(width)) {
    case 512: return max_avx512(v, n);
    case 256: return max_avx2(v, n);
    default: return max_tail(v, 0, n, -INFINITY);
    }
}

float ppd_f32_max(const float *v, long n) { return ppd_f32_max_width(v, n, 512); }

// The first index from `i` whose value compares to `value` as `PREDICATE` (an `_CMP_*_OQ`
// constant: ordered, so NaN never matches), at each width.
#define DEFINE_FIND(NAME, PREDICATE, SCALAR)                                                            \
    static long NAME##_tail(const float *v, long i, long n, float value) {                             \
        for (; i < n; i++)                                                                              \
            if (SCALAR) return i;                                                                       \
        return n;                                                                                       \
    }                                                                                                   \
    PPD_SCAN_AVX512 static long NAME##_avx512(const float *v, long i, long n, float value) {           \
        const __m512 x = _mm512_set1_ps(value);                                                         \
        for (; i + 16 <= n; i += 16) {                                                                  \
            const __mmask16 hits = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + i), x, PREDICATE);          \
            if (hits) return i + __builtin_ctz(hits);                                                   \
        }                                                                                               \
        return NAME##_tail(v, i, n, value);                                                             \
    }                                                                                                   \
    PPD_SCAN_AVX2 static long NAME##_avx2(const float *v, long i, long n, float value) {               \
        const __m256 x = _mm256_set1_ps(value);                                                         \
        for (; i + 8 <= n; i += 8) {                                                                    \
            const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + i), x, PREDICATE));  \
            if (hits) return i + __builtin_ctz(hits);                                                   \
        }                                                                                               \
        return NAME##_tail(v, i, n, value);                                                             \
    }                                                                                                   \
    long ppd_f32_##NAME##_width(const float *v, long start, long n, float value, int width) {          \
        if (start >= n) return n;                                                                       \
        switch (usable_width(width)) {                                                                  \
        case 512: return NAME##_avx512(v, start, n, value);                                            \
        case 256: return NAME##_avx2(v, start, n, value);                                              \
        default: return NAME##_tail(v, start, n, value);                                                \
        }                                                                                               \
    }                                                                                                   \
    long ppd_f32_##NAME(const float *v, long start, long n, float value) {                            \
        return ppd_f32_##NAME##_width(v, start, n, value, 512);                                        \
    }

DEFINE_FIND(find_equal, _CMP_EQ_OQ, v[i] == value)
DEFINE_FIND(find_above, _CMP_GT_OQ, v[i] > value)
