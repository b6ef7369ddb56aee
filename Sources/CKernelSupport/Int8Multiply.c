// The int8 product: the kernel dispatch, and the portable reference that states the arithmetic
// (see include/PPDInt8.h).
#include "Int8Layout.h"

#include <math.h>
#include <string.h>

// The reference must round every step as written: no contraction of a multiply and an add.
#pragma STDC FP_CONTRACT OFF

void ppd_i8_multiply(ppd_i8_kernel kernel, uint32_t type, const uint8_t *weights, const float *scales,
                     const float *mins, int columns, int block, const uint8_t *packed, int count, float *y,
                     long output_stride, int row_start, int row_end, const int32_t *row_map) {
    switch (kernel) {
    case PPD_I8_AVX512_VNNI:
        ppd_i8_multiply_vnni(weights, scales, mins, ppd_i8_min_factor(type), columns, block, packed, count, y, output_stride,
                             row_start, row_end, row_map);
        break;
    case PPD_I8_AVX2:
        ppd_i8_multiply_avx2(type, weights, scales, mins, columns, block, packed, count, y, output_stride, row_start, row_end,
                             row_map);
        break;
    default:
        ppd_i8_multiply_reference(type, weights, scales, mins, columns, block, packed, count, y, output_stride, row_start,
                                  row_end, row_map);
        break;
    }
}

void ppd_i8_multiply_reference(uint32_t type, const uint8_t *weights, const float *scales, const float *mins,
                               int columns, int block, const uint8_t *packed, int count, float *y, long output_stride,
                               int row_start, int row_end, const int32_t *row_map) {
    const float min_factor = ppd_i8_min_factor(type);
    const int chunks = columns / (4 * block), steps = block / 4;
    const size_t input_bytes = ppd_i8_input_bytes(columns, block), chunk_bytes = ppd_i8_chunk_bytes(block);
    for (int j = 0; j < count; j++) {
        const uint8_t *x = packed + (size_t)j * input_bytes;
        for (int row = row_start; row < row_end; row += 4) {
            float acc[16] = {0}, offsets[16] = {0};
            for (int c = 0; c < chunks; c++) {
                const size_t tile = (size_t)(row / 4) * chunks + c;
                const uint8_t *w = weights + tile * 16 * block, *xc = x + c * chunk_bytes;
                const float *xs = (const float *)(xc + steps * 64);
                for (int lane = 0; lane < 16; lane++) {
                    int32_t isum = 0;
                    for (int k = 0; k < steps; k++)
                        for (int t = 0; t < 4; t++)
                            isum += (int32_t)w[k * 64 + lane * 4 + t] * (int32_t)(int8_t)xc[k * 64 + lane * 4 + t];
                    float f = (float)isum * xs[lane];
                    acc[lane] = fmaf(f, scales[tile * 16 + lane], acc[lane]);
                    float min = mins ? mins[tile * 16 + lane] : min_factor * scales[tile * 16 + lane];
                    offsets[lane] = fmaf(min, xs[16 + lane], offsets[lane]);
                }
            }
            float lanes[16];
            for (int lane = 0; lane < 16; lane++) lanes[lane] = acc[lane] - offsets[lane];
            float sums[4];
            ppd_i8_row_sums(lanes, sums);
            ppd_i8_store_group(sums, y + (long)j * output_stride, row_map, row, row_start);
        }
    }
}

void ppd_i8_copy_row(const uint8_t *weights, const float *scales, const float *mins, int from, uint8_t *to_weights,
                     float *to_scales, float *to_mins, int to, int columns, int block) {
    const int chunks = columns / (4 * block), steps = block / 4;
    for (int c = 0; c < chunks; c++) {
        const size_t source = (size_t)(from / 4) * chunks + c, target = (size_t)(to / 4) * chunks + c;
        const int source_lane = 4 * (from % 4), target_lane = 4 * (to % 4);
        for (int k = 0; k < steps; k++)
            memmove(to_weights + target * 16 * block + k * 64 + target_lane * 4,
                    weights + source * 16 * block + k * 64 + source_lane * 4, 16);
        memmove(to_scales + target * 16 + target_lane, scales + source * 16 + source_lane, 4 * sizeof(float));
        if (mins) memmove(to_mins + target * 16 + target_lane, mins + source * 16 + source_lane, 4 * sizeof(float));
    }
}
