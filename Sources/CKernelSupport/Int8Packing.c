// Repacking of GGML-encoded weights for the int8 kernels: see include/PPDInt8.h for the layout.
#include "Int8Layout.h"

#include <string.h>

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
    if (block == 0 || (!mins && ppd_i8_min_factor(type) == 0.0f) || rows % 4 != 0 || columns % (4 * block) != 0 || columns % (type == TYPE_Q4_K || type == TYPE_Q6_K ? 256 : 32) != 0)
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
                    if (mins) mins[tile * 16 + r * 4 + b] = min[r][c * 4 + b];
                    // Without a table the kernels derive the offset: it must be that value.
                    else if (min[r][c * 4 + b] != ppd_i8_min_factor(type) * scale[r][c * 4 + b]) return -1;
                }
        }
    }
    return 0;
}

float ppd_i8_min_factor(uint32_t type) {
    switch (type) {
    case TYPE_Q8_0: return 128.0f;
    case TYPE_Q4_0: return 8.0f;
    case TYPE_Q5_0: return 16.0f;
    case TYPE_Q6_K: return 32.0f;
    default: return 0.0f;
    }
}

float ppd_i8_weight(uint32_t type, const uint8_t *weights, const float *scales, const float *mins, int columns,
                    int block, int row, int column) {
    int chunks = columns / (4 * block), group = row / 4, r = row % 4;
    int b = (column / block) % 4, c = column / (4 * block), within = column % block;
    size_t tile = (size_t)group * chunks + c;
    int k = within / 4, t = within % 4;
    uint8_t u = weights[tile * 16 * block + k * 64 + (r * 4 + b) * 4 + t];
    float scale = scales[tile * 16 + r * 4 + b];
    float min = mins ? mins[tile * 16 + r * 4 + b] : ppd_i8_min_factor(type) * scale;
    return scale * (float)u - min;
}

