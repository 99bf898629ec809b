/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.145466, 0, 0.0262688, 0.0186311, 0}},   /* 48, 9.5%, 50.5% */
    {"avx512_px", {0.110296, 0.00202798, 0.0292446, 0.00414532, 47.0871}},   /* 247, 13.6%, 76.7% */
    {"avx2_pw", {0.167096, 0, 0.00963364, 0.0509564, 114.393}},   /* 24, 8.5%, 20.6% */
    {"avx2_px", {0.142462, 0, 0.0715934, 0.000461985, 384.697}},   /* 122, 10.3%, 99.5% */
    {"pointwise", {0.768354, 0, 0.3296, 0, 302.533}},   /* 22, 12.6%, 39.0% */
    {"depthwise", {0.30478, 0.375503, 0, 0, 230.025}},   /* 38, 15.8%, 43.7% */
    {"direct", {0.615238, 0.100509, 0, 0, 0}},   /* 99, 20.7%, 92.5% */
};
