// Matrix products with int8 activations on AVX2 (see include/PPDInt8.h). A chunk's 16
// (row, sub-block) lanes are two 256-bit halves (rows 0-1 and rows 2-3); each step multiplies 4
// weight bytes by 4 activation bytes per lane with `vpmaddubsw` (16-bit pair sums) and
// `vpmaddwd` by ones (32-bit sums of the pairs). Unsigned weights up to 63 times activations of
// magnitude up to 127 never saturate a pair sum; Q8_0's bytes (0...255) are turned into their
// signed form q = u - 128 first, multiplied as |q| times sign(q) * x (pair sums up to 32512),
// and 128 * sum(x) is added back from the input's integer sums. The integer sums are therefore
// exactly the VNNI kernel's, and the float steps after them are the same sequence.
#include "Int8Layout.h"

#include <immintrin.h>

/// Up to this many inputs share each loaded weight vector.
enum { AVX2_INPUT_TILE = 4 };

/// One group of 4 weight rows times J inputs (1...4): per chunk the exact integer sums of its
/// 16 lanes, then `f = float(isum) * dA; acc = fma(f, scale, acc); offsets = fma(min, dA * sum,
/// offsets)`, and at the end the row sums of acc - offsets.
PPD_AVX2_TARGET static inline __attribute__((always_inline)) void group_product(
    const int J, const int steps, const int wide, const uint8_t *w, const float *scales, const float *mins,
    int chunks, const uint8_t *x, size_t input_bytes, float *y, long output_stride) {
    const size_t chunk = ppd_i8_chunk_bytes(4 * steps);
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    __m256 acc[AVX2_INPUT_TILE][2], offsets[AVX2_INPUT_TILE][2];
    for (int j = 0; j < J; j++)
        for (int h = 0; h < 2; h++) acc[j][h] = offsets[j][h] = _mm256_setzero_ps();
    for (int c = 0; c < chunks; c++) {
        __m256i isum[AVX2_INPUT_TILE][2];
        for (int j = 0; j < J; j++) isum[j][0] = isum[j][1] = _mm256_setzero_si256();
        const uint8_t *wc = w + (size_t)c * steps * 64;
        for (int k = 0; k < steps; k++) {
            __m256i wv[2] = {_mm256_loadu_si256((const __m256i *)(wc + k * 64)),
                             _mm256_loadu_si256((const __m256i *)(wc + k * 64 + 32))};
            __m256i magnitude[2], sign[2];
            if (wide)
                for (int h = 0; h < 2; h++) {
                    sign[h] = _mm256_xor_si256(wv[h], flip);  // q = u - 128 as a signed byte
                    magnitude[h] = _mm256_sign_epi8(sign[h], sign[h]);
                }
            for (int j = 0; j < J; j++) {
                // The activation quarter repeats per row, so the first 32 bytes serve both halves.
                __m256i xv = _mm256_loadu_si256((const __m256i *)(x + j * input_bytes + c * chunk + k * 64));
                for (int h = 0; h < 2; h++) {
                    __m256i pairs = wide ? _mm256_maddubs_epi16(magnitude[h], _mm256_sign_epi8(xv, sign[h]))
                                         : _mm256_maddubs_epi16(wv[h], xv);
                    isum[j][h] = _mm256_add_epi32(isum[j][h], _mm256_madd_epi16(pairs, ones));
                }
            }
        }
        for (int h = 0; h < 2; h++) {
            __m256 scale = _mm256_loadu_ps(scales + c * 16 + 8 * h), min = _mm256_loadu_ps(mins + c * 16 + 8 * h);
            for (int j = 0; j < J; j++) {
                const float *xs = (const float *)(x + j * input_bytes + c * chunk + steps * 64);
                __m256i sum = isum[j][h];
                if (wide) sum = _mm256_add_epi32(sum, _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(xs + 32 + 8 * h)), 7));
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(xs + 8 * h));
                acc[j][h] = _mm256_fmadd_ps(f, scale, acc[j][h]);
                offsets[j][h] = _mm256_fmadd_ps(min, _mm256_loadu_ps(xs + 16 + 8 * h), offsets[j][h]);
            }
        }
    }
    for (int j = 0; j < J; j++) {
        float lanes[16];
        for (int h = 0; h < 2; h++) _mm256_storeu_ps(lanes + 8 * h, _mm256_sub_ps(acc[j][h], offsets[j][h]));
        ppd_i8_row_sums(lanes, y + j * output_stride);
    }
}

/// One group of 4 rows times all inputs, `AVX2_INPUT_TILE` at a time.
PPD_AVX2_TARGET static inline __attribute__((always_inline)) void group_times_inputs(
    const int steps, const int wide, const uint8_t *w, const float *scales, const float *mins, int chunks,
    const uint8_t *packed, size_t input_bytes, int count, float *y, long output_stride) {
    int j = 0;
    for (; j + 4 <= count; j += 4)
        group_product(4, steps, wide, w, scales, mins, chunks, packed + (size_t)j * input_bytes, input_bytes, y + (long)j * output_stride, output_stride);
    const uint8_t *rest = packed + (size_t)j * input_bytes;
    float *out = y + (long)j * output_stride;
    switch (count - j) {
    case 3: group_product(3, steps, wide, w, scales, mins, chunks, rest, input_bytes, out, output_stride); break;
    case 2: group_product(2, steps, wide, w, scales, mins, chunks, rest, input_bytes, out, output_stride); break;
    case 1: group_product(1, steps, wide, w, scales, mins, chunks, rest, input_bytes, out, output_stride); break;
    default: break;
    }
}

PPD_AVX2_TARGET void ppd_i8_multiply_avx2(uint32_t type, const uint8_t *weights, const float *scales, const float *mins,
                                          int columns, int block, const uint8_t *packed, int count, float *y,
                                          long output_stride, int row_start, int row_end) {
    const int chunks = columns / (4 * block), wide = ppd_i8_wide_weights(type);
    const size_t input_bytes = ppd_i8_input_bytes(columns, block);
    const size_t group_bytes = (size_t)chunks * 16 * block;
    for (int row = row_start; row < row_end; row += 4) {
        const size_t tile_index = (size_t)(row / 4) * chunks;
        const uint8_t *w = weights + tile_index * 16 * block;
        const float *s = scales + tile_index * 16, *m = mins + tile_index * 16;
        // Prefetch the next group's weights (streamed from memory for large matrices); this
        // group's (at most 8 KiB) stay in L1 across the inputs.
        if (row + 4 < row_end)
            for (size_t offset = 0; offset < group_bytes; offset += 64) _mm_prefetch((const char *)(w + group_bytes + offset), _MM_HINT_T0);
        float *out = y + (row - row_start);
        if (block == 32) {
            if (wide) group_times_inputs(8, 1, w, s, m, chunks, packed, input_bytes, count, out, output_stride);
            else group_times_inputs(8, 0, w, s, m, chunks, packed, input_bytes, count, out, output_stride);
        } else {
            group_times_inputs(4, 0, w, s, m, chunks, packed, input_bytes, count, out, output_stride);
        }
    }
}
