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
#include "int8-synthetic.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    const int type = argc > 1 ? atoi(argv[1]) : 8, rows = argc > 2 ? atoi(argv[2]) : 1024;
    const int columns = argc > 3 ? atoi(argv[3]) : 640, block = ppd_i8_block((uint32_t)type);
    if (!ppd_i8_supported(PPD_I8_AVX512_VNNI)) { fprintf(stderr, "this CPU has no AVX-512 VNNI\n"); return 1; }
    ppd_i8_matrix m;
    if (synthetic_matrix(type, rows, columns, &m)) { fprintf(stderr, "unsupported type or shape\n"); return 1; }
    enum { MAX_INPUTS = 64 };
    const uint8_t *packed = synthetic_inputs(MAX_INPUTS, columns, block);
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
