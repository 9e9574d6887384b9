// Process-start single-threading of OpenBLAS (see docs/ARCHITECTURE.md, "Threading policy").
//
// OpenBLAS starts with as many threads as cores (or OPENBLAS_NUM_THREADS). LinearRNN runs it
// single-threaded and parallelises over independent work items itself: a single-threaded call's
// result depends only on its arguments, while OpenBLAS 0.3.21's multi-threaded gemm and gemv
// results change in the last bits with the thread count. This constructor sets the count to one
// before any Swift code runs, so that no BLAS call, even one made before LinearRNN's Threading is
// first used, runs multi-threaded; nothing in LinearRNN changes the count afterwards.
#include "CLRNNStartup.h"

extern void openblas_set_num_threads(int) __attribute__((weak));

__attribute__((constructor)) static void lrnn_single_thread_blas(void) {
    if (!openblas_set_num_threads) return;
    openblas_set_num_threads(1);
}
