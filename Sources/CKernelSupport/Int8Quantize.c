// Quantized, laid-out activations for the int8 kernels (see include/PPDInt8.h): per 32
// elements scale = max|x| / 127 and q = x * (127 / max|x|) rounded to nearest even (the default
// rounding mode). The AVX-512 and AVX2 versions write the same bytes.
#include "Int8Layout.h"

#include <immintrin.h>
#include <string.h>

int ppd_i8_supported(ppd_i8_kernel kernel) {
    __builtin_cpu_init();
    switch (kernel) {
    case PPD_I8_AVX512_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    case PPD_I8_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    default:
        return 0;
    }
}

size_t ppd_i8_input_bytes(int columns, int block) { return (size_t)(columns / (4 * block)) * ppd_i8_chunk_bytes(block); }

/// Writes one chunk (4 sub-blocks of `block` elements) from its quantized values `q8` and the
/// scales `d` of its groups of 32.
static void write_chunk(const int8_t *q8, const float *d, int block, uint8_t *chunk) {
    const int steps = block / 4;
    // Vector k: dword b of every 16-byte quarter holds elements 4k...4k+3 of sub-block b.
    for (int k = 0; k < steps; k++) {
        uint8_t quarter[16];
        for (int b = 0; b < 4; b++) memcpy(quarter + 4 * b, q8 + b * block + 4 * k, 4);
        for (int r = 0; r < 4; r++) memcpy(chunk + k * 64 + 16 * r, quarter, 16);
    }
    float *scale = (float *)(chunk + steps * 64), *scaled_sum = scale + 16;
    int32_t *integer_sum = (int32_t *)(scale + 32);
    for (int b = 0; b < 4; b++) {
        int32_t sum = 0;
        for (int i = 0; i < block; i++) sum += q8[b * block + i];
        float db = d[(b * block) / 32];
        for (int r = 0; r < 4; r++) {
            scale[r * 4 + b] = db;
            scaled_sum[r * 4 + b] = db * (float)sum;
            integer_sum[r * 4 + b] = sum;
        }
    }
}

/// Quantizes 32 floats with AVX-512: q8[0..<32] and the scale.
PPD_VNNI_TARGET static float quantize32_avx512(const float *src, int8_t *q8) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 lo = _mm512_loadu_ps(src), hi = _mm512_loadu_ps(src + 16);
    float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, lo), _mm512_andnot_ps(sign, hi)));
    float inverse = amax > 0 ? 127.0f / amax : 0.0f;
    __m512 scale = _mm512_set1_ps(inverse);
    __m512i qlo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, scale)), qhi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, scale));
    _mm_storeu_si128((__m128i *)q8, _mm512_cvtepi32_epi8(qlo));
    _mm_storeu_si128((__m128i *)(q8 + 16), _mm512_cvtepi32_epi8(qhi));
    return amax / 127.0f;
}

/// Quantizes 32 floats with AVX2: the same values as `quantize32_avx512`.
PPD_AVX2_TARGET static float quantize32_avx2(const float *src, int8_t *q8) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(src + 8 * i);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float amax = _mm_cvtss_f32(m4);
    float inverse = amax > 0 ? 127.0f / amax : 0.0f;
    __m256 scale = _mm256_set1_ps(inverse);
    __m256i q[4];
    for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], scale));
    // Values are within -127...127, so the saturating packs keep them; undo their lane order.
    __m256i words = _mm256_packs_epi32(q[0], q[1]), words2 = _mm256_packs_epi32(q[2], q[3]);
    __m256i bytes = _mm256_packs_epi16(words, words2);
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q8, bytes);
    return amax / 127.0f;
}

void ppd_i8_quantize(ppd_i8_kernel kernel, const float *x, int count, int columns, int block, uint8_t *packed) {
    const int chunks = columns / (4 * block);
    const size_t input_bytes = ppd_i8_input_bytes(columns, block), chunk_bytes = ppd_i8_chunk_bytes(block);
    for (int j = 0; j < count; j++) {
        const float *row = x + (size_t)j * columns;
        uint8_t *out = packed + (size_t)j * input_bytes;
        for (int c = 0; c < chunks; c++) {
            int8_t q8[4 * 32];
            float d[4];
            for (int g = 0; g < block / 8; g++) {
                const float *src = row + c * 4 * block + g * 32;
                d[g] = kernel == PPD_I8_AVX512_VNNI ? quantize32_avx512(src, q8 + 32 * g) : quantize32_avx2(src, q8 + 32 * g);
            }
            write_chunk(q8, d, block, out + c * chunk_bytes);
        }
    }
}
