// CBLAS and OpenBLAS's control functions (thread count, core name), exactly as
// OpenBLAS declares them. This shim adds no API of its own.
#pragma once
#include <cblas.h>
