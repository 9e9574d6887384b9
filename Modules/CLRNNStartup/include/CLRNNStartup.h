// Process-start fix-up of OpenBLAS's kernel selection (see CoreSelection.c).
#pragma once

/// The core OpenBLAS had chosen before LinearRNN replaced it at process start (e.g. "Prescott"),
/// or NULL when OpenBLAS's own choice was kept.
const char *lrnn_replaced_blas_core(void);

