// Synthetic operands for the int8 product microbenchmarks: a repacked matrix of pseudo-random
// GGML blocks (sane half scales) and quantized pseudo-random inputs.
#ifndef PPD_INT8_SYNTHETIC_H
#define PPD_INT8_SYNTHETIC_H

#include "PPDInt8.h"

#include <stdlib.h>

/// GGML bytes per row, bytes per block and the offset of each block's half scale `d` for the
/// GGML type numbers the microbenchmarks take (8 = Q8_0, 6 = Q5_0, 12 = Q4_K, else Q6_K).
static size_t synthetic_row_bytes(int type, int columns, size_t *block_bytes, size_t *d_offset) {
    switch (type) {
    case 8: *block_bytes = 34; *d_offset = 0; return (size_t)columns / 32 * 34;
    case 6: *block_bytes = 22; *d_offset = 0; return (size_t)columns / 32 * 22;
    case 12: *block_bytes = 144; *d_offset = 0; return (size_t)columns / 256 * 144;
    default: *block_bytes = 210; *d_offset = 208; return (size_t)columns / 256 * 210; // Q6_K
    }
}

/// Fills `m` with a repacked rows x columns matrix of GGML type `type`; 0, or -1 for a type or
/// shape the kernels do not take.
static int synthetic_matrix(int type, int rows, int columns, ppd_i8_matrix *m) {
    const int block = ppd_i8_block((uint32_t)type);
    if (!block) return -1;
    size_t block_bytes, d_offset, bytes = synthetic_row_bytes(type, columns, &block_bytes, &d_offset);
    uint8_t *source = malloc(bytes * rows);
    for (size_t i = 0; i < bytes * rows; i++) source[i] = (uint8_t)(i * 2654435761u >> 13);
    for (size_t i = d_offset; i < bytes * rows; i += block_bytes) { source[i] = 0x00; source[i + 1] = 0x2c; }
    const size_t subblocks = (size_t)rows * columns / block;
    *m = (ppd_i8_matrix){.type = (uint32_t)type, .columns = columns, .block = block};
    m->weights = aligned_alloc(64, (ppd_i8_weight_bytes(m->type, rows, columns) + 63) / 64 * 64);
    m->scales = aligned_alloc(64, (subblocks * 4 + 63) / 64 * 64);
    m->mins = ppd_i8_min_factor(m->type) == 0 ? aligned_alloc(64, (subblocks * 4 + 63) / 64 * 64) : NULL;
    const int status = ppd_i8_pack(m, source, bytes, rows);
    free(source);
    return status;
}

/// `count` pseudo-random input rows of `columns` values in [-1, 1), quantized for the kernels.
static uint8_t *synthetic_inputs(int count, int columns, int block) {
    float *x = malloc(sizeof(float) * count * columns);
    for (int i = 0; i < count * columns; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    uint8_t *packed = aligned_alloc(64, count * ppd_i8_input_bytes(columns, block));
    ppd_i8_quantize(PPD_I8_AVX512_VNNI, x, count, columns, block, packed);
    free(x);
    return packed;
}

#endif
