// Hot loops of the GGUF paths in AVX2, chosen at run time. The Swift Kernels target is built for baseline x86-64,
// where these loops did not vectorize (or ran their SIMD8 lanes as two SSE halves) and a Q4_0 job ran at under half
// of llama-quantize's speed. Each function gives exactly the bytes of the Swift loop it stands in for
// (GGMLQ4_0.referencePlain, GGMLQ8_0.quantizeReference, ErrorSums.of over a decoded tile, GGMLBF16.dequantizeRow
// then NonFinite, the k-quant searches), so the output never depends on the machine; callers ask
// uqcit_avx2_available() first and keep the Swift loop otherwise.
#ifndef UQCIT_KERNELS_AVX2_H
#define UQCIT_KERNELS_AVX2_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU runs the functions below (AVX2 and F16C), else 0 (and on other architectures).
int uqcit_avx2_available(void);

/// `blocks` Q4_0 blocks (32 floats in, 18 bytes out each) as llama.cpp's quantize_row_q4_0_ref writes them.
void uqcit_avx2_q4_0_quantize(const float *x, size_t blocks, uint8_t *out);

/// `blocks` Q8_0 blocks (32 floats in, 34 bytes out each) as llama.cpp's quantize_row_q8_0_ref writes them.
void uqcit_avx2_q8_0_quantize(const float *x, size_t blocks, uint8_t *out);

/// ErrorSums.of(x, y) (Σx², Σ(x - y)², max |x - y|, summed in its order) for y the dequantization of `count`
/// weights (whole blocks) of Q4_0 or Q8_0 blocks, without writing y. Running sums: added to what the three
/// outputs hold (zeros for one call over a whole tile).
void uqcit_avx2_q4_0_error_sums(const float *x, const uint8_t *blocks, size_t count, double *source, double *error, float *max_abs);
void uqcit_avx2_q8_0_error_sums(const float *x, const uint8_t *blocks, size_t count, double *source, double *error, float *max_abs);

/// Widens `count` little-endian bf16 values to floats; returns 1 when any is a NaN or an infinity, else 0.
int uqcit_avx2_bf16_widen(const uint16_t *bf16, size_t count, float *out);

/// KQuantReferenceSearch.affineScale for eight groups of n <= 32 weights, group j at x + n·j and weights + n·j, one
/// per lane: its codes to codes + n·j, its scale and its negated min to scales[j] and negated_mins[j].
void uqcit_avx2_affine_groups(size_t n, float nmax, const float *x, const float *weights, float rmin, float rdelta,
                              int nstep, int absolute, uint8_t *codes, float *scales, float *negated_mins);

/// KQuantReferenceSearch.symmetricScale (make_qx_quants) for eight groups of n <= 32 weights, group j at x + n·j
/// weighted by weights + n·j (by x² where `weights` is NULL), one per lane: its codes plus nmax to codes + n·j, its
/// scale to scales[j].
void uqcit_avx2_symmetric_groups(size_t n, int32_t nmax, const float *x, const float *weights, int8_t *codes, float *scales);

/// KQuantSearch.subBlockError: Σw(a·q - b - x)² over n weights (a multiple of 8), q the nearest code to (x + b) / a
/// in lo...hi, written to `codes` unless it is NULL.
float uqcit_avx2_sub_block_error(const float *x, const float *w, size_t n, float a, float b, float lo, float hi, float *codes);

/// KQuantSearch.subBlockStep for one sub-block of n weights (a multiple of 8): `codes`, `scale` and `min` in and out.
void uqcit_avx2_sub_block_step(const float *x, const float *w, size_t n, float *codes, float *scale, float *min,
                               float d, float dmin, float lo, float hi, float scale_lo, float scale_hi,
                               float min_lo, float min_hi, int has_mins);

#endif
