/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_px", {0.0978176, 0.00342622, 0.0152631, 0.00599926, 60.8981}},   /* 294, 14.7%, 95.5% */
    {"avx2_px", {0.115456, 0, 0.00827383, 0, 114.482}},   /* 146, 9.0%, 111.9% */
    {"pointwise", {0.476825, 0, 0.078709, 0, 1022.29}},   /* 22, 3.3%, 9.9% */
    {"depthwise", {0.360399, 0, 0.148591, 0.0370428, 233.935}},   /* 39, 5.8%, 21.1% */
    {"direct", {0.36029, 0, 0.0331517, 0.00977965, 122.634}},   /* 99, 4.6%, 56.2% */
};
