// make_qx_quants' trial sums (k-quant groups without a min: Q3_K, Q6_K), eight trial scales at a time, one per
// lane. Each lane does one trial's arithmetic in the order KQuantReferenceSearch.symmetricScale's SIMD8 loop does,
// so its sums, and the winner chosen from them, are bit for bit those of the Swift loop.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang fp contract(off)

__attribute__((target("avx2")))
void uqcit_avx2_symmetric_trial_sums(size_t n, int32_t nmax, const float *x, const float *weights, const float *iscales,
                                     float *sum_lx, float *sum_l2) {
    const __m256 iscale = _mm256_loadu_ps(iscales), magic = _mm256_set1_ps(12582912.0f);
    const __m256i mantissa = _mm256_set1_epi32(0x007FFFFF), offset = _mm256_set1_epi32(0x00400000);
    const __m256i lowest = _mm256_set1_epi32(-nmax), highest = _mm256_set1_epi32(nmax - 1);
    __m256 lx = _mm256_setzero_ps(), l2 = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i++) {
        // nearest_int lane by lane, clamped to -nmax...nmax - 1.
        const __m256i bits = _mm256_castps_si256(_mm256_add_ps(_mm256_mul_ps(iscale, _mm256_set1_ps(x[i])), magic));
        const __m256i nearest = _mm256_min_epi32(_mm256_max_epi32(_mm256_sub_epi32(_mm256_and_si256(bits, mantissa), offset), lowest), highest);
        const __m256 l = _mm256_cvtepi32_ps(nearest);
        const float w = weights ? weights[i] : x[i] * x[i];
        lx = _mm256_add_ps(lx, _mm256_mul_ps(_mm256_set1_ps(w * x[i]), l));
        l2 = _mm256_add_ps(l2, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(w), l), l));
    }
    _mm256_storeu_ps(sum_lx, lx);
    _mm256_storeu_ps(sum_l2, l2);
}
#else
void uqcit_avx2_symmetric_trial_sums(size_t n, int32_t nmax, const float *x, const float *weights, const float *iscales,
                                     float *sum_lx, float *sum_l2) {
    (void)n; (void)nmax; (void)x; (void)weights; (void)iscales; (void)sum_lx; (void)sum_l2;
}
#endif
