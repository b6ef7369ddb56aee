// Header-only support for the Swift kernels; this file exists so that SwiftPM builds the target.
#include "CKernelSupport.h"
