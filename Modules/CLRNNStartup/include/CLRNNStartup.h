// Process-start fix-up of OpenBLAS's kernel selection (see CoreSelection.c).
#pragma once

/// The core OpenBLAS had chosen before LinearRNN replaced it at process start (e.g. "Prescott"),
/// or NULL when OpenBLAS's own choice was kept.
const char *lrnn_replaced_blas_core(void);


/// Copies `count` floats from `src` to `dst` (not overlapping) with non-temporal stores where the
/// CPU has them (x86-64), so that writing a buffer larger than the caches does not first read each
/// destination line; a plain copy elsewhere. Ends with a store fence.
void lrnn_stream_copy_f32(float *dst, const float *src, long count);

/// The `double` form of `lrnn_stream_copy_f32`.
void lrnn_stream_copy_f64(double *dst, const double *src, long count);

/// Copies `rows` rows of `count` floats (row r from `src + r·lds` to `dst + r·ldd`) with
/// non-temporal stores, then one store fence.
void lrnn_stream_copy_rows_f32(float *dst, long ldd, const float *src, long lds, long rows, long count);

/// The `double` form of `lrnn_stream_copy_rows_f32`.
void lrnn_stream_copy_rows_f64(double *dst, long ldd, const double *src, long lds, long rows, long count);
