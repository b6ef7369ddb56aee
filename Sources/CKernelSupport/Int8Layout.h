// Internal to the int8 kernels: GGML type numbers, the input chunk layout, CPU targets.
#ifndef PPD_INT8_LAYOUT_H
#define PPD_INT8_LAYOUT_H

#include "PPDInt8.h"

enum { TYPE_Q4_0 = 2, TYPE_Q5_0 = 6, TYPE_Q8_0 = 8, TYPE_Q4_K = 12, TYPE_Q6_K = 14 };

#define PPD_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define PPD_AVX2_TARGET __attribute__((target("avx2,fma")))

/// Bytes of one chunk of a quantized input row (4 sub-blocks of `block` elements): block/4
/// vectors of 64 bytes (dword b of each 16-byte quarter: 4 elements of sub-block b; the quarter
/// repeated for the 4 rows), then 16 activation scales dA, 16 scaled sums dA * sum(q) and 16
/// integer sums sum(q) (int32), each at lane 4r + b.
static inline size_t ppd_i8_chunk_bytes(int block) { return (size_t)(block / 4) * 64 + 192; }

/// Row sums of the 16 lanes (lane 4r + b): (l[4r] + l[4r+1]) + (l[4r+2] + l[4r+3]), the fixed
/// order every kernel uses.
static inline void ppd_i8_row_sums(const float lanes[16], float *y) {
    for (int r = 0; r < 4; r++) y[r] = (lanes[4 * r] + lanes[4 * r + 1]) + (lanes[4 * r + 2] + lanes[4 * r + 3]);
}

/// Stores the 4 row results `sums` of the group whose first row is `row`: at `y + (row -
/// row_start)` on, or, with a row map, at `y[map[row + i]]` (y is then the start of the output row).
static inline void ppd_i8_store_group(const float sums[4], float *y, const int32_t *map, int row, int row_start) {
    if (map)
        for (int i = 0; i < 4; i++) y[map[row + i]] = sums[i];
    else
        for (int i = 0; i < 4; i++) y[row - row_start + i] = sums[i];
}

void ppd_i8_multiply_vnni(const uint8_t *weights, const float *scales, const float *mins, float min_factor, int columns,
                          int block, const uint8_t *packed, int count, float *y, long output_stride, int row_start,
                          int row_end, const int32_t *row_map);
void ppd_i8_multiply_avx2(uint32_t type, const uint8_t *weights, const float *scales, const float *mins, int columns,
                          int block, const uint8_t *packed, int count, float *y, long output_stride, int row_start,
                          int row_end, const int32_t *row_map);

#endif
