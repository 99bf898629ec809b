/*
** kernel_avx2_pw.c -- AVX2 + FMA, the pointwise shape (oscpx.h): 1x1 stages of
** stride 1 without padding, each channel's plane read and written as one
** run of pixels (8 to a vector, no lane idle but in the run's last
** vector), with the instructions of kernel_avx2_px.c (its loads, multiply-
** adds, and its store, which holds the bias, the residual and the activation).
*/
#include "oscpx.h"

OSC_PX_STAGE_KERNEL(avx2, pw, osc_px_avx2, OSC_ISA_AVX2, 1);
