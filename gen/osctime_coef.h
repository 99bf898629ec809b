/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.145466, 0, 0.0262688, 0.0186311, 0}},   /* 48, 9.5%, 50.5% */
    {"avx512_px", {0.110296, 0.00202798, 0.0292446, 0.00414532, 47.0871}},   /* 247, 13.6%, 76.7% */
    {"avx2_pw", {0.197499, 0, 0, 0.0450377, 393.325}},   /* 24, 15.7%, 69.5% */
    {"avx2_px", {0.176442, 0, 0.0814665, 0, 345.828}},   /* 122, 15.0%, 89.4% */
    {"pointwise", {0.859461, 0, 0.352437, 0.146189, 3464.55}},   /* 22, 9.9%, 23.7% */
    {"depthwise", {0.455751, 0.419448, 0, 0, 0}},   /* 38, 9.5%, 50.8% */
    {"direct", {0.867388, 0, 0, 0, 0}},   /* 99, 21.9%, 133.3% */
};
