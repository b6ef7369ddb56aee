// Matrix products with int8 activations on AVX-512 VNNI (see include/PPDInt8.h): one 512-bit
// `vpdpbusd` sums 4 products for each of the 16 (row, sub-block) lanes of a chunk.
//
// Blocking: the rows are cut into panels of PANEL_GROUPS groups of 4 rows (a panel's weights stay
// in L2); tiles of up to TILE_INPUTS inputs (in L1) pass over a panel, and a register tile of
// one or TILE_GROUPS groups x the tile's inputs keeps one integer accumulator per (group, input), so each
// weight vector loaded serves every input of the tile and each input vector every group. Integer
// sums are exact, so the blocking does not change them; the float operations of each output are
// the reference's sequence (chunk order) whatever the tile.
#include "Int8Layout.h"

#include <immintrin.h>

enum {
    TILE_GROUPS = 2,   // groups of 4 rows per register tile
    TILE_INPUTS = 6,   // inputs per register tile (12 integer + 12 float accumulators)
    PANEL_GROUPS = 16, // groups per panel: 64 rows
    PREFETCH_GROUPS = 16, // prefetch distance (into L2) of the first pass over a panel
};

/// Whether `count` inputs are few enough for register tiles of one group: a product of few
/// inputs is bound by streaming the weights, and one weight stream per tile keeps it there;
/// more inputs are bound by arithmetic, where two groups per tile share each input vector.
/// Measured 2026-12-07 on the 2-core Zen 4 VM (`Scripts/microbench/int8-product.c`): one group
/// is faster up to 8 inputs for 8-bit weights and up to 4 for the unpacked 4-6-bit ones.
static inline int one_group_tiles(int count, int bits) { return count <= (bits == 8 ? 8 : 4); }

/// The row sums of a chunk result's 16 lanes (`ppd_i8_row_sums`'s order; float addition commutes).
PPD_VNNI_TARGET static inline void store_row_sums(__m512 a, float *y) {
    __m512 pairs = _mm512_add_ps(a, _mm512_permute_ps(a, 0xB1));
    __m512 rows = _mm512_add_ps(pairs, _mm512_permute_ps(pairs, 0x4E));
    _mm_storeu_ps(y, _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, rows)));
}

/// Step k (0 ... steps - 1) of a tile of `bits`-bit weights widened to its 64 bytes (see "Packed
/// tiles" in PPDInt8.h). `bits` and `steps` are compile-time constants after inlining, and the
/// two steps of one nibble vector load it once.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) __m512i load_step(const int bits, const int steps,
                                                                               const uint8_t *tile, int k) {
    if (bits == 8) return _mm512_loadu_si512(tile + k * 64);
    const __m512i nibbles = _mm512_loadu_si512(tile + (k / 2) * 64);
    __m512i u = _mm512_and_si512(k & 1 ? _mm512_srli_epi16(nibbles, 4) : nibbles, _mm512_set1_epi8(15));
    for (int bit = 4; bit < bits; bit++) {
        uint64_t word;
        memcpy(&word, tile + 32 * steps + ((bit - 4) * steps + k) * 8, 8);
        const __mmask64 plane = _cvtu64_mask64(word);
        u = _mm512_mask_add_epi8(u, plane, u, _mm512_set1_epi8((char)(1 << bit)));
    }
    return u;
}

/// 16 scales (halves or floats) from `scales` + `index` on, as floats.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) __m512 load_scales(const int half, const void *scales,
                                                                                size_t index) {
    if (half) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)scales + index)));
    return _mm512_loadu_ps((const float *)scales + index);
}

/// Where one call's operands are: weights from group `w` on, inputs from `x` on.
typedef struct {
    const uint8_t *w;
    const void *scales;         // halves or floats (`half`)
    const float *mins;          // the offset table (Q4_K); the other types' offsets are derived
    size_t group_bytes, group_scales, tile_bytes; // one group's weight bytes and scale count (all chunks); one chunk's bytes
    int chunks;
    const uint8_t *x;
    size_t input_bytes;
    float *y;         // the tile's first output (with `map`: the start of its first input's output row)
    long output_stride;
    const int32_t *map; // NULL, or the row map from the tile's first row on
} tile_operands;

/// G groups x J inputs (G <= TILE_GROUPS, J <= TILE_INPUTS, both compile-time constants after
/// inlining) over all chunks, `steps` steps of 64 weights per chunk of `bits`-bit weights,
/// scales as halves when `half`. `shift` is log2 of the type's offset factor (the integer sums
/// start at -(sum(q) << shift), the derived offset exactly), or -1 for a type with an offset
/// table (Q4_K: offsets are a float step after the chunks).
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void tile_product(const int bits, const int half, const int shift,
                                                                               const int G, const int J, const int steps,
                                                                               const tile_operands *o) {
    __m512 acc[TILE_GROUPS][TILE_INPUTS];
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) acc[g][j] = _mm512_setzero_ps();
    const size_t chunk = ppd_i8_chunk_bytes(4 * steps);
    for (int c = 0; c < o->chunks; c++) {
        const uint8_t *wc = o->w + (size_t)c * o->tile_bytes, *xc = o->x + c * chunk;
        __m512i isum[TILE_GROUPS][TILE_INPUTS];
        for (int j = 0; j < J; j++) {
            __m512i start = _mm512_setzero_si512();
            if (shift >= 0) {
                const __m512i sums = _mm512_loadu_si512(xc + j * o->input_bytes + steps * 64 + 128);
                start = _mm512_sub_epi32(start, _mm512_slli_epi32(sums, shift));
            }
            for (int g = 0; g < G; g++) isum[g][j] = start;
        }
        for (int k = 0; k < steps; k++) {
            __m512i wv[TILE_GROUPS];
            for (int g = 0; g < G; g++) wv[g] = load_step(bits, steps, wc + g * o->group_bytes, k);
            for (int j = 0; j < J; j++) {
                __m512i xv = _mm512_loadu_si512(xc + j * o->input_bytes + k * 64);
                for (int g = 0; g < G; g++) isum[g][j] = _mm512_dpbusd_epi32(isum[g][j], wv[g], xv);
            }
        }
        __m512 scale[TILE_GROUPS];
        for (int g = 0; g < G; g++) scale[g] = load_scales(half, o->scales, g * o->group_scales + c * 16);
        for (int j = 0; j < J; j++) {
            __m512 dA = _mm512_loadu_ps((const float *)(xc + j * o->input_bytes + steps * 64));
            for (int g = 0; g < G; g++) {
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[g][j]), dA);
                acc[g][j] = _mm512_fmadd_ps(f, scale[g], acc[g][j]);
            }
        }
    }
    if (shift < 0) {
        // The table's offsets (min x scaled input sum, in chunk order) do not depend on the
        // integer sums; all G x J chains advance together (one chain at a time would wait on
        // each fma's latency).
        __m512 offsets[TILE_GROUPS][TILE_INPUTS];
        for (int g = 0; g < G; g++)
            for (int j = 0; j < J; j++) offsets[g][j] = _mm512_setzero_ps();
        for (int c = 0; c < o->chunks; c++) {
            __m512 min[TILE_GROUPS];
            for (int g = 0; g < G; g++) min[g] = _mm512_loadu_ps(o->mins + g * o->group_scales + c * 16);
            for (int j = 0; j < J; j++) {
                __m512 sums = _mm512_loadu_ps((const float *)(o->x + j * o->input_bytes + c * chunk + steps * 64 + 64));
                for (int g = 0; g < G; g++) offsets[g][j] = _mm512_fmadd_ps(min[g], sums, offsets[g][j]);
            }
        }
        for (int g = 0; g < G; g++)
            for (int j = 0; j < J; j++) acc[g][j] = _mm512_sub_ps(acc[g][j], offsets[g][j]);
    }
    for (int g = 0; g < G; g++)
        for (int j = 0; j < J; j++) {
            if (o->map) {
                float sums[4];
                store_row_sums(acc[g][j], sums);
                ppd_i8_store_group(sums, o->y + j * o->output_stride, o->map, g * 4, 0);
            } else {
                store_row_sums(acc[g][j], o->y + j * o->output_stride + g * 4);
            }
        }
}

/// G groups times J inputs for the weight format of `type`.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void tile_for_type(const int G, const int J, uint32_t type,
                                                                                const tile_operands *o) {
    switch (type) {
    case TYPE_Q8_0: tile_product(8, 1, 7, G, J, 8, o); break;
    case TYPE_Q5_0: tile_product(5, 1, 4, G, J, 8, o); break;
    case TYPE_Q4_0: tile_product(4, 1, 3, G, J, 8, o); break;
    case TYPE_Q4_K: tile_product(4, 0, -1, G, J, 8, o); break;
    default: tile_product(6, 0, 5, G, J, 4, o); break; // Q6_K
    }
}

/// G groups times `inputs` (1 ... TILE_INPUTS) inputs.
PPD_VNNI_TARGET static inline __attribute__((always_inline)) void tile_for_inputs(const int G, int inputs, uint32_t type,
                                                                                  const tile_operands *o) {
    switch (inputs) {
    case 6: tile_for_type(G, 6, type, o); break;
    case 5: tile_for_type(G, 5, type, o); break;
    case 4: tile_for_type(G, 4, type, o); break;
    case 3: tile_for_type(G, 3, type, o); break;
    case 2: tile_for_type(G, 2, type, o); break;
    default: tile_for_type(G, 1, type, o); break;
    }
}

PPD_VNNI_TARGET void ppd_i8_multiply_vnni(const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y,
                                          long output_stride, int row_start, int row_end, const int32_t *row_map) {
    const int block = m->block, chunks = m->columns / (4 * block);
    const size_t tile_bytes = ppd_i8_tile_bytes(ppd_i8_bits(m->type), block), scale_size = ppd_i8_half_scales(m->type) ? 2 : 4;
    tile_operands o = {.group_bytes = (size_t)chunks * tile_bytes,
                       .group_scales = (size_t)chunks * 16, .tile_bytes = tile_bytes, .chunks = chunks,
                       .input_bytes = ppd_i8_input_bytes(m->columns, block), .output_stride = output_stride};
    const int first_group = row_start / 4, end_group = row_end / 4;
    const int tile_groups = one_group_tiles(count, ppd_i8_bits(m->type)) ? 1 : TILE_GROUPS;
    const size_t passes = (size_t)(count + TILE_INPUTS - 1) / TILE_INPUTS; // over each panel
    for (int panel = first_group; panel < end_group; panel += PANEL_GROUPS) {
        const int panel_end = panel + PANEL_GROUPS < end_group ? panel + PANEL_GROUPS : end_group;
        for (int j = 0; j < count; j += TILE_INPUTS) {
            const int inputs = count - j < TILE_INPUTS ? count - j : TILE_INPUTS;
            o.x = packed + (size_t)j * o.input_bytes;
            for (int g = panel; g < panel_end;) {
                const int groups = g + tile_groups <= panel_end ? tile_groups : 1;
                o.w = m->weights + (size_t)g * o.group_bytes;
                o.scales = (const uint8_t *)m->scales + (size_t)g * o.group_scales * scale_size;
                o.mins = m->type == TYPE_Q4_K ? m->mins + (size_t)g * o.group_scales : NULL;
                o.y = y + (long)j * output_stride + (row_map ? 0 : g * 4 - row_start);
                o.map = row_map ? row_map + g * 4 : NULL;
                // Each pass over a panel fetches its share of the weights PREFETCH_GROUPS groups
                // ahead into L2 (streamed from memory for large matrices), so that the stream
                // overlaps every pass, not only the first; the first pass fetches the scales
                // into L1. On the Zen 4 VM, 16 groups ahead into L2 against 4 into L1 measured
                // 1.2-1.8x faster products of 1-8 inputs (the output layer: 4 inputs 11.3 -> 6.3 ms).
                if (g + PREFETCH_GROUPS < end_group) {
                    const char *ahead = (const char *)(o.w + PREFETCH_GROUPS * o.group_bytes);
                    const size_t bytes = groups * o.group_bytes, pass = (size_t)(j / TILE_INPUTS);
                    const size_t from = bytes * pass / passes / 64 * 64, to = bytes * (pass + 1) / passes;
                    for (size_t offset = from; offset < to; offset += 64) _mm_prefetch(ahead + offset, _MM_HINT_T1);
                    if (j == 0) {
                        const char *scales_ahead = (const char *)o.scales + PREFETCH_GROUPS * o.group_scales * scale_size;
                        for (size_t offset = 0; offset < groups * o.group_scales * scale_size; offset += 64)
                            _mm_prefetch(scales_ahead + offset, _MM_HINT_T0);
                    }
                }
                if (groups == TILE_GROUPS) tile_for_inputs(TILE_GROUPS, inputs, m->type, &o);
                else tile_for_inputs(1, inputs, m->type, &o);
                g += groups;
            }
        }
    }
}
