// Q4_0 (block_q4_0: an f16 scale d, then 16 bytes of nibble pairs, q[j] low and q[j + 16] high) by llama.cpp's
// reference rule: d = m / -8 for m the first weight of largest magnitude, q = min(15, trunc(x / d + 8.5)).
// Bit for bit GGMLQ4_0.referencePlain: the same float operations in the same order (no contraction into FMA),
// C's truncation as cvttps2dq (what the Swift loop compiles to), a code's byte truncated like UInt8(truncatingIfNeeded:).
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include "lanes.h"

#pragma clang fp contract(off)

__attribute__((target("avx2,f16c")))
static inline __m128i low_bytes(__m256i v) { // eight int32 in 0...255 -> eight int16
    return _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

// The first weight of largest magnitude among 32 whose largest magnitude is amax (+0 when that is not above 0):
// the scalar loop's `max`.
__attribute__((target("avx2,f16c")))
static inline float first_of_largest_magnitude(const float *x, float amax) {
    if (!(amax > 0.0f)) return 0.0f;
    const __m256 sign = _mm256_set1_ps(-0.0f), t = _mm256_set1_ps(amax);
    uint32_t first = 0;
    for (int k = 0; k < 4; k++) {
        first |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), t, _CMP_EQ_OQ)) << (8 * k);
    }
    return x[__builtin_ctz(first)];
}

// The nibble pairs of the 32 weights at x for the inverse scale id, as the block stores them.
__attribute__((target("avx2,f16c")))
static inline __m128i nibble_pairs(const float *x, __m256 id) {
    const __m256 half = _mm256_set1_ps(8.5f);
    const __m256i fifteen = _mm256_set1_epi32(15), byte = _mm256_set1_epi32(0xFF);
    __m256i q[4];
    for (int k = 0; k < 4; k++) q[k] = _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id), half)), fifteen);
    const __m256i b0 = _mm256_and_si256(_mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4)), byte);
    const __m256i b1 = _mm256_and_si256(_mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4)), byte);
    return _mm_packus_epi16(low_bytes(b0), low_bytes(b1));
}

__attribute__((target("avx2,f16c")))
static inline void quantize_block(const float *x, uint8_t *out) {
    const float d = first_of_largest_magnitude(x, largest_lane(largest_magnitudes(x))) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(d, out);
    _mm_storeu_si128((__m128i *)(out + 2), nibble_pairs(x, _mm256_set1_ps(id)));
}

// Eight blocks, their scales found side by side (lane j for block j) with the same float operations as one
// block's, so the same bytes: one block at a time, the scalar steps between the vector ones bounded the loop.
__attribute__((target("avx2,f16c")))
static inline void quantize_eight_blocks(const float *x, uint8_t *out) {
    __m256 m[8];
    for (int j = 0; j < 8; j++) m[j] = largest_magnitudes(x + 32 * j);
    float amax[8], max[8];
    _mm256_storeu_ps(amax, largest_lanes_of_eight(m));
    for (int j = 0; j < 8; j++) max[j] = first_of_largest_magnitude(x + 32 * j, amax[j]);
    const __m256 d = _mm256_div_ps(_mm256_loadu_ps(max), _mm256_set1_ps(-8.0f));
    uint16_t scale[8];
    float inverse[8];
    scales_of_eight(d, scale, inverse);
    for (int j = 0; j < 8; j++, x += 32, out += 18) {
        memcpy(out, &scale[j], 2);
        _mm_storeu_si128((__m128i *)(out + 2), nibble_pairs(x, _mm256_set1_ps(inverse[j])));
    }
}

__attribute__((target("avx2,f16c")))
void uqcit_avx2_q4_0_quantize(const float *x, size_t blocks, uint8_t *out) {
    size_t b = 0;
    for (; b + 8 <= blocks; b += 8) quantize_eight_blocks(x + 32 * b, out + 18 * b);
    for (; b < blocks; b++) quantize_block(x + 32 * b, out + 18 * b);
}

#else
void uqcit_avx2_q4_0_quantize(const float *x, size_t blocks, uint8_t *out) { (void)x; (void)blocks; (void)out; }
#endif
