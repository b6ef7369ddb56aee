// Matrix products with int8 activations on AVX-512 VNNI (see include/PPDInt8.h): one 512-bit
// `vpdpbusd` sums 4 products for each of the 16 (row, sub-block) lanes of a chunk.
#include "Int8Layout.h"

#include <immintrin.h>

/// The row sums of a chunk result's 16 lanes (`ppd_i8_row_sums`).
PPD_VNNI_TARGET static inline void store_row_sums(__m512 a, float *y) {
    float lanes[16];
    _mm512_storeu_ps(lanes, a);
    ppd_i8_row_sums(lanes, y);
}

/// G groups of four weight rows (consecutive in memory) times J input rows (G, J in 1...2), as
/// G x J independent chains (each weight and activation vector loaded once per use by several
/// chains). Every (group, input) pair runs the same operations whatever G and J: the two halves
/// of each sub-block's integer dot product (even and odd steps, as independent chains), their
/// sum, then `f = float(isum) * dA; acc = fma(f, scale, acc); offsets = fma(min, dA * sum,
/// offsets)`; result lanes = acc - offsets.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void block_product(
    const int G, const int J, const uint8_t *w, const float *scales, const float *mins, size_t group_bytes,
    size_t group_scales, int chunks, const int steps, const uint8_t *x, size_t input_bytes, float *y, long output_stride) {
    __m512 acc[2][2], offsets[2][2];
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) acc[g][j] = offsets[g][j] = _mm512_setzero_ps();
    const size_t chunk = ppd_i8_chunk_bytes(4 * steps);
    for (int c = 0; c < chunks; c++) {
        __m512i even[2][2], odd[2][2];
        for (int g = 0; g < G; g++)
            for (int j = 0; j < J; j++) even[g][j] = odd[g][j] = _mm512_setzero_si512();
        for (int k = 0; k < steps; k += 2) {
            __m512i we[2], wo[2], xe[2], xo[2];
            for (int g = 0; g < G; g++) {
                const uint8_t *wc = w + g * group_bytes + (size_t)c * steps * 64;
                we[g] = _mm512_loadu_si512(wc + k * 64);
                wo[g] = _mm512_loadu_si512(wc + (k + 1) * 64);
            }
            for (int j = 0; j < J; j++) {
                const uint8_t *xc = x + j * input_bytes + c * chunk;
                xe[j] = _mm512_loadu_si512(xc + k * 64);
                xo[j] = _mm512_loadu_si512(xc + (k + 1) * 64);
            }
            for (int g = 0; g < G; g++)
                for (int j = 0; j < J; j++) {
                    even[g][j] = _mm512_dpbusd_epi32(even[g][j], we[g], xe[j]);
                    odd[g][j] = _mm512_dpbusd_epi32(odd[g][j], wo[g], xo[j]);
                }
        }
        for (int g = 0; g < G; g++) {
            __m512 scale = _mm512_loadu_ps(scales + g * group_scales + c * 16);
            __m512 min = _mm512_loadu_ps(mins + g * group_scales + c * 16);
            for (int j = 0; j < J; j++) {
                const float *xs = (const float *)(x + j * input_bytes + c * chunk + steps * 64);
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(even[g][j], odd[g][j])), _mm512_loadu_ps(xs));
                acc[g][j] = _mm512_fmadd_ps(f, scale, acc[g][j]);
                offsets[g][j] = _mm512_fmadd_ps(min, _mm512_loadu_ps(xs + 16), offsets[g][j]);
            }
        }
    }
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) store_row_sums(_mm512_sub_ps(acc[g][j], offsets[g][j]), y + j * output_stride + g * 4);
}

/// Row groups `groups` (1 or 2) times all inputs, two inputs at a time.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void groups_product(
    const int G, const uint8_t *w, const float *scales, const float *mins, size_t group_bytes, size_t group_scales,
    int chunks, const int steps, const uint8_t *packed, size_t input_bytes, int count, float *y, long output_stride) {
    int j = 0;
    for (; j + 2 <= count; j += 2)
        block_product(G, 2, w, scales, mins, group_bytes, group_scales, chunks, steps, packed + (size_t)j * input_bytes,
                      input_bytes, y + (long)j * output_stride, output_stride);
    if (j < count)
        block_product(G, 1, w, scales, mins, group_bytes, group_scales, chunks, steps, packed + (size_t)j * input_bytes,
                      input_bytes, y + (long)j * output_stride, output_stride);
}

PPD_VNNI_TARGET void ppd_i8_multiply_vnni(const uint8_t *weights, const float *scales, const float *mins, int columns,
                                        int block, const uint8_t *packed, int count, float *y, long output_stride,
                                        int row_start, int row_end) {
    int chunks = columns / (4 * block);
    size_t input_bytes = ppd_i8_input_bytes(columns, block);
    size_t group_bytes = (size_t)chunks * 16 * block, group_scales = (size_t)chunks * 16;
    for (int row = row_start; row < row_end;) {
        int groups = row + 8 <= row_end ? 2 : 1;
        size_t tile_index = (size_t)(row / 4) * chunks;
        const uint8_t *w = weights + tile_index * 16 * block;
        const float *s = scales + tile_index * 16, *m = mins + tile_index * 16;
        // Prefetch the next groups' weights (streamed from memory for large matrices).
        const uint8_t *next = w + groups * group_bytes;
        int ahead = row + 4 * groups < row_end ? (row + 4 * groups + 8 <= row_end ? 2 : 1) : 0;
        for (size_t offset = 0; offset < ahead * group_bytes; offset += 64) _mm_prefetch((const char *)next + offset, _MM_HINT_T0);
        // The groups' weights (at most 16 KiB) stay in L1 across the inputs.
        float *out = y + (row - row_start);
        if (groups == 2) {
            if (block == 32) groups_product(2, w, s, m, group_bytes, group_scales, chunks, 8, packed, input_bytes, count, out, output_stride);
            else groups_product(2, w, s, m, group_bytes, group_scales, chunks, 4, packed, input_bytes, count, out, output_stride);
        } else {
            if (block == 32) groups_product(1, w, s, m, group_bytes, group_scales, chunks, 8, packed, input_bytes, count, out, output_stride);
            else groups_product(1, w, s, m, group_bytes, group_scales, chunks, 4, packed, input_bytes, count, out, output_stride);
        }
        row += 4 * groups;
    }
}
