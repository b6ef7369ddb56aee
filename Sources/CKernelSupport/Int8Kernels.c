// Matrix products with int8 activations on AVX-512 VNNI: see include/PPDInt8.h for the layout
// and the arithmetic.
#include "PPDInt8.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define PPD_I8_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))

enum { TYPE_Q4_0 = 2, TYPE_Q5_0 = 6, TYPE_Q8_0 = 8, TYPE_Q4_K = 12, TYPE_Q6_K = 14 };

int ppd_i8_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni");
}

int ppd_i8_block(uint32_t type) {
    switch (type) {
    case TYPE_Q4_0: case TYPE_Q5_0: case TYPE_Q8_0: case TYPE_Q4_K: return 32;
    case TYPE_Q6_K: return 16;
    default: return 0;
    }
}

size_t ppd_i8_weight_bytes(int rows, int columns) { return (size_t)rows * (size_t)columns; }

static float half_to_float(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
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

/// One row in plain form: u[columns] bytes, scale and min per sub-block.
static void unpack_row(uint32_t type, const uint8_t *src, int columns, uint8_t *u, float *scale, float *min) {
    switch (type) {
    case TYPE_Q8_0:
        for (int b = 0; b < columns / 32; b++, src += 34) {
            float d = half_to_float(src);
            for (int i = 0; i < 32; i++) u[b * 32 + i] = (uint8_t)((int8_t)src[2 + i] + 128);
            scale[b] = d;
            min[b] = 128.0f * d;
        }
        break;
    case TYPE_Q4_0:
        for (int b = 0; b < columns / 32; b++, src += 18) {
            float d = half_to_float(src);
            for (int i = 0; i < 16; i++) {
                u[b * 32 + i] = src[2 + i] & 0x0f;
                u[b * 32 + i + 16] = src[2 + i] >> 4;
            }
            scale[b] = d;
            min[b] = 8.0f * d;
        }
        break;
    case TYPE_Q5_0:
        for (int b = 0; b < columns / 32; b++, src += 22) {
            float d = half_to_float(src);
            uint32_t high = (uint32_t)src[2] | ((uint32_t)src[3] << 8) | ((uint32_t)src[4] << 16) | ((uint32_t)src[5] << 24);
            for (int i = 0; i < 16; i++) {
                u[b * 32 + i] = (uint8_t)((src[6 + i] & 0x0f) | (((high >> i) << 4) & 0x10));
                u[b * 32 + i + 16] = (uint8_t)((src[6 + i] >> 4) | ((high >> (i + 12)) & 0x10));
            }
            scale[b] = d;
            min[b] = 16.0f * d;
        }
        break;
    case TYPE_Q4_K:
        for (int s = 0; s < columns / 256; s++, src += 144) {
            float d = half_to_float(src), dmin = half_to_float(src + 2);
            const uint8_t *sc = src + 4, *q = src + 16;
            for (int j = 0; j < 8; j++) {
                int scale6, min6;
                if (j < 4) {
                    scale6 = sc[j] & 63;
                    min6 = sc[j + 4] & 63;
                } else {
                    scale6 = (sc[j + 4] & 0x0f) | ((sc[j - 4] >> 6) << 4);
                    min6 = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
                }
                scale[s * 8 + j] = d * (float)scale6;
                min[s * 8 + j] = dmin * (float)min6;
            }
            for (int pair = 0; pair < 4; pair++) {
                for (int l = 0; l < 32; l++) {
                    u[s * 256 + pair * 64 + l] = q[pair * 32 + l] & 0x0f;
                    u[s * 256 + pair * 64 + 32 + l] = q[pair * 32 + l] >> 4;
                }
            }
        }
        break;
    case TYPE_Q6_K:
        for (int s = 0; s < columns / 256; s++, src += 210) {
            const uint8_t *ql = src, *qh = src + 128;
            const int8_t *sc = (const int8_t *)(src + 192);
            float d = half_to_float(src + 208);
            for (int j = 0; j < 16; j++) {
                scale[s * 16 + j] = d * (float)sc[j];
                min[s * 16 + j] = 32.0f * scale[s * 16 + j];
            }
            uint8_t *y = u + s * 256;
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, y += 128) {
                for (int l = 0; l < 32; l++) {
                    y[l] = (uint8_t)((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4));
                    y[l + 32] = (uint8_t)((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4));
                    y[l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                    y[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
                }
            }
        }
        break;
    }
}

int ppd_i8_pack(uint32_t type, const void *data, size_t row_bytes, int rows, int columns,
                uint8_t *weights, float *scales, float *mins) {
    int block = ppd_i8_block(type);
    if (block == 0 || rows % 4 != 0 || columns % (4 * block) != 0 || columns % (type == TYPE_Q4_K || type == TYPE_Q6_K ? 256 : 32) != 0)
        return -1;
    int blocks = columns / block, chunks = blocks / 4, steps = block / 4;
    uint8_t u[4][columns];
    float scale[4][blocks], min[4][blocks];
    for (int group = 0; group < rows / 4; group++) {
        for (int r = 0; r < 4; r++)
            unpack_row(type, (const uint8_t *)data + (size_t)(group * 4 + r) * row_bytes, columns, u[r], scale[r], min[r]);
        for (int c = 0; c < chunks; c++) {
            size_t tile = (size_t)group * chunks + c;
            uint8_t *w = weights + tile * 16 * block;
            for (int k = 0; k < steps; k++)
                for (int r = 0; r < 4; r++)
                    for (int b = 0; b < 4; b++)
                        memcpy(w + k * 64 + (r * 4 + b) * 4, &u[r][(c * 4 + b) * block + 4 * k], 4);
            for (int r = 0; r < 4; r++)
                for (int b = 0; b < 4; b++) {
                    scales[tile * 16 + r * 4 + b] = scale[r][c * 4 + b];
                    mins[tile * 16 + r * 4 + b] = min[r][c * 4 + b];
                }
        }
    }
    return 0;
}

float ppd_i8_weight(const uint8_t *weights, const float *scales, const float *mins, int columns,
                    int block, int row, int column) {
    int chunks = columns / (4 * block), group = row / 4, r = row % 4;
    int b = (column / block) % 4, c = column / (4 * block), within = column % block;
    size_t tile = (size_t)group * chunks + c;
    int k = within / 4, t = within % 4;
    uint8_t u = weights[tile * 16 * block + k * 64 + (r * 4 + b) * 4 + t];
    return scales[tile * 16 + r * 4 + b] * (float)u - mins[tile * 16 + r * 4 + b];
}

/// Bytes of one chunk of an input row: block/4 vectors of 64 quantized bytes, then 16 scales
/// and 16 scaled sums (lane 4r+b: sub-block b).
static size_t chunk_bytes(int block) { return (size_t)(block / 4) * 64 + 128; }

size_t ppd_i8_input_bytes(int columns, int block) { return (size_t)(columns / (4 * block)) * chunk_bytes(block); }

PPD_I8_TARGET void ppd_i8_quantize(const float *x, int count, int columns, int block, uint8_t *packed) {
    int chunks = columns / (4 * block), steps = block / 4;
    size_t input_bytes = ppd_i8_input_bytes(columns, block);
    const __m512 sign = _mm512_set1_ps(-0.0f);
    // dword k of sub-block b sits at index b * steps + k of the chunk's quantized dwords.
    for (int j = 0; j < count; j++) {
        const float *row = x + (size_t)j * columns;
        uint8_t *out = packed + (size_t)j * input_bytes;
        for (int c = 0; c < chunks; c++) {
            // Quantize the chunk's 4 * block elements, 32 at a time: scale = max|x| / 127,
            // q = x * (127 / max|x|) rounded to nearest even (the default rounding mode).
            int32_t q32[4 * 32] __attribute__((aligned(64)));
            int8_t q8[4 * 32] __attribute__((aligned(64)));
            float d[4];
            for (int g = 0; g < block / 8; g++) {
                const float *src = row + c * 4 * block + g * 32;
                __m512 lo = _mm512_loadu_ps(src), hi = _mm512_loadu_ps(src + 16);
                float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, lo), _mm512_andnot_ps(sign, hi)));
                float inverse = amax > 0 ? 127.0f / amax : 0.0f;
                d[g] = amax / 127.0f;
                __m512 scale = _mm512_set1_ps(inverse);
                __m512i qlo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, scale)), qhi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, scale));
                _mm512_store_si512(q32 + g * 32, qlo);
                _mm512_store_si512(q32 + g * 32 + 16, qhi);
                _mm_store_si128((__m128i *)(q8 + g * 32), _mm512_cvtepi32_epi8(qlo));
                _mm_store_si128((__m128i *)(q8 + g * 32 + 16), _mm512_cvtepi32_epi8(qhi));
            }
            uint8_t *chunk = out + c * chunk_bytes(block);
            float *scale = (float *)(chunk + steps * 64), *scaled_sum = scale + 16;
            const uint32_t *dwords = (const uint32_t *)q8;
            for (int k = 0; k < steps; k++) {
                __m128i pattern = _mm_setr_epi32((int)dwords[0 * steps + k], (int)dwords[1 * steps + k],
                                                 (int)dwords[2 * steps + k], (int)dwords[3 * steps + k]);
                _mm512_storeu_si512(chunk + k * 64, _mm512_broadcast_i32x4(pattern));
            }
            for (int b = 0; b < 4; b++) {
                int sum = 0;
                for (int i = 0; i < block; i++) sum += q32[b * block + i];
                float db = d[(b * block) / 32];
                for (int r = 0; r < 4; r++) {
                    scale[r * 4 + b] = db;
                    scaled_sum[r * 4 + b] = db * (float)sum;
                }
            }
        }
    }
}

/// Lane 4r of the result holds (a[4r] + a[4r+1]) + (a[4r+2] + a[4r+3]): a fixed order.
PPD_I8_TARGET static inline void store_row_sums(__m512 a, float *y) {
    __m512 pairs = _mm512_add_ps(a, _mm512_permute_ps(a, _MM_SHUFFLE(2, 3, 0, 1)));
    __m512 quads = _mm512_add_ps(pairs, _mm512_permute_ps(pairs, _MM_SHUFFLE(1, 0, 3, 2)));
    float lanes[16];
    _mm512_storeu_ps(lanes, quads);
    y[0] = lanes[0];
    y[1] = lanes[4];
    y[2] = lanes[8];
    y[3] = lanes[12];
}

/// G groups of four weight rows (consecutive in memory) times J input rows (G, J in 1...2), as
/// G x J independent chains (each weight and activation vector loaded once per use by several
/// chains). Every (group, input) pair runs the same operations whatever G and J: the two halves
/// of each sub-block's integer dot product (even and odd steps, as independent chains), their
/// sum, then `f = float(isum) * dA; acc = fma(f, scale, acc); offsets = fma(min, dA * sum,
/// offsets)`; result lanes = acc - offsets.
PPD_I8_TARGET static inline __attribute__((always_inline)) void block_product(
    const int G, const int J, const uint8_t *w, const float *scales, const float *mins, size_t group_bytes,
    size_t group_scales, int chunks, const int steps, const uint8_t *x, size_t input_bytes, float *y, long output_stride) {
    __m512 acc[2][2], offsets[2][2];
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) acc[g][j] = offsets[g][j] = _mm512_setzero_ps();
    const size_t chunk = (size_t)steps * 64 + 128;
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
PPD_I8_TARGET static inline __attribute__((always_inline)) void groups_product(
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

PPD_I8_TARGET void ppd_i8_multiply(const uint8_t *weights, const float *scales, const float *mins, int columns,
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
