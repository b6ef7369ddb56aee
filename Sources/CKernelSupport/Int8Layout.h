// Internal to the int8 kernels: GGML type numbers, the input chunk layout, CPU targets.
#ifndef PPD_INT8_LAYOUT_H
#define PPD_INT8_LAYOUT_H

#include "PPDInt8.h"

#include <string.h>

enum { TYPE_Q4_0 = 2, TYPE_Q5_0 = 6, TYPE_Q8_0 = 8, TYPE_Q4_K = 12, TYPE_Q6_K = 14 };

#define PPD_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define PPD_AVX2_TARGET __attribute__((target("avx2,fma,f16c")))

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

/// Bytes of one tile (4 rows x 4 sub-blocks of `block` elements) of weights with `bits` bits.
static inline size_t ppd_i8_tile_bytes(int bits, int block) { return (size_t)2 * block * bits; }

/// u_k[i] of a tile (see "Packed tiles" in PPDInt8.h); `steps` = block / 4.
static inline uint8_t ppd_i8_tile_get(int bits, int steps, const uint8_t *tile, int k, int i) {
    if (bits == 8) return tile[k * 64 + i];
    uint8_t u = (uint8_t)((tile[(k / 2) * 64 + i] >> (4 * (k & 1))) & 15);
    const uint8_t *planes = tile + 32 * steps;
    for (int bit = 4; bit < bits; bit++) {
        uint64_t word;
        memcpy(&word, planes + ((bit - 4) * steps + k) * 8, 8);
        u |= (uint8_t)(((word >> i) & 1) << bit);
    }
    return u;
}

/// An IEEE half as a float (exact).
static inline float ppd_i8_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int shift = 0;
            while (!(mantissa & 0x400)) { mantissa <<= 1; shift++; }
            bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3ff) << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000 | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// Scale number `index` of a matrix, as a float.
static inline float ppd_i8_scale(const ppd_i8_matrix *m, size_t index) {
    return ppd_i8_half_scales(m->type) ? ppd_i8_half_to_float(((const uint16_t *)m->scales)[index])
                                       : ((const float *)m->scales)[index];
}

/// Offset number `index` of a matrix (from the table, or derived from the scale).
static inline float ppd_i8_min(const ppd_i8_matrix *m, size_t index) {
    return m->mins ? m->mins[index] : ppd_i8_min_factor(m->type) * ppd_i8_scale(m, index);
}

void ppd_i8_multiply_vnni(const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y, long output_stride,
                          int row_start, int row_end, const int32_t *row_map);
void ppd_i8_multiply_avx2(const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y, long output_stride,
                          int row_start, int row_end, const int32_t *row_map);

#endif
