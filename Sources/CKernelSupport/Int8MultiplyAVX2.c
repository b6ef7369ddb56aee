// Matrix products with int8 activations on AVX2 (see include/PPDInt8.h). A chunk's 16
// (row, sub-block) lanes are two 256-bit halves (rows 0-1 and rows 2-3); each step multiplies 4
// weight bytes by 4 activation bytes per lane with `vpmaddubsw` (16-bit pair sums) and
// `vpmaddwd` by ones (32-bit sums of the pairs). Unsigned weights up to 63 times activations of
// magnitude up to 127 never saturate a pair sum; Q8_0's bytes (0...255) are turned into their
// signed form q = u - 128 first, multiplied as |q| times sign(q) * x (pair sums up to 32512),
// which is already the integer sum less the derived offset 128 * sum(x). The integer sums are
// therefore exactly the VNNI kernel's, and the float steps after them are the same sequence.
#include "Int8Layout.h"

#include <immintrin.h>
#include <string.h>

/// Up to this many inputs share each loaded weight vector.
enum { AVX2_INPUT_TILE = 4 };
/// How many groups of 4 rows ahead the first tile prefetches weights into L2. On the 2-core Zen 4
/// VM, 16 groups into L2 against the next group into L1 measured a Q8_0 262144 x 640 product of
/// one input 6.6 -> 5.4 ms and of two 7.2 -> 5.7 ms (`Scripts/microbench/int8-product.c`).
enum { AVX2_PREFETCH_GROUPS = 16 };
/// Rows of one panel: its weights (40-160 KiB) stay in L2 while every tile of inputs passes
/// over them, so each input tile's activations stay in L1.
enum { AVX2_PANEL_ROWS = 64 };

/// 32 bytes, byte i 2^bit where bit i of `word` is set and 0 elsewhere.
PPD_AVX2_TARGET static inline __attribute__((always_inline)) __m256i spread_bits(uint32_t word, int bit) {
    const __m256i byte_of_bit = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                                 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit_of_byte = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)word), byte_of_bit);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit_of_byte), bit_of_byte);
    return _mm256_and_si256(set, _mm256_set1_epi8((char)(1 << bit)));
}

/// Half h (bytes 32h ... 32h + 31) of step k of a tile of `bits`-bit weights widened to bytes
/// (see "Packed tiles" in PPDInt8.h).
PPD_AVX2_TARGET static inline __attribute__((always_inline)) __m256i load_step_half(const int bits, const int steps,
                                                                                   const uint8_t *tile, int k, int h) {
    if (bits == 8) return _mm256_loadu_si256((const __m256i *)(tile + k * 64 + 32 * h));
    const __m256i nibbles = _mm256_loadu_si256((const __m256i *)(tile + (k / 2) * 64 + 32 * h));
    __m256i u = _mm256_and_si256(k & 1 ? _mm256_srli_epi16(nibbles, 4) : nibbles, _mm256_set1_epi8(15));
    for (int bit = 4; bit < bits; bit++) {
        uint32_t word;
        memcpy(&word, tile + 32 * steps + ((bit - 4) * steps + k) * 8 + 4 * h, 4);
        u = _mm256_or_si256(u, spread_bits(word, bit));
    }
    return u;
}

/// 8 scales (halves or floats) from `scales` + `index` on, as floats.
PPD_AVX2_TARGET static inline __attribute__((always_inline)) __m256 load_scales8(const int half, const void *scales,
                                                                                 size_t index) {
    if (half) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)scales + index)));
    return _mm256_loadu_ps((const float *)scales + index);
}

/// One group of 4 weight rows times J inputs (1...4): per chunk the exact integer sums of its
/// 16 lanes less the derived offset (sum(x) << shift; `shift` -1: the type has an offset table),
/// then `f = float(isum) * dA; acc = fma(f, scale, acc)` and, with a table, `offsets = fma(min,
/// dA * sum, offsets)`; at the end the row sums of acc - offsets.
///
/// `run` steps of `vpmaddubsw` pair sums are added in 16 bits before one `vpmaddwd` widens
/// them: a pair sum is at most 2 * 127 * (largest weight byte), so runs of 8 (Q4: bytes up to
/// 15), 4 (Q5: 31) or 2 (Q6_K: 63) stay below 32768. Q8_0 (`wide`) widens every step.
PPD_AVX2_TARGET static inline __attribute__((always_inline)) void group_product(
    const int J, const int bits, const int half, const int shift, const int steps, const int run, const int wide,
    const uint8_t *w, const void *scales, const float *mins, int chunks, const uint8_t *x, size_t input_bytes, float *y,
    long output_stride, const int32_t *map, int row, int row_start) {
    const size_t chunk = ppd_i8_chunk_bytes(4 * steps);
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    __m256 acc[AVX2_INPUT_TILE][2], offsets[AVX2_INPUT_TILE][2];
    for (int j = 0; j < J; j++)
        for (int h = 0; h < 2; h++) acc[j][h] = offsets[j][h] = _mm256_setzero_ps();
    for (int c = 0; c < chunks; c++) {
        __m256i isum[AVX2_INPUT_TILE][2];
        for (int j = 0; j < J; j++) isum[j][0] = isum[j][1] = _mm256_setzero_si256();
        const uint8_t *wc = w + (size_t)c * ppd_i8_tile_bytes(bits, 4 * steps);
        for (int k0 = 0; k0 < steps; k0 += run) {
            __m256i pairs[AVX2_INPUT_TILE][2];
            for (int k = k0; k < k0 + run; k++) {
                __m256i wv[2] = {load_step_half(bits, steps, wc, k, 0), load_step_half(bits, steps, wc, k, 1)};
                __m256i magnitude[2], sign[2];
                if (wide)
                    for (int h = 0; h < 2; h++) {
                        sign[h] = _mm256_xor_si256(wv[h], flip);  // q = u - 128 as a signed byte
                        magnitude[h] = _mm256_sign_epi8(sign[h], sign[h]);
                    }
                for (int j = 0; j < J; j++) {
                    // The activation quarter repeats per row: the first 32 bytes serve both halves.
                    __m256i xv = _mm256_loadu_si256((const __m256i *)(x + j * input_bytes + c * chunk + k * 64));
                    for (int h = 0; h < 2; h++) {
                        __m256i p = wide ? _mm256_maddubs_epi16(magnitude[h], _mm256_sign_epi8(xv, sign[h]))
                                         : _mm256_maddubs_epi16(wv[h], xv);
                        pairs[j][h] = k == k0 ? p : _mm256_add_epi16(pairs[j][h], p);
                    }
                }
            }
            for (int j = 0; j < J; j++)
                for (int h = 0; h < 2; h++) isum[j][h] = _mm256_add_epi32(isum[j][h], _mm256_madd_epi16(pairs[j][h], ones));
        }
        for (int h = 0; h < 2; h++) {
            __m256 scale = load_scales8(half, scales, c * 16 + 8 * h);
            for (int j = 0; j < J; j++) {
                const float *xs = (const float *)(x + j * input_bytes + c * chunk + steps * 64);
                __m256i sum = isum[j][h];
                if (shift >= 0 && !wide)
                    sum = _mm256_sub_epi32(sum, _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(xs + 32 + 8 * h)), shift));
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(xs + 8 * h));
                acc[j][h] = _mm256_fmadd_ps(f, scale, acc[j][h]);
                if (shift < 0) offsets[j][h] = _mm256_fmadd_ps(_mm256_loadu_ps(mins + c * 16 + 8 * h), _mm256_loadu_ps(xs + 16 + 8 * h), offsets[j][h]);
            }
        }
    }
    for (int j = 0; j < J; j++) {
        float lanes[16];
        for (int h = 0; h < 2; h++) _mm256_storeu_ps(lanes + 8 * h, _mm256_sub_ps(acc[j][h], offsets[j][h]));
        float sums[4];
        ppd_i8_row_sums(lanes, sums);
        ppd_i8_store_group(sums, y + j * output_stride, map, row, row_start);
    }
}

/// Rows row_start..<row_end times all inputs: panels of `AVX2_PANEL_ROWS` rows, and within a
/// panel each tile of up to 4 inputs passes over every group of 4 rows. The first tile
/// prefetches weights `AVX2_PREFETCH_GROUPS` groups ahead (streamed from memory for large matrices).
PPD_AVX2_TARGET static inline __attribute__((always_inline)) void panels(
    const int bits, const int half, const int shift, const int steps, const int run, const int wide, const ppd_i8_matrix *m,
    const uint8_t *packed, int count, float *y, long output_stride, int row_start, int row_end, const int32_t *map) {
    const int chunks = m->columns / (16 * steps);
    const size_t input_bytes = ppd_i8_input_bytes(m->columns, 4 * steps), tile_bytes = ppd_i8_tile_bytes(bits, 4 * steps);
    const size_t group_bytes = (size_t)chunks * tile_bytes, scale_size = half ? 2 : 4;
    for (int panel = row_start; panel < row_end; panel += AVX2_PANEL_ROWS) {
        const int panel_end = panel + AVX2_PANEL_ROWS < row_end ? panel + AVX2_PANEL_ROWS : row_end;
        for (int j = 0; j < count; j += AVX2_INPUT_TILE) {
            const int inputs = count - j < AVX2_INPUT_TILE ? count - j : AVX2_INPUT_TILE;
            const uint8_t *x = packed + (size_t)j * input_bytes;
            for (int row = panel; row < panel_end; row += 4) {
                const size_t tile_index = (size_t)(row / 4) * chunks;
                const uint8_t *w = m->weights + tile_index * tile_bytes;
                const void *s = (const uint8_t *)m->scales + tile_index * 16 * scale_size;
                const float *mn = shift < 0 ? m->mins + tile_index * 16 : NULL;
                if (j == 0 && row + 4 * AVX2_PREFETCH_GROUPS < row_end)
                    for (size_t offset = 0; offset < group_bytes; offset += 64)
                        _mm_prefetch((const char *)(w + AVX2_PREFETCH_GROUPS * group_bytes + offset), _MM_HINT_T1);
                float *out = y + (long)j * output_stride;
#define PPD_GROUP(J) group_product(J, bits, half, shift, steps, run, wide, w, s, mn, chunks, x, input_bytes, out, output_stride, map, row, row_start)
                switch (inputs) {
                case 4: PPD_GROUP(4); break;
                case 3: PPD_GROUP(3); break;
                case 2: PPD_GROUP(2); break;
                default: PPD_GROUP(1); break;
                }
#undef PPD_GROUP
            }
        }
    }
}

/// The formats: bits, half scales, log2 of the offset factor (-1: offset table), steps per
/// sub-block, the run of 16-bit pair sums before widening (see `group_product`), and whether
/// bytes go through the signed form (Q8_0).
PPD_AVX2_TARGET void ppd_i8_multiply_avx2(const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y,
                                          long output_stride, int row_start, int row_end, const int32_t *row_map) {
    switch (m->type) {
    case TYPE_Q8_0: panels(8, 1, 7, 8, 1, 1, m, packed, count, y, output_stride, row_start, row_end, row_map); break;
    case TYPE_Q5_0: panels(5, 1, 4, 8, 4, 0, m, packed, count, y, output_stride, row_start, row_end, row_map); break;
    case TYPE_Q6_K: panels(6, 0, 5, 4, 2, 0, m, packed, count, y, output_stride, row_start, row_end, row_map); break;
    case TYPE_Q4_0: panels(4, 1, 3, 8, 8, 0, m, packed, count, y, output_stride, row_start, row_end, row_map); break;
    default: panels(4, 0, -1, 8, 8, 0, m, packed, count, y, output_stride, row_start, row_end, row_map); break; // Q4_K
    }
}
