// Q4_0 (block_q4_0: an f16 scale d, then 16 bytes of nibble pairs, q[j] low and q[j + 16] high) by llama.cpp's
// reference rule: d = m / -8 for m the first weight of largest magnitude, q = min(15, trunc(x / d + 8.5)).
// Bit for bit GGMLQ4_0.referencePlain: the same float operations in the same order (no contraction into FMA),
// C's truncation as cvttps2dq (what the Swift loop compiles to), a code's byte truncated like UInt8(truncatingIfNeeded:).
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include "lanes.h"

#pragma clang fp contract(off)

__attribute__((target("avx2,f16c")))
static inline uint32_t equal_mask(__m256 a, __m256 b) {
    return (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_EQ_OQ));
}

__attribute__((target("avx2,f16c")))
static inline __m128i low_bytes(__m256i v) { // eight int32 in 0...255 -> eight int16
    return _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

__attribute__((target("avx2,f16c")))
void uqcit_avx2_q4_0_quantize(const float *x, size_t blocks, uint8_t *out) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(8.5f);
    const __m256i fifteen = _mm256_set1_epi32(15), byte = _mm256_set1_epi32(0xFF);
    for (size_t b = 0; b < blocks; b++, x += 32, out += 18) {
        __m256 v[4], a[4];
        for (int k = 0; k < 4; k++) { v[k] = _mm256_loadu_ps(x + 8 * k); a[k] = _mm256_andnot_ps(sign, v[k]); }
        // max_ps returns its second operand when the first is NaN: NaNs never win, as in the scalar `amax < |x|`.
        __m256 m = _mm256_max_ps(a[0], _mm256_setzero_ps());
        for (int k = 1; k < 4; k++) m = _mm256_max_ps(a[k], m);
        const float amax = largest_lane(m);
        float max = 0.0f; // the scalar loop keeps +0 when no magnitude exceeds 0
        if (amax > 0.0f) {
            const __m256 t = _mm256_set1_ps(amax);
            const uint32_t first = equal_mask(a[0], t) | equal_mask(a[1], t) << 8 | equal_mask(a[2], t) << 16 | equal_mask(a[3], t) << 24;
            max = x[__builtin_ctz(first)];
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_f16(d, out);
        const __m256 idv = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(v[k], idv), half)), fifteen);
        const __m256i b0 = _mm256_and_si256(_mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4)), byte);
        const __m256i b1 = _mm256_and_si256(_mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4)), byte);
        _mm_storeu_si128((__m128i *)(out + 2), _mm_packus_epi16(low_bytes(b0), low_bytes(b1)));
    }
}

#else
void uqcit_avx2_q4_0_quantize(const float *x, size_t blocks, uint8_t *out) { (void)x; (void)blocks; (void)out; }
#endif
