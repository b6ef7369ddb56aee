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

int ppd_i8_bits(uint32_t type) {
    switch (type) {
    case TYPE_Q4_0: case TYPE_Q4_K: return 4;
    case TYPE_Q5_0: return 5;
    case TYPE_Q6_K: return 6;
    case TYPE_Q8_0: return 8;
    default: return 0;
    }
}

int ppd_i8_half_scales(uint32_t type) { return type == TYPE_Q8_0 || type == TYPE_Q4_0 || type == TYPE_Q5_0; }

size_t ppd_i8_weight_bytes(uint32_t type, int rows, int columns) {
    return (size_t)rows * (size_t)columns * (size_t)ppd_i8_bits(type) / 8;
}

static float half_to_float(const uint8_t *p) { return ppd_i8_half_to_float((uint16_t)(p[0] | (p[1] << 8))); }

/// One row in plain form: u[columns] bytes, scale and min per sub-block; for the types with half
/// scales also the scale's half bits (`half`).
static void unpack_row(uint32_t type, const uint8_t *src, int columns, uint8_t *u, float *scale, float *min,
                       uint16_t *half) {
    switch (type) {
    case TYPE_Q8_0:
        for (int b = 0; b < columns / 32; b++, src += 34) {
            float d = half_to_float(src);
            half[b] = (uint16_t)(src[0] | (src[1] << 8));
            for (int i = 0; i < 32; i++) u[b * 32 + i] = (uint8_t)((int8_t)src[2 + i] + 128);
            scale[b] = d;
            min[b] = 128.0f * d;
        }
        break;
    case TYPE_Q4_0:
        for (int b = 0; b < columns / 32; b++, src += 18) {
            float d = half_to_float(src);
            half[b] = (uint16_t)(src[0] | (src[1] << 8));
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
            half[b] = (uint16_t)(src[0] | (src[1] << 8));
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

/// Writes a tile's steps (`steps` x 64 bytes, each below 2^bits) in the packed form of `bits`
/// (see "Packed tiles" in PPDInt8.h; `ppd_i8_tile_get` reads it back).
static void encode_tile(int bits, int steps, const uint8_t *bytes, uint8_t *tile) {
    if (bits == 8) {
        memcpy(tile, bytes, (size_t)steps * 64);
        return;
    }
    for (int p = 0; p < steps / 2; p++)
        for (int i = 0; i < 64; i++)
            tile[p * 64 + i] = (uint8_t)((bytes[2 * p * 64 + i] & 15) | ((bytes[(2 * p + 1) * 64 + i] & 15) << 4));
    uint8_t *planes = tile + 32 * steps;
    for (int bit = 4; bit < bits; bit++)
        for (int k = 0; k < steps; k++) {
            uint64_t word = 0;
            for (int i = 0; i < 64; i++) word |= (uint64_t)((bytes[k * 64 + i] >> bit) & 1) << i;
            memcpy(planes + ((bit - 4) * steps + k) * 8, &word, 8);
        }
}

int ppd_i8_pack(const ppd_i8_matrix *m, const void *data, size_t row_bytes, int rows) {
    const uint32_t type = m->type;
    const int block = ppd_i8_block(type), columns = m->columns, bits = ppd_i8_bits(type);
    if (block == 0 || block != m->block || (!m->mins && ppd_i8_min_factor(type) == 0.0f) || rows % 4 != 0
        || columns % (4 * block) != 0 || columns % (type == TYPE_Q4_K || type == TYPE_Q6_K ? 256 : 32) != 0)
        return -1;
    const int blocks = columns / block, chunks = blocks / 4, steps = block / 4, half_scales = ppd_i8_half_scales(type);
    const size_t tile_bytes = ppd_i8_tile_bytes(bits, block);
    uint8_t *weights = (uint8_t *)m->weights;
    float *scales = (float *)m->scales, *mins = (float *)m->mins;
    uint16_t *halves = (uint16_t *)m->scales;
    uint8_t u[4][columns];
    float scale[4][blocks], min[4][blocks];
    uint16_t half[4][blocks];
    for (int group = 0; group < rows / 4; group++) {
        for (int r = 0; r < 4; r++)
            unpack_row(type, (const uint8_t *)data + (size_t)(group * 4 + r) * row_bytes, columns, u[r], scale[r], min[r], half[r]);
        for (int c = 0; c < chunks; c++) {
            size_t tile = (size_t)group * chunks + c;
            uint8_t bytes[16 * 32];  // the tile's steps as bytes (block <= 32)
            for (int k = 0; k < steps; k++)
                for (int r = 0; r < 4; r++)
                    for (int b = 0; b < 4; b++)
                        memcpy(bytes + k * 64 + (r * 4 + b) * 4, &u[r][(c * 4 + b) * block + 4 * k], 4);
            encode_tile(bits, steps, bytes, weights + tile * tile_bytes);
            for (int r = 0; r < 4; r++)
                for (int b = 0; b < 4; b++) {
                    const size_t index = tile * 16 + r * 4 + b;
                    if (half_scales) halves[index] = half[r][c * 4 + b];
                    else scales[index] = scale[r][c * 4 + b];
                    if (mins) mins[index] = min[r][c * 4 + b];
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

float ppd_i8_weight(const ppd_i8_matrix *m, int row, int column) {
    const int block = m->block, chunks = m->columns / (4 * block), group = row / 4, r = row % 4;
    const int b = (column / block) % 4, c = column / (4 * block), within = column % block;
    const size_t tile = (size_t)group * chunks + c, index = tile * 16 + r * 4 + b;
    const int bits = ppd_i8_bits(m->type);
    const uint8_t u = ppd_i8_tile_get(bits, block / 4, m->weights + tile * ppd_i8_tile_bytes(bits, block), within / 4,
                                      (r * 4 + b) * 4 + within % 4);
    return ppd_i8_scale(m, index) * (float)u - ppd_i8_min(m, index);
}
