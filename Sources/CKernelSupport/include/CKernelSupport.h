#ifndef PPD_CKERNELSUPPORT_H
#define PPD_CKERNELSUPPORT_H

#include "PPDInt8.h"
#include "PPDFloatScan.h"

/// Hints the CPU to start loading the cache line at `address` for reading. Hardware
/// prefetchers stop at 4 KiB page boundaries; streaming kernels call this a little ahead.
static inline __attribute__((always_inline)) void ppd_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
