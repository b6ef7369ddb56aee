// The int8 product: the kernel dispatch, and the portable reference that states the arithmetic
// (see include/PPDInt8.h).
#include "Int8Layout.h"

#include <math.h>
#include <string.h>

// The reference must round every step as written: no contraction of a multiply and an add.
#pragma STDC FP_CONTRACT OFF

void ppd_i8_multiply(ppd_i8_kernel kernel, const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y,
                     long output_stride, int row_start, int row_end, const int32_t *row_map) {
    switch (kernel) {
    case PPD_I8_AVX512_VNNI: ppd_i8_multiply_vnni(m, packed, count, y, output_stride, row_start, row_end, row_map); break;
    case PPD_I8_AVX2: ppd_i8_multiply_avx2(m, packed, count, y, output_stride, row_start, row_end, row_map); break;
    default: ppd_i8_multiply_reference(m, packed, count, y, output_stride, row_start, row_end, row_map); break;
    }
}

void ppd_i8_multiply_reference(const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y, long output_stride,
                               int row_start, int row_end, const int32_t *row_map) {
    const int block = m->block, chunks = m->columns / (4 * block), steps = block / 4, bits = ppd_i8_bits(m->type);
    const size_t input_bytes = ppd_i8_input_bytes(m->columns, block), chunk_bytes = ppd_i8_chunk_bytes(block);
    const size_t tile_bytes = ppd_i8_tile_bytes(bits, block);
    const int32_t factor = (int32_t)ppd_i8_min_factor(m->type); // 0: the type has its own offsets (Q4_K)
    for (int j = 0; j < count; j++) {
        const uint8_t *x = packed + (size_t)j * input_bytes;
        for (int row = row_start; row < row_end; row += 4) {
            float acc[16] = {0}, offsets[16] = {0};
            for (int c = 0; c < chunks; c++) {
                const size_t tile = (size_t)(row / 4) * chunks + c;
                const uint8_t *w = m->weights + tile * tile_bytes, *xc = x + c * chunk_bytes;
                const float *xs = (const float *)(xc + steps * 64);
                const int32_t *integer_sums = (const int32_t *)(xs + 32);
                for (int lane = 0; lane < 16; lane++) {
                    // A derived offset is an integer multiple of the scale: it leaves the integer
                    // sum exactly, as factor * sum(q); a table's offset is a float step.
                    int32_t isum = -factor * integer_sums[lane];
                    for (int k = 0; k < steps; k++)
                        for (int t = 0; t < 4; t++)
                            isum += (int32_t)ppd_i8_tile_get(bits, steps, w, k, lane * 4 + t) * (int32_t)(int8_t)xc[k * 64 + lane * 4 + t];
                    float f = (float)isum * xs[lane];
                    acc[lane] = fmaf(f, ppd_i8_scale(m, tile * 16 + lane), acc[lane]);
                    if (!factor) offsets[lane] = fmaf(m->mins[tile * 16 + lane], xs[16 + lane], offsets[lane]);
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

void ppd_i8_copy_row(const ppd_i8_matrix *source, int from, const ppd_i8_matrix *target, int to) {
    const int block = source->block, chunks = source->columns / (4 * block), steps = block / 4;
    const int bits = ppd_i8_bits(source->type), half_scales = ppd_i8_half_scales(source->type);
    const size_t tile_bytes = ppd_i8_tile_bytes(bits, block), scale_bytes = half_scales ? 2 : 4;
    uint8_t *to_weights = (uint8_t *)target->weights, *to_scales = (uint8_t *)target->scales;
    const uint8_t *scales = (const uint8_t *)source->scales;
    for (int c = 0; c < chunks; c++) {
        const size_t from_tile = (size_t)(from / 4) * chunks + c, to_tile = (size_t)(to / 4) * chunks + c;
        const int from_lane = 4 * (from % 4), to_lane = 4 * (to % 4);
        const uint8_t *w = source->weights + from_tile * tile_bytes;
        uint8_t *tw = to_weights + to_tile * tile_bytes;
        // The row's bytes: 16 of each 64-byte vector, 2 of each 64-bit word of a bit plane.
        const int vectors = bits == 8 ? steps : steps / 2, words = (bits > 4 && bits < 8 ? bits - 4 : 0) * steps;
        for (int v = 0; v < vectors; v++) memmove(tw + v * 64 + to_lane * 4, w + v * 64 + from_lane * 4, 16);
        for (int q = 0; q < words; q++)
            memmove(tw + vectors * 64 + q * 8 + to_lane / 2, w + vectors * 64 + q * 8 + from_lane / 2, 2);
        memmove(to_scales + (to_tile * 16 + to_lane) * scale_bytes, scales + (from_tile * 16 + from_lane) * scale_bytes, 4 * scale_bytes);
        if (source->mins)
            memmove((float *)target->mins + to_tile * 16 + to_lane, source->mins + from_tile * 16 + from_lane, 4 * sizeof(float));
    }
}
