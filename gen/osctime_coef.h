/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.119033, 0, 0.0170827, 0.00990197, 93.1246}},   /* 48, 8.1%, 42.5% */
    {"avx512_px", {0.0809264, 0.00205279, 0.0183349, 0.00559274, 156.404}},   /* 246, 16.8%, 89.6% */
    {"avx2_pw", {0.119228, 0, 0.00627101, 0, 70.5278}},   /* 24, 6.9%, 29.5% */
    {"avx2_px", {0.130028, 0, 0.0166751, 0, 172.782}},   /* 122, 7.7%, 100.2% */
    {"pointwise", {0.515439, 0, 0.131258, 0, 119.913}},   /* 22, 4.2%, 12.6% */
    {"depthwise", {0.265612, 0.124002, 0.185826, 0, 362.392}},   /* 39, 6.2%, 28.3% */
    {"direct", {0.396709, 0, 0.0223029, 0, 633.734}},   /* 99, 8.9%, 77.1% */
};
