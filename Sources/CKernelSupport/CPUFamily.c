// Which CPU this is, where the int8 kernels' speed depends on it (never their results).
#include "PPDInt8.h"

#include <cpuid.h>
#include <string.h>

int ppd_i8_cpu_splits_wide_vectors(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    char vendor[13];
    memcpy(vendor, &ebx, 4);
    memcpy(vendor + 4, &edx, 4);
    memcpy(vendor + 8, &ecx, 4);
    vendor[12] = 0;
    if (strcmp(vendor, "AuthenticAMD") != 0 || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    unsigned int family = (eax >> 8) & 0xf;
    if (family == 0xf) family += (eax >> 20) & 0xff;
    return family == 0x19;  // Zen 3 and Zen 4; of these only Zen 4 has AVX-512
}
