/*
** kernel_avx512_pw.c -- AVX-512F, the pointwise shape (oscpx.h): 1x1 stages of
** stride 1 without padding, each channel's plane read and written as one
** run of pixels (16 to a vector, no lane idle but in the run's last
** vector), with the instructions of kernel_avx512_px.c (its loads, multiply-
** adds, and its store, which holds the bias, the residual and the activation).
*/
#include "oscpx.h"

OSC_PX_STAGE_KERNEL(avx512, pw, osc_px_avx512, OSC_ISA_AVX512, 1);
