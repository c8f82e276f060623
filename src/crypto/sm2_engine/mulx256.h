// Internal to the SM2 engine: 256 x 256 -> 512-bit multiplication and squaring with the
// BMI2/ADX instructions (MULX, ADCX, ADOX), and the Montgomery reductions that follow them for
// p and n. Only called when the CPU has both extensions (FieldUsesAdx() in fp.h checks CPUID
// once at start-up); the portable __int128 code in mont256.h / fp.h stays the reference and
// the fallback, and the tests compare the two on the same inputs.
//
// Inline assembly rather than _mulx_u64 / _addcarryx_u64: GCC does not keep the two
// independent carry chains (CF for ADCX, OF for ADOX) apart, so the intrinsics compile to the
// same single adc chain as the portable code. Inline assembly also inlines into callers built
// without -mbmi2 -madx (the instructions are only executed after the CPUID check).
//
// Constant time: straight-line code, no branch and no memory index depends on the operands;
// MULX/ADCX/ADOX run in data-independent time.
#pragma once

#include "crypto/sm2_engine/mont256.h"

// AddressSanitizer builds take the portable path: the instrumentation leaves the register-only
// blocks below too few registers at -O3 and their results were wrong there.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__SANITIZE_ADDRESS__)
#define GMPKI_SM2_HAVE_ADX_ASM 1
#endif

// How the assembly blocks tell the compiler which memory they read and write. Optimised builds
// name the exact operands ("m"), so the compiler may keep everything else in registers; at -O0
// every "m" operand takes a register of its own, which the register-hungry blocks below cannot
// spare, so unoptimised builds use a "memory" clobber instead.
#if defined(__OPTIMIZE__)
#define GMPKI_SM2_MEM_OUT(p, n) , "=m"(*reinterpret_cast<u64(*)[n]>(p))
#define GMPKI_SM2_MEM_IN(p, n) , "m"(*reinterpret_cast<const u64(*)[n]>(p))
#define GMPKI_SM2_MEM_CLOBBER
#else
#define GMPKI_SM2_MEM_OUT(p, n)
#define GMPKI_SM2_MEM_IN(p, n)
#define GMPKI_SM2_MEM_CLOBBER , "memory"
#endif

namespace gmpki::crypto::sm2_engine {

#if defined(GMPKI_SM2_HAVE_ADX_ASM)

// t = a * b (8 limbs). Operand scanning: row i adds a * b[i] into a five-limb window, the low
// halves of the products through the OF chain and the high halves through the CF chain.
inline void Mul512Adx(u64 t[8], const U256& a, const U256& b) {
  u64 r0, r1, r2, r3, r4, lo, hi, z;
  asm("movq 0(%[b]), %%rdx\n\t"
      "mulxq 0(%[a]), %[r0], %[r1]\n\t"
      "mulxq 8(%[a]), %[lo], %[r2]\n\t"
      "addq %[lo], %[r1]\n\t"
      "mulxq 16(%[a]), %[lo], %[r3]\n\t"
      "adcq %[lo], %[r2]\n\t"
      "mulxq 24(%[a]), %[lo], %[r4]\n\t"
      "adcq %[lo], %[r3]\n\t"
      "adcq $0, %[r4]\n\t"
      "movq %[r0], 0(%[t])\n\t"
      // Row 1: window r1 r2 r3 r4, new top r0.
      "movq 8(%[b]), %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r1]\n\t"
      "adcxq %[hi], %[r2]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r2]\n\t"
      "adcxq %[hi], %[r3]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r3]\n\t"
      "adcxq %[hi], %[r4]\n\t"
      "mulxq 24(%[a]), %[lo], %[r0]\n\t"
      "adoxq %[lo], %[r4]\n\t"
      "adcxq %[z], %[r0]\n\t"
      "adoxq %[z], %[r0]\n\t"
      "movq %[r1], 8(%[t])\n\t"
      // Row 2: window r2 r3 r4 r0, new top r1.
      "movq 16(%[b]), %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r2]\n\t"
      "adcxq %[hi], %[r3]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r3]\n\t"
      "adcxq %[hi], %[r4]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r4]\n\t"
      "adcxq %[hi], %[r0]\n\t"
      "mulxq 24(%[a]), %[lo], %[r1]\n\t"
      "adoxq %[lo], %[r0]\n\t"
      "adcxq %[z], %[r1]\n\t"
      "adoxq %[z], %[r1]\n\t"
      "movq %[r2], 16(%[t])\n\t"
      // Row 3: window r3 r4 r0 r1, new top r2.
      "movq 24(%[b]), %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r3]\n\t"
      "adcxq %[hi], %[r4]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r4]\n\t"
      "adcxq %[hi], %[r0]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[r0]\n\t"
      "adcxq %[hi], %[r1]\n\t"
      "mulxq 24(%[a]), %[lo], %[r2]\n\t"
      "adoxq %[lo], %[r1]\n\t"
      "adcxq %[z], %[r2]\n\t"
      "adoxq %[z], %[r2]\n\t"
      "movq %[r3], 24(%[t])\n\t"
      "movq %[r4], 32(%[t])\n\t"
      "movq %[r0], 40(%[t])\n\t"
      "movq %[r1], 48(%[t])\n\t"
      "movq %[r2], 56(%[t])\n\t"
      : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [r4] "=&r"(r4),
        [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(z) GMPKI_SM2_MEM_OUT(t, 8)
      : [a] "r"(a.v), [b] "r"(b.v), [t] "r"(t) GMPKI_SM2_MEM_IN(a.v, 4) GMPKI_SM2_MEM_IN(b.v, 4)
      : "rdx", "cc" GMPKI_SM2_MEM_CLOBBER);
}

// t = a^2 (8 limbs): the six cross products once, doubled, plus the four squares.
inline void Sqr512Adx(u64 t[8], const U256& a) {
  u64 t1, t2, t3, t4, t5, t6, t7, lo, hi;
  asm("movq 0(%[a]), %%rdx\n\t"
      "mulxq 8(%[a]), %[t1], %[t2]\n\t"   // a0 a1
      "mulxq 16(%[a]), %[lo], %[t3]\n\t"  // a0 a2
      "addq %[lo], %[t2]\n\t"
      "mulxq 24(%[a]), %[lo], %[t4]\n\t"  // a0 a3
      "adcq %[lo], %[t3]\n\t"
      "adcq $0, %[t4]\n\t"
      "movq 8(%[a]), %%rdx\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"  // a1 a2
      "mulxq 24(%[a]), %[t6], %[t5]\n\t"  // a1 a3 (lo in t6 for now)
      "addq %[t6], %[hi]\n\t"
      "adcq $0, %[t5]\n\t"
      "addq %[lo], %[t3]\n\t"
      "adcq %[hi], %[t4]\n\t"
      "adcq $0, %[t5]\n\t"
      "movq 16(%[a]), %%rdx\n\t"
      "mulxq 24(%[a]), %[lo], %[t6]\n\t"  // a2 a3
      "addq %[lo], %[t5]\n\t"
      "adcq $0, %[t6]\n\t"
      // Double the cross products; the bit shifted out lands in t7.
      "xorl %k[t7], %k[t7]\n\t"
      "addq %[t1], %[t1]\n\t"
      "adcq %[t2], %[t2]\n\t"
      "adcq %[t3], %[t3]\n\t"
      "adcq %[t4], %[t4]\n\t"
      "adcq %[t5], %[t5]\n\t"
      "adcq %[t6], %[t6]\n\t"
      "adcq $0, %[t7]\n\t"
      // Add the squares a_i^2 at limbs 2i, 2i+1.
      "movq 0(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "movq %[lo], 0(%[t])\n\t"
      "addq %[hi], %[t1]\n\t"
      "movq 8(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcq %[lo], %[t2]\n\t"
      "adcq %[hi], %[t3]\n\t"
      "movq 16(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcq %[lo], %[t4]\n\t"
      "adcq %[hi], %[t5]\n\t"
      "movq 24(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcq %[lo], %[t6]\n\t"
      "adcq %[hi], %[t7]\n\t"
      "movq %[t1], 8(%[t])\n\t"
      "movq %[t2], 16(%[t])\n\t"
      "movq %[t3], 24(%[t])\n\t"
      "movq %[t4], 32(%[t])\n\t"
      "movq %[t5], 40(%[t])\n\t"
      "movq %[t6], 48(%[t])\n\t"
      "movq %[t7], 56(%[t])\n\t"
      : [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5),
        [t6] "=&r"(t6), [t7] "=&r"(t7), [lo] "=&r"(lo), [hi] "=&r"(hi) GMPKI_SM2_MEM_OUT(t, 8)
      : [a] "r"(a.v), [t] "r"(t) GMPKI_SM2_MEM_IN(a.v, 4)
      : "rdx", "cc" GMPKI_SM2_MEM_CLOBBER);
}


// r = a * b * 2^-256 mod p entirely in registers (BMI2/ADX): each row adds a * b[i] to a
// five-limb window (low product halves on the OF chain, high halves on the CF chain), then one
// reduction step for p (quotient digit m = low limb, n0 = 1; m*p / 2^64 folded in as
// + m at limbs 0 and 3, - (m << 32) at limbs 0 and 2, - (m >> 32) at limbs 1 and 3, the
// identity of MontMulP), and a final subtraction of p by cmov. The window never exceeds
// 2^321 and the result before the subtraction is below 2p (CIOS bound). The instruction text
// is generated (rotating register roles); tests compare it with the portable code.
inline void MontMulPAsm(U256& r, const U256& a, const U256& b) {
  u64 t0, t1, t2, t3, t4, t5, lo, hi, z;
  asm("movq 0(%[b]), %%rdx\n\t"
      "mulxq 0(%[a]), %[t0], %[t1]\n\t"
      "mulxq 8(%[a]), %[lo], %[t2]\n\t"
      "addq %[lo], %[t1]\n\t"
      "mulxq 16(%[a]), %[lo], %[t3]\n\t"
      "adcq %[lo], %[t2]\n\t"
      "mulxq 24(%[a]), %[lo], %[t4]\n\t"
      "adcq %[lo], %[t3]\n\t"
      "adcq $0, %[t4]\n\t"
      "xorl %k[t5], %k[t5]\n\t"
      "movq %[t0], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t0], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t0], %[t1]\n\t"
      "adcq $0, %[t2]\n\t"
      "adcq $0, %[t3]\n\t"
      "adcq %[t0], %[t4]\n\t"
      "adcq $0, %[t5]\n\t"
      "subq %[lo], %[t1]\n\t"
      "sbbq %[hi], %[t2]\n\t"
      "sbbq %[lo], %[t3]\n\t"
      "sbbq %[hi], %[t4]\n\t"
      "sbbq $0, %[t5]\n\t"
      "movq 8(%[b]), %%rdx\n\t"
      "xorl %k[t0], %k[t0]\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t1]\n\t"
      "adcxq %[hi], %[t2]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t2]\n\t"
      "adcxq %[hi], %[t3]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq 24(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[hi], %[t5]\n\t"
      "adoxq %[z], %[t5]\n\t"
      "adcxq %[z], %[t0]\n\t"
      "adoxq %[z], %[t0]\n\t"
      "movq %[t1], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t1], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t1], %[t2]\n\t"
      "adcq $0, %[t3]\n\t"
      "adcq $0, %[t4]\n\t"
      "adcq %[t1], %[t5]\n\t"
      "adcq $0, %[t0]\n\t"
      "subq %[lo], %[t2]\n\t"
      "sbbq %[hi], %[t3]\n\t"
      "sbbq %[lo], %[t4]\n\t"
      "sbbq %[hi], %[t5]\n\t"
      "sbbq $0, %[t0]\n\t"
      "movq 16(%[b]), %%rdx\n\t"
      "xorl %k[t1], %k[t1]\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t2]\n\t"
      "adcxq %[hi], %[t3]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[hi], %[t5]\n\t"
      "mulxq 24(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t5]\n\t"
      "adcxq %[hi], %[t0]\n\t"
      "adoxq %[z], %[t0]\n\t"
      "adcxq %[z], %[t1]\n\t"
      "adoxq %[z], %[t1]\n\t"
      "movq %[t2], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t2], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t2], %[t3]\n\t"
      "adcq $0, %[t4]\n\t"
      "adcq $0, %[t5]\n\t"
      "adcq %[t2], %[t0]\n\t"
      "adcq $0, %[t1]\n\t"
      "subq %[lo], %[t3]\n\t"
      "sbbq %[hi], %[t4]\n\t"
      "sbbq %[lo], %[t5]\n\t"
      "sbbq %[hi], %[t0]\n\t"
      "sbbq $0, %[t1]\n\t"
      "movq 24(%[b]), %%rdx\n\t"
      "xorl %k[t2], %k[t2]\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[hi], %[t5]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t5]\n\t"
      "adcxq %[hi], %[t0]\n\t"
      "mulxq 24(%[a]), %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t0]\n\t"
      "adcxq %[hi], %[t1]\n\t"
      "adoxq %[z], %[t1]\n\t"
      "adcxq %[z], %[t2]\n\t"
      "adoxq %[z], %[t2]\n\t"
      "movq %[t3], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t3], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t3], %[t4]\n\t"
      "adcq $0, %[t5]\n\t"
      "adcq $0, %[t0]\n\t"
      "adcq %[t3], %[t1]\n\t"
      "adcq $0, %[t2]\n\t"
      "subq %[lo], %[t4]\n\t"
      "sbbq %[hi], %[t5]\n\t"
      "sbbq %[lo], %[t0]\n\t"
      "sbbq %[hi], %[t1]\n\t"
      "sbbq $0, %[t2]\n\t"
      "movq %[t4], %[lo]\n\t"
      "movq %[t5], %[hi]\n\t"
      "movq %[t0], %[t3]\n\t"
      "movq %[t1], %[z]\n\t"
      "subq $-1, %[lo]\n\t"
      "movabsq $0xffffffff00000000, %%rdx\n\t"
      "sbbq %%rdx, %[hi]\n\t"
      "sbbq $-1, %[t3]\n\t"
      "movabsq $0xfffffffeffffffff, %%rdx\n\t"
      "sbbq %%rdx, %[z]\n\t"
      "sbbq $0, %[t2]\n\t"
      "cmovcq %[t4], %[lo]\n\t"
      "cmovcq %[t5], %[hi]\n\t"
      "cmovcq %[t0], %[t3]\n\t"
      "cmovcq %[t1], %[z]\n\t"
      "movq %[lo], 0(%[r])\n\t"
      "movq %[hi], 8(%[r])\n\t"
      "movq %[t3], 16(%[r])\n\t"
      "movq %[z], 24(%[r])\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
        [t5] "=&r"(t5), [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(z) GMPKI_SM2_MEM_OUT(r.v, 4)
      : [a] "r"(a.v), [b] "r"(b.v), [r] "r"(r.v) GMPKI_SM2_MEM_IN(a.v, 4) GMPKI_SM2_MEM_IN(b.v, 4)
      : "rdx", "cc" GMPKI_SM2_MEM_CLOBBER);
}

// r = a^2 * 2^-256 mod p in registers: the 512-bit square (cross products once, doubled, plus
// squares), four reduction steps on the low half as in RedcP512, plus the high half, minus p
// by cmov.
inline void MontSqrPAsm(U256& r, const U256& a) {
  u64 t0, t1, t2, t3, t4, t5, t6, t7, lo, hi;
  const u64* ap = a.v;
  asm("movq 0(%[a]), %%rdx\n\t"
      "mulxq 8(%[a]), %[t1], %[t2]\n\t"
      "mulxq 16(%[a]), %[lo], %[t3]\n\t"
      "addq %[lo], %[t2]\n\t"
      "mulxq 24(%[a]), %[lo], %[t4]\n\t"
      "adcq %[lo], %[t3]\n\t"
      "adcq $0, %[t4]\n\t"
      "movq 8(%[a]), %%rdx\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "mulxq 24(%[a]), %[t6], %[t5]\n\t"
      "addq %[t6], %[hi]\n\t"
      "adcq $0, %[t5]\n\t"
      "addq %[lo], %[t3]\n\t"
      "adcq %[hi], %[t4]\n\t"
      "adcq $0, %[t5]\n\t"
      "movq 16(%[a]), %%rdx\n\t"
      "mulxq 24(%[a]), %[lo], %[t6]\n\t"
      "addq %[lo], %[t5]\n\t"
      "adcq $0, %[t6]\n\t"
      "xorl %k[t7], %k[t7]\n\t"
      "addq %[t1], %[t1]\n\t"
      "adcq %[t2], %[t2]\n\t"
      "adcq %[t3], %[t3]\n\t"
      "adcq %[t4], %[t4]\n\t"
      "adcq %[t5], %[t5]\n\t"
      "adcq %[t6], %[t6]\n\t"
      "adcq $0, %[t7]\n\t"
      "movq 0(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[t0], %[hi]\n\t"
      "addq %[hi], %[t1]\n\t"
      "movq 8(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcq %[lo], %[t2]\n\t"
      "adcq %[hi], %[t3]\n\t"
      "movq 16(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcq %[lo], %[t4]\n\t"
      "adcq %[hi], %[t5]\n\t"
      "movq 24(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcq %[lo], %[t6]\n\t"
      "adcq %[hi], %[t7]\n\t"
      "xorl %k[a], %k[a]\n\t"
      "movq %[t0], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t0], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t0], %[t1]\n\t"
      "adcq $0, %[t2]\n\t"
      "adcq $0, %[t3]\n\t"
      "adcq %[t0], %[a]\n\t"
      "subq %[lo], %[t1]\n\t"
      "sbbq %[hi], %[t2]\n\t"
      "sbbq %[lo], %[t3]\n\t"
      "sbbq %[hi], %[a]\n\t"
      "xorl %k[t0], %k[t0]\n\t"
      "movq %[t1], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t1], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t1], %[t2]\n\t"
      "adcq $0, %[t3]\n\t"
      "adcq $0, %[a]\n\t"
      "adcq %[t1], %[t0]\n\t"
      "subq %[lo], %[t2]\n\t"
      "sbbq %[hi], %[t3]\n\t"
      "sbbq %[lo], %[a]\n\t"
      "sbbq %[hi], %[t0]\n\t"
      "xorl %k[t1], %k[t1]\n\t"
      "movq %[t2], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t2], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t2], %[t3]\n\t"
      "adcq $0, %[a]\n\t"
      "adcq $0, %[t0]\n\t"
      "adcq %[t2], %[t1]\n\t"
      "subq %[lo], %[t3]\n\t"
      "sbbq %[hi], %[a]\n\t"
      "sbbq %[lo], %[t0]\n\t"
      "sbbq %[hi], %[t1]\n\t"
      "xorl %k[t2], %k[t2]\n\t"
      "movq %[t3], %[lo]\n\t"
      "shlq $32, %[lo]\n\t"
      "movq %[t3], %[hi]\n\t"
      "shrq $32, %[hi]\n\t"
      "addq %[t3], %[a]\n\t"
      "adcq $0, %[t0]\n\t"
      "adcq $0, %[t1]\n\t"
      "adcq %[t3], %[t2]\n\t"
      "subq %[lo], %[a]\n\t"
      "sbbq %[hi], %[t0]\n\t"
      "sbbq %[lo], %[t1]\n\t"
      "sbbq %[hi], %[t2]\n\t"
      "xorl %k[t3], %k[t3]\n\t"
      "addq %[t4], %[a]\n\t"
      "adcq %[t5], %[t0]\n\t"
      "adcq %[t6], %[t1]\n\t"
      "adcq %[t7], %[t2]\n\t"
      "adcq $0, %[t3]\n\t"
      "movq %[a], %[t4]\n\t"
      "movq %[t0], %[t5]\n\t"
      "movq %[t1], %[t6]\n\t"
      "movq %[t2], %[t7]\n\t"
      "subq $-1, %[t4]\n\t"
      "movabsq $0xffffffff00000000, %%rdx\n\t"
      "sbbq %%rdx, %[t5]\n\t"
      "sbbq $-1, %[t6]\n\t"
      "movabsq $0xfffffffeffffffff, %%rdx\n\t"
      "sbbq %%rdx, %[t7]\n\t"
      "sbbq $0, %[t3]\n\t"
      "cmovcq %[a], %[t4]\n\t"
      "cmovcq %[t0], %[t5]\n\t"
      "cmovcq %[t1], %[t6]\n\t"
      "cmovcq %[t2], %[t7]\n\t"
      "movq %[t4], 0(%[r])\n\t"
      "movq %[t5], 8(%[r])\n\t"
      "movq %[t6], 16(%[r])\n\t"
      "movq %[t7], 24(%[r])\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
        [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7), [lo] "=&r"(lo), [hi] "=&r"(hi),
        [a] "+&r"(ap) GMPKI_SM2_MEM_OUT(r.v, 4)
      : [r] "r"(r.v) GMPKI_SM2_MEM_IN(a.v, 4)
      : "rdx", "cc" GMPKI_SM2_MEM_CLOBBER);
}

#endif  // GMPKI_SM2_HAVE_ADX_ASM

// r = t * 2^-256 mod p for a 512-bit t < p * 2^256 (a product of two reduced elements).
// Montgomery reduction of the low half alone, specialised to p as in MontMulP (fp.h): with
// n0 = 1 the quotient digit is the low limb m, and (s + m*p) / 2^64 is s / 2^64 plus
// A - B with A = m*2^192 + m, B = m*2^160 + m*2^32. Four rounds leave
// L = (t_lo + M*p) / 2^256 <= p in four limbs; r = t_hi + L - (p if that is >= p).
inline void RedcP512(U256& r, const u64 t[8]) {
  u64 s0 = t[0], s1 = t[1], s2 = t[2], s3 = t[3];
  for (int i = 0; i < 4; ++i) {
    const u64 m = s0, lo = m << 32, hi = m >> 32;
    unsigned char br = 0;  // A >= B, so the chain ends without a borrow
    const u64 d0 = Sbb(m, lo, br), d1 = Sbb(0, hi, br), d2 = Sbb(0, lo, br), d3 = Sbb(m, hi, br);
    unsigned char c = 0;
    s0 = Adc(s1, d0, c);
    s1 = Adc(s2, d1, c);
    s2 = Adc(s3, d2, c);
    s3 = Adc(0, d3, c);  // (s + m*p) / 2^64 < 2^192 + p < 2^256: no carry out
  }
  unsigned char c = 0;
  const U256 sum = {{Adc(t[4], s0, c), Adc(t[5], s1, c), Adc(t[6], s2, c), Adc(t[7], s3, c)}};
  SubtractIfAtLeast(r, sum, c, U256{{0xffffffffffffffffULL, 0xffffffff00000000ULL,
                                     0xffffffffffffffffULL, 0xfffffffeffffffffULL}});
}

// Generic Montgomery reduction r = t * 2^-256 mod M for t < M * 2^256, same low-half scheme
// with the quotient digit m = s0 * n0 (used for the group order n).
inline void Redc512(U256& r, const u64 t[8], const MontModulus& mod) {
  u64 s0 = t[0], s1 = t[1], s2 = t[2], s3 = t[3];
  for (int i = 0; i < 4; ++i) {
    const u64 m = s0 * mod.n0;
    u64 row[5];
    MulRow(row, mod.m.v, m);
    unsigned char c = 0;
    Adc(s0, row[0], c);  // zero by the choice of m; only the carry matters
    s0 = Adc(s1, row[1], c);
    s1 = Adc(s2, row[2], c);
    s2 = Adc(s3, row[3], c);
    s3 = Adc(0, row[4], c);  // (s + m*M) / 2^64 < 2^256: no carry out
  }
  unsigned char c = 0;
  const U256 sum = {{Adc(t[4], s0, c), Adc(t[5], s1, c), Adc(t[6], s2, c), Adc(t[7], s3, c)}};
  SubtractIfAtLeast(r, sum, c, mod.m);
}

}  // namespace gmpki::crypto::sm2_engine
