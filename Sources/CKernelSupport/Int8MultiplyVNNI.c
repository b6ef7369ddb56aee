// Matrix products with int8 activations on AVX-512 VNNI (see include/PPDInt8.h): one 512-bit
// `vpdpbusd` sums 4 products for each of the 16 (row, sub-block) lanes of a chunk.
//
// Blocking: the rows are cut into panels of PANEL_GROUPS groups of 4 rows (a panel's weights stay
// in L2); tiles of up to TILE_INPUTS inputs (in L1) pass over a panel, and a register tile of
// TILE_GROUPS groups x the tile's inputs keeps one integer accumulator per (group, input), so each
// weight vector loaded serves every input of the tile and each input vector every group. Integer
// sums are exact, so the blocking does not change them; the float operations of each output are
// the reference's sequence (chunk order) whatever the tile.
#include "Int8Layout.h"

#include <immintrin.h>

enum {
    TILE_GROUPS = 2,   // groups of 4 rows per register tile
    TILE_INPUTS = 6,   // inputs per register tile (12 integer + 12 float accumulators)
    PANEL_GROUPS = 16, // groups per panel: 64 rows
    PREFETCH_GROUPS = 4, // prefetch distance of the first pass over a panel
};

/// The row sums of a chunk result's 16 lanes (`ppd_i8_row_sums`'s order; float addition commutes).
PPD_VNNI_TARGET static inline void store_row_sums(__m512 a, float *y) {
    __m512 pairs = _mm512_add_ps(a, _mm512_permute_ps(a, 0xB1));
    __m512 rows = _mm512_add_ps(pairs, _mm512_permute_ps(pairs, 0x4E));
    _mm_storeu_ps(y, _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, rows)));
}

/// Where one call's operands are: weights from group `w` on, inputs from `x` on.
typedef struct {
    const uint8_t *w;
    const float *scales, *mins; // mins NULL: min = min_factor * scale
    float min_factor;
    size_t group_bytes, group_scales; // one group's weight bytes and scale count (all chunks)
    int chunks;
    const uint8_t *x;
    size_t input_bytes;
    float *y;         // the tile's first output (with `map`: the start of its first input's output row)
    long output_stride;
    const int32_t *map; // NULL, or the row map from the tile's first row on
} tile_operands;

/// G groups x J inputs (G <= TILE_GROUPS, J <= TILE_INPUTS, both compile-time constants after
/// inlining) over all chunks, `steps` steps of 64 bytes per chunk.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void tile_product(const int G, const int J, const int steps,
                                                                               const tile_operands *o) {
    __m512 acc[TILE_GROUPS][TILE_INPUTS];
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) acc[g][j] = _mm512_setzero_ps();
    const size_t chunk = ppd_i8_chunk_bytes(4 * steps);
    for (int c = 0; c < o->chunks; c++) {
        __m512i isum[TILE_GROUPS][TILE_INPUTS];
        for (int g = 0; g < G; g++)
            for (int j = 0; j < J; j++) isum[g][j] = _mm512_setzero_si512();
        const uint8_t *wc = o->w + (size_t)c * steps * 64, *xc = o->x + c * chunk;
        for (int k = 0; k < steps; k++) {
            __m512i wv[TILE_GROUPS];
            for (int g = 0; g < G; g++) wv[g] = _mm512_loadu_si512(wc + g * o->group_bytes + k * 64);
            for (int j = 0; j < J; j++) {
                __m512i xv = _mm512_loadu_si512(xc + j * o->input_bytes + k * 64);
                for (int g = 0; g < G; g++) isum[g][j] = _mm512_dpbusd_epi32(isum[g][j], wv[g], xv);
            }
        }
        for (int j = 0; j < J; j++) {
            __m512 dA = _mm512_loadu_ps((const float *)(xc + j * o->input_bytes + steps * 64));
            for (int g = 0; g < G; g++) {
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[g][j]), dA);
                acc[g][j] = _mm512_fmadd_ps(f, _mm512_loadu_ps(o->scales + g * o->group_scales + c * 16), acc[g][j]);
            }
        }
    }
    // The offsets (min x scaled input sum, in chunk order) do not depend on the integer sums;
    // all G x J chains advance together (one chain at a time would wait on each fma's latency).
    __m512 offsets[TILE_GROUPS][TILE_INPUTS];
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) offsets[g][j] = _mm512_setzero_ps();
    const __m512 factor = _mm512_set1_ps(o->min_factor);
    for (int c = 0; c < o->chunks; c++) {
        __m512 min[TILE_GROUPS];
        for (int g = 0; g < G; g++)
            min[g] = o->mins ? _mm512_loadu_ps(o->mins + g * o->group_scales + c * 16)
                             : _mm512_mul_ps(factor, _mm512_loadu_ps(o->scales + g * o->group_scales + c * 16));
        for (int j = 0; j < J; j++) {
            __m512 sums = _mm512_loadu_ps((const float *)(o->x + j * o->input_bytes + c * chunk + steps * 64 + 64));
            for (int g = 0; g < G; g++) offsets[g][j] = _mm512_fmadd_ps(min[g], sums, offsets[g][j]);
        }
    }
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) {
            const __m512 d = _mm512_sub_ps(acc[g][j], offsets[g][j]);
            if (o->map) {
                float sums[4];
                store_row_sums(d, sums);
                ppd_i8_store_group(sums, o->y + j * o->output_stride, o->map, g * 4, 0);
            } else {
                store_row_sums(d, o->y + j * o->output_stride + g * 4);
            }
        }
}

/// G groups times J inputs for this `steps` (8 for blocks of 32, 4 for 16).
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void tile_for_steps(const int G, const int J, int steps,
                                                                                 const tile_operands *o) {
    if (steps == 8) tile_product(G, J, 8, o);
    else tile_product(G, J, 4, o);
}

/// G groups times `inputs` (1 ... TILE_INPUTS) inputs.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void tile_for_inputs(const int G, int inputs, int steps,
                                                                                  const tile_operands *o) {
    switch (inputs) {
    case 6: tile_for_steps(G, 6, steps, o); break;
    case 5: tile_for_steps(G, 5, steps, o); break;
    case 4: tile_for_steps(G, 4, steps, o); break;
    case 3: tile_for_steps(G, 3, steps, o); break;
    case 2: tile_for_steps(G, 2, steps, o); break;
    default: tile_for_steps(G, 1, steps, o); break;
    }
}

PPD_VNNI_TARGET void ppd_i8_multiply_vnni(const uint8_t *weights, const float *scales, const float *mins,
                                        float min_factor, int columns, int block, const uint8_t *packed, int count,
                                        float *y, long output_stride, int row_start, int row_end, const int32_t *row_map) {
    const int chunks = columns / (4 * block), steps = block / 4;
    tile_operands o = {.min_factor = min_factor, .group_bytes = (size_t)chunks * 16 * block, .group_scales = (size_t)chunks * 16,
                       .chunks = chunks, .input_bytes = ppd_i8_input_bytes(columns, block), .output_stride = output_stride};
    const int first_group = row_start / 4, end_group = row_end / 4;
    for (int panel = first_group; panel < end_group; panel += PANEL_GROUPS) {
        const int panel_end = panel + PANEL_GROUPS < end_group ? panel + PANEL_GROUPS : end_group;
        for (int j = 0; j < count; j += TILE_INPUTS) {
            const int inputs = count - j < TILE_INPUTS ? count - j : TILE_INPUTS;
            o.x = packed + (size_t)j * o.input_bytes;
            for (int g = panel; g < panel_end;) {
                const int groups = g + TILE_GROUPS <= panel_end ? TILE_GROUPS : 1;
                o.w = weights + (size_t)g * o.group_bytes;
                o.scales = scales + (size_t)g * o.group_scales;
                o.mins = mins ? mins + (size_t)g * o.group_scales : NULL;
                o.y = y + (long)j * output_stride + (row_map ? 0 : g * 4 - row_start);
                o.map = row_map ? row_map + g * 4 : NULL;
                // The first pass over a panel fetches the weights and scales PREFETCH_GROUPS
                // groups ahead into L1 (streamed from memory for large matrices; into L1 rather
                // than L2 measured 29 -> 36 GB/s for one decode row on the Zen 5 VM).
                if (j == 0 && g + PREFETCH_GROUPS < end_group) {
                    const char *ahead = (const char *)(o.w + PREFETCH_GROUPS * o.group_bytes);
                    for (size_t offset = 0; offset < groups * o.group_bytes; offset += 64)
                        _mm_prefetch(ahead + offset, _MM_HINT_T0);
                    const char *scales_ahead = (const char *)(o.scales + PREFETCH_GROUPS * o.group_scales);
                    for (size_t offset = 0; offset < groups * o.group_scales * sizeof(float); offset += 64)
                        _mm_prefetch(scales_ahead + offset, _MM_HINT_T0);
                }
                if (groups == TILE_GROUPS) tile_for_inputs(TILE_GROUPS, inputs, steps, &o);
                else tile_for_inputs(1, inputs, steps, &o);
                g += groups;
            }
        }
    }
}
