/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.145466, 0, 0.0262688, 0.0186311, 0}},   /* 48, 9.5%, 50.5% */
    {"avx512_px", {0.110296, 0.00202798, 0.0292446, 0.00414532, 47.0871}},   /* 247, 13.6%, 76.7% */
    {"avx2_pw", {0.122813, 0, 0.00945908, 0.00930631, 0}},   /* 24, 8.6%, 24.4% */
    {"avx2_px", {0.122663, 0, 0.0226009, 0, 110.209}},   /* 122, 9.5%, 96.3% */
    {"pointwise", {0.387054, 0, 0.0871723, 0.157929, 0}},   /* 22, 4.1%, 11.9% */
    {"depthwise", {0.413206, 0, 0.156004, 0.00423923, 320.762}},   /* 38, 4.5%, 16.1% */
    {"direct", {0.300174, 0.104995, 0.0336806, 0, 0}},   /* 99, 3.5%, 22.3% */
};
