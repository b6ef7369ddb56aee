// Arithmetic throughput of the int8 product kernels (Sources/CKernelSupport) on one thread over a
// matrix small enough to stay in L2, repeated: what the kernel's instruction mix allows, without
// the weight stream (see int8-product.c for streamed matrices). Compare with vnni-peak.c's
// ceiling. Build and run (type: GGML number 8 = Q8_0, 6 = Q5_0, 12 = Q4_K, 14 = Q6_K):
//   clang -O3 -ISources/CKernelSupport/include -ISources/CKernelSupport \
//     Scripts/microbench/int8-in-cache.c Sources/CKernelSupport/Int8*.c -o /tmp/int8-in-cache -lm \
//     && /tmp/int8-in-cache 8 1024 640
// Measured 2026-12-08 on the 2-core Zen 4 VM (VNNI peak 225 G MAC/s on one thread), 16 inputs,
// G MAC/s for Q8_0 1024 x 640 / Q5_0 1024 x 640 / Q4_K 1024 x 1024 / Q6_K 1024 x 1024, two
// alternating rounds: before 138 / 125 / 137 / 91; with the derived offsets in the integer sums
// and scales loaded once per chunk 157 / 142 / 150 / 104.
#include "PPDInt8.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/// GGML bytes per row, block bytes and the offset of each block's half scale `d`.
static size_t row_bytes(int type, int columns, size_t *block_bytes, size_t *d_offset) {
    switch (type) {
    case 8: *block_bytes = 34; *d_offset = 0; return (size_t)columns / 32 * 34;
    case 6: *block_bytes = 22; *d_offset = 0; return (size_t)columns / 32 * 22;
    case 12: *block_bytes = 144; *d_offset = 0; return (size_t)columns / 256 * 144;
    default: *block_bytes = 210; *d_offset = 208; return (size_t)columns / 256 * 210; // Q6_K
    }
}

int main(int argc, char **argv) {
    const int type = argc > 1 ? atoi(argv[1]) : 8, rows = argc > 2 ? atoi(argv[2]) : 1024;
    const int columns = argc > 3 ? atoi(argv[3]) : 640, block = ppd_i8_block((uint32_t)type);
    size_t block_bytes, d_offset, bytes = row_bytes(type, columns, &block_bytes, &d_offset);
    if (!block || !ppd_i8_supported(PPD_I8_AVX512_VNNI)) { fprintf(stderr, "unsupported type or CPU\n"); return 1; }
    uint8_t *source = malloc(bytes * rows);
    for (size_t i = 0; i < bytes * rows; i++) source[i] = (uint8_t)(i * 2654435761u >> 13);
    for (size_t i = d_offset; i < bytes * rows; i += block_bytes) { source[i] = 0x00; source[i + 1] = 0x2c; }
    const size_t subblocks = (size_t)rows * columns / block;
    ppd_i8_matrix m = {.type = (uint32_t)type, .columns = columns, .block = block};
    m.weights = aligned_alloc(64, (ppd_i8_weight_bytes(m.type, rows, columns) + 63) / 64 * 64);
    m.scales = aligned_alloc(64, (subblocks * 4 + 63) / 64 * 64);
    m.mins = ppd_i8_min_factor(m.type) == 0 ? aligned_alloc(64, (subblocks * 4 + 63) / 64 * 64) : NULL;
    if (ppd_i8_pack(&m, source, bytes, rows)) { fprintf(stderr, "pack failed (shape or type)\n"); return 1; }
    enum { MAX_INPUTS = 64 };
    float *x = malloc(sizeof(float) * MAX_INPUTS * columns);
    for (int i = 0; i < MAX_INPUTS * columns; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    uint8_t *packed = aligned_alloc(64, MAX_INPUTS * ppd_i8_input_bytes(columns, block));
    ppd_i8_quantize(PPD_I8_AVX512_VNNI, x, MAX_INPUTS, columns, block, packed);
    float *y = calloc((size_t)MAX_INPUTS * rows, sizeof(float));
    const int counts[] = {1, 2, 4, 6, 8, 12, 16, 32, 64};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        const int count = counts[c], repeats = (int)(2e9 / ((double)count * rows * columns)) + 1;
        double best = 1e9;
        for (int run = 0; run < 5; run++) {
            const double start = now();
            for (int i = 0; i < repeats; i++)
                ppd_i8_multiply(PPD_I8_AVX512_VNNI, &m, packed, count, y, rows, 0, rows, NULL);
            const double seconds = (now() - start) / repeats;
            if (seconds < best) best = seconds;
        }
        printf("inputs %2d  %8.1f us  %6.1f G MAC/s\n", count, best * 1e6, (double)count * rows * columns / best / 1e9);
    }
    return 0;
}
