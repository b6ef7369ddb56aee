// The int8 product kernels (Sources/CKernelSupport) on one synthetic large matrix, 1-32 inputs,
// rows split over threads as the library splits them: a kernel change's effect on streamed
// matrices without a Swift build. Best of 7 runs per input count, VNNI and (1-2 inputs) AVX2.
// Build and run (type: GGML number 8 = Q8_0, 6 = Q5_0, 12 = Q4_K, 14 = Q6_K):
//   clang -O3 -ISources/CKernelSupport/include -ISources/CKernelSupport \
//     Scripts/microbench/int8-product.c Sources/CKernelSupport/Int8*.c \
//     -o /tmp/int8-product -lpthread -lm && /tmp/int8-product 8 262144 2 640 [COUNTS, e.g. 7,8]
// Measured 2026-12-07 on the 2-core Zen 4 VM, Q8_0 262144 x 640 (the output layer), medians of 3
// alternating runs, ms for 1 / 2 / 4 / 8 / 16 inputs: before (prefetch 4 groups ahead into L1, two
// groups per tile) 7.20 / 8.82 / 11.33 / 14.95 / 19.48; after (16 groups ahead into L2, one group
// per tile up to 8 inputs) 6.06 / 5.80 / 6.32 / 9.71 / 15.25.
// 2026-12-08, same VM, clang (SwiftPM's compiler; gcc's build of the kernels is 5-10% slower),
// best of 3 alternating rounds, ms for 4 / 7 / 10 / 16 / 32 inputs: before 5.85 / 8.27 / 10.04 /
// 13.71 / 23.49; derived offsets in the integer sums and scales loaded once per chunk 5.43 / 7.35
// / 8.78 / 11.84 / 20.39; and each panel's prefetch spread over all its passes 5.42 / 6.62 / 7.00
// / 9.27 / 17.96.
#include "int8-synthetic.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct {
    const ppd_i8_matrix *m;
    const uint8_t *x;
    float *y;
    int count, rows, row_start, row_end;
    ppd_i8_kernel kernel;
} slice;

static void *run_slice(void *p) {
    const slice *s = p;
    ppd_i8_multiply(s->kernel, s->m, s->x, s->count, s->y + s->row_start, s->rows, s->row_start, s->row_end, NULL);
    return NULL;
}

int main(int argc, char **argv) {
    const int type = argc > 1 ? atoi(argv[1]) : 8, rows = argc > 2 ? atoi(argv[2]) : 262144;
    const int threads = argc > 3 ? atoi(argv[3]) : 2, columns = argc > 4 ? atoi(argv[4]) : 640;
    const int block = ppd_i8_block((uint32_t)type);
    if (threads < 1 || threads > 2) { fprintf(stderr, "threads must be 1 or 2\n"); return 1; }
    ppd_i8_matrix m;
    if (synthetic_matrix(type, rows, columns, &m)) { fprintf(stderr, "unsupported type or shape\n"); return 1; }
    enum { MAX_INPUTS = 32 };
    const uint8_t *packed = synthetic_inputs(MAX_INPUTS, columns, block);
    float *y = calloc((size_t)MAX_INPUTS * rows, sizeof(float));
    int counts[32] = {1, 2, 3, 4, 5, 6, 8, 12, 16, 32}, count_total = 10;
    if (argc > 5) { // a comma-separated list of input counts (at most 32 each) replaces the default
        count_total = 0;
        for (char *item = strtok(argv[5], ","); item && count_total < 32; item = strtok(NULL, ","))
            if (atoi(item) >= 1 && atoi(item) <= MAX_INPUTS) counts[count_total++] = atoi(item);
    }
    for (int k = 0; k < 2; k++) {
        const ppd_i8_kernel kernel = k == 0 ? PPD_I8_AVX512_VNNI : PPD_I8_AVX2;
        for (int c = 0; c < count_total; c++) {
            const int count = counts[c];
            if (kernel == PPD_I8_AVX2 && count > 2) continue;
            double best = 1e9;
            for (int run = 0; run < 7; run++) {
                pthread_t thread[2];
                slice part[2];
                const double start = now();
                for (int t = 0; t < threads; t++) {
                    part[t] = (slice){&m, packed, y, count, rows, rows / threads * t / 4 * 4,
                                      t == threads - 1 ? rows : rows / threads * (t + 1) / 4 * 4, kernel};
                    pthread_create(&thread[t], NULL, run_slice, &part[t]);
                }
                for (int t = 0; t < threads; t++) pthread_join(thread[t], NULL);
                if (now() - start < best) best = now() - start;
            }
            printf("%s inputs %2d  %7.3f ms  %6.1f G MAC/s  %5.1f GB/s of weights\n", k == 0 ? "vnni" : "avx2", count,
                   best * 1e3, (double)count * rows * columns / best / 1e9, ppd_i8_weight_bytes(m.type, rows, columns) / best / 1e9);
        }
    }
    return 0;
}
