/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.126425, 0, 0.0235318, 0.0168864, 0}},   /* 48, 10.2%, 55.3% */
    {"avx512_px", {0.0987328, 0.00158065, 0.0255211, 0.00416328, 41.436}},   /* 247, 12.4%, 66.5% */
    {"avx2_pw", {0.114619, 0, 0.00712372, 0.00482052, 0}},   /* 24, 8.3%, 25.1% */
    {"avx2_px", {0.111192, 0, 0.0196829, 0, 91.4134}},   /* 122, 8.7%, 88.6% */
    {"pointwise", {0.33927, 0, 0.0796221, 0.163271, 44.2048}},   /* 22, 2.5%, 11.2% */
    {"depthwise", {0.287624, 0.0538723, 0.15967, 0, 297.029}},   /* 38, 4.3%, 16.1% */
    {"direct", {0.264285, 0.0971728, 0.0291956, 0.00186624, 0}},   /* 99, 3.5%, 17.4% */
};
