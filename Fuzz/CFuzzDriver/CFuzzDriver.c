#include "CFuzzDriver.h"

// The entry point SwiftPM's link step aliases to `main` for the PPDFuzz executable.
int PPDFuzz_main(int argc, char **argv) { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); }
