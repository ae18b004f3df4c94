// ErrorSums.of(x, y) for y the dequantization of whole blocks, without writing y: eight float lanes over runs of
// 4096 weights (ErrorSums.run), each run's lanes summed first to last from -0 as Swift's SIMD8<Float>.sum() does
// and added in double; max |x - y| kept lane by lane where strictly larger. The sums run on from what *source,
// *error and *max_abs hold, so a tile measured in pieces of whole 4096-weight runs gets the bits of one call.
// The decoders are dequantize_row_q4_0 and dequantize_row_q8_0 (code times the f16 scale, widened by F16C as
// GGMLF16.decode does), so the sums are the Swift ones bit for bit.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include "lanes.h"

#pragma clang fp contract(off)

// Q4_0: (q - 8)·d, weights 0-15 from the low nibbles, 16-31 from the high.
__attribute__((target("avx2,f16c")))
static inline void decode_q4_0(const uint8_t *block, __m256 y[4]) {
    const __m256 d = load_f16_scale(block);
    const __m128i qs = _mm_loadu_si128((const __m128i *)(block + 2)), low = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(qs, low), eight), hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(qs, 4), low), eight);
    const __m128i codes[4] = { lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8) };
    for (int k = 0; k < 4; k++) y[k] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(codes[k])), d);
}

// Q8_0: q·d for 32 signed bytes.
__attribute__((target("avx2,f16c")))
static inline void decode_q8_0(const uint8_t *block, __m256 y[4]) {
    const __m256 d = load_f16_scale(block);
    for (int k = 0; k < 4; k++) {
        const __m128i codes = _mm_loadl_epi64((const __m128i *)(block + 2 + 8 * k));
        y[k] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(codes)), d);
    }
}

__attribute__((target("avx2,f16c")))
static inline void error_sums(const float *x, const uint8_t *blocks, size_t block_bytes, size_t count,
                              void (*decode)(const uint8_t *, __m256 *), double *source, double *error, float *max_abs) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    double source_sum = *source, error_sum = *error;
    __m256 largest = _mm256_setzero_ps();
    for (size_t start = 0; start < count; start += 4096) {
        const size_t end = count - start < 4096 ? count : start + 4096;
        __m256 s = _mm256_setzero_ps(), e = _mm256_setzero_ps();
        for (size_t i = start; i < end; i += 32) {
            __m256 y[4];
            decode(blocks + block_bytes * (i / 32), y);
            for (int k = 0; k < 4; k++) {
                const __m256 a = _mm256_loadu_ps(x + i + 8 * k), r = _mm256_sub_ps(a, y[k]);
                s = _mm256_add_ps(s, _mm256_mul_ps(a, a));
                e = _mm256_add_ps(e, _mm256_mul_ps(r, r));
                const __m256 magnitude = _mm256_andnot_ps(sign, r);
                largest = _mm256_blendv_ps(largest, magnitude, _mm256_cmp_ps(largest, magnitude, _CMP_LT_OQ));
            }
        }
        source_sum += (double)sum_in_order(s);
        error_sum += (double)sum_in_order(e);
    }
    float lanes[8], m = *max_abs;
    _mm256_storeu_ps(lanes, largest);
    for (int k = 0; k < 8; k++) m = lanes[k] > m ? lanes[k] : m;
    *source = source_sum; *error = error_sum; *max_abs = m;
}

__attribute__((target("avx2,f16c")))
void uqcit_avx2_q4_0_error_sums(const float *x, const uint8_t *blocks, size_t count, double *source, double *error, float *max_abs) {
    error_sums(x, blocks, 18, count, decode_q4_0, source, error, max_abs);
}

__attribute__((target("avx2,f16c")))
void uqcit_avx2_q8_0_error_sums(const float *x, const uint8_t *blocks, size_t count, double *source, double *error, float *max_abs) {
    error_sums(x, blocks, 34, count, decode_q8_0, source, error, max_abs);
}
#else
void uqcit_avx2_q4_0_error_sums(const float *x, const uint8_t *blocks, size_t count, double *source, double *error, float *max_abs) {
    (void)x; (void)blocks; (void)count; (void)source; (void)error; (void)max_abs;
}
void uqcit_avx2_q8_0_error_sums(const float *x, const uint8_t *blocks, size_t count, double *source, double *error, float *max_abs) {
    (void)x; (void)blocks; (void)count; (void)source; (void)error; (void)max_abs;
}
#endif
