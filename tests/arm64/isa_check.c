/* The int8 instructions XNNPACK's GEMM kernels use, checked against plain C on random data:
 * NEON SDOT (FEAT_DotProd), NEON SMMLA/UMMLA/USMMLA (FEAT_I8MM), SVE SDOT and SVE SMMLA.
 * Built and run inside the arm64 root by .ci/arm64/max-cpu.sh under each QEMU_CPU, to tell an
 * emulation fault (an instruction computes the wrong thing) from a kernel fault. Each check
 * runs only when the process was given the feature (AT_HWCAP/AT_HWCAP2).
 * gcc -O1 -march=armv8.6-a+i8mm+sve isa_check.c */
#include <arm_neon.h>
#include <arm_sve.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>

#define TRIALS 20000

static int8_t rnd8(void) { return (int8_t)(rand() & 0xff); }

/* d[i][j] += sum_k a[i][k] * b[j][k]: 2x8 by (2x8)^T, the MMLA semantics. */
static int check_mmla(const char *name, int usigned_a, int usigned_b,
                      int32x4_t (*op)(int32x4_t, uint8x16_t, uint8x16_t)) {
  int bad = 0;
  for (int t = 0; t < TRIALS; t++) {
    uint8_t a[16], b[16];
    int32_t acc[4], want[4], got[4];
    for (int i = 0; i < 16; i++) { a[i] = (uint8_t)rnd8(); b[i] = (uint8_t)rnd8(); }
    for (int i = 0; i < 4; i++) acc[i] = want[i] = rand() - RAND_MAX / 2;
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        for (int k = 0; k < 8; k++) {
          int x = usigned_a ? a[i * 8 + k] : (int8_t)a[i * 8 + k];
          int y = usigned_b ? b[j * 8 + k] : (int8_t)b[j * 8 + k];
          want[i * 2 + j] += x * y;
        }
    vst1q_s32(got, op(vld1q_s32(acc), vld1q_u8(a), vld1q_u8(b)));
    for (int i = 0; i < 4; i++) bad += got[i] != want[i];
  }
  printf("%-12s %s (%d of %d lanes wrong)\n", name, bad ? "WRONG" : "ok", bad, TRIALS * 4);
  return bad != 0;
}

static int32x4_t smmla(int32x4_t d, uint8x16_t a, uint8x16_t b) {
  return vmmlaq_s32(d, vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b));
}
static int32x4_t ummla(int32x4_t d, uint8x16_t a, uint8x16_t b) {
  return vreinterpretq_s32_u32(vmmlaq_u32(vreinterpretq_u32_s32(d), a, b));
}
static int32x4_t usmmla(int32x4_t d, uint8x16_t a, uint8x16_t b) {
  return vusmmlaq_s32(d, a, vreinterpretq_s8_u8(b));
}
/* SDOT: lane i += sum_k a[4i+k] * b[4i+k] */
static int32x4_t sdot(int32x4_t d, uint8x16_t a, uint8x16_t b) {
  return vdotq_s32(d, vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b));
}

static int check_sdot(void) {
  int bad = 0;
  for (int t = 0; t < TRIALS; t++) {
    uint8_t a[16], b[16];
    int32_t acc[4], want[4], got[4];
    for (int i = 0; i < 16; i++) { a[i] = (uint8_t)rnd8(); b[i] = (uint8_t)rnd8(); }
    for (int i = 0; i < 4; i++) {
      acc[i] = want[i] = rand() - RAND_MAX / 2;
      for (int k = 0; k < 4; k++) want[i] += (int8_t)a[4 * i + k] * (int8_t)b[4 * i + k];
    }
    vst1q_s32(got, sdot(vld1q_s32(acc), vld1q_u8(a), vld1q_u8(b)));
    for (int i = 0; i < 4; i++) bad += got[i] != want[i];
  }
  printf("%-12s %s (%d of %d lanes wrong)\n", "neon sdot", bad ? "WRONG" : "ok", bad, TRIALS * 4);
  return bad != 0;
}

/* SVE: the same per 128-bit segment, at whatever vector length the process has. */
static int check_sve(int mmla) {
  int n = (int)svcntb(), bad = 0;
  int8_t *a = malloc(n), *b = malloc(n);
  int32_t *acc = malloc(n), *got = malloc(n);
  for (int t = 0; t < TRIALS / 4; t++) {
    for (int i = 0; i < n; i++) { a[i] = rnd8(); b[i] = rnd8(); }
    for (int i = 0; i < n / 4; i++) acc[i] = rand() - RAND_MAX / 2;
    svbool_t all = svptrue_b8();
    svint32_t d = svld1_s32(svptrue_b32(), acc);
    svint8_t va = svld1_s8(all, a), vb = svld1_s8(all, b);
    svst1_s32(svptrue_b32(), got, mmla ? svmmla_s32(d, va, vb) : svdot_s32(d, va, vb));
    for (int s = 0; s < n / 16; s++) {
      const int8_t *sa = a + 16 * s, *sb = b + 16 * s;
      for (int i = 0; i < 4; i++) {
        int32_t want = acc[4 * s + i];
        for (int k = 0; k < (mmla ? 8 : 4); k++)
          want += mmla ? sa[(i / 2) * 8 + k] * sb[(i % 2) * 8 + k] : sa[4 * i + k] * sb[4 * i + k];
        bad += got[4 * s + i] != want;
      }
    }
  }
  printf("%-12s %s (%d wrong; vector length %d bits)\n", mmla ? "sve smmla" : "sve sdot",
         bad ? "WRONG" : "ok", bad, n * 8);
  return bad != 0;
}

int main(void) {
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  int bad = 0;
  srand(1);
  if (hw & HWCAP_ASIMDDP) bad |= check_sdot();
  if (hw2 & HWCAP2_I8MM) {
    bad |= check_mmla("neon smmla", 0, 0, smmla);
    bad |= check_mmla("neon ummla", 1, 1, ummla);
    bad |= check_mmla("neon usmmla", 1, 0, usmmla);
  }
  if (hw & HWCAP_SVE) {
    bad |= check_sve(0);
    if (hw2 & HWCAP2_I8MM) bad |= check_sve(1);
  }
  return bad;
}
