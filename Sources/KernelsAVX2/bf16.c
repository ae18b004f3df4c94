// bf16 widened to binary32 (a shift by 16, as GGMLBF16.dequantizeRow), with the non-finite check folded into the
// same pass: a bf16 is NaN or infinite exactly when its exponent (0x7F80) is all ones, as the float it widens to.
#include "KernelsAVX2.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,f16c")))
int uqcit_avx2_bf16_widen(const uint16_t *bf16, size_t count, float *out) {
    const __m128i exponent = _mm_set1_epi16(0x7F80);
    __m128i seen = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m128i h = _mm_loadu_si128((const __m128i *)(bf16 + i));
        seen = _mm_or_si128(seen, _mm_cmpeq_epi16(_mm_and_si128(h, exponent), exponent));
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    int nonFinite = !_mm_testz_si128(seen, seen);
    for (; i < count; i++) {
        const uint32_t bits = (uint32_t)bf16[i] << 16;
        __builtin_memcpy(out + i, &bits, 4);
        nonFinite |= (bf16[i] & 0x7F80) == 0x7F80;
    }
    return nonFinite;
}
#else
int uqcit_avx2_bf16_widen(const uint16_t *bf16, size_t count, float *out) { (void)bf16; (void)count; (void)out; return 0; }
#endif
