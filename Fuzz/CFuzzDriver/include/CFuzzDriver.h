// The fuzz harness's entry point (Fuzz/PPDFuzz): SwiftPM names an executable's entry point
// <module>_main, so the harness's main hands control to libFuzzer's driver.
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt): parses the flags and calls `callback` per input.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// The harness's per-input function (PPDFuzz.swift).
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
