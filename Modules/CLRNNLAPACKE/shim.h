// LAPACKE with its complex types defined as plain two-field structs, so that the
// complex routines (cgeev, zgeev, zgesv, ...) import into Swift with typed pointers
// instead of being dropped for using C99 `_Complex`. This shim adds no API of its own.
#pragma once
typedef struct { float real; float imag; } lrnn_lapack_complex_float;
typedef struct { double real; double imag; } lrnn_lapack_complex_double;
#define lapack_complex_float lrnn_lapack_complex_float
#define lapack_complex_double lrnn_lapack_complex_double
#include <lapacke.h>
