/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.117337, 0, 0.0222801, 0.00864963, 40.1235}},   /* 48, 8.0%, 33.2% */
    {"avx512_px", {0.0829686, 0.00206604, 0.0186728, 0.00615065, 103.001}},   /* 247, 16.6%, 80.3% */
    {"avx2_pw", {0.114668, 0, 0.00673691, 0.00630595, 94.0855}},   /* 24, 4.5%, 21.0% */
    {"avx2_px", {0.127543, 0, 0.021231, 0, 157.258}},   /* 122, 10.7%, 101.4% */
    {"pointwise", {0.568545, 0, 0.149437, 0, 583.168}},   /* 22, 6.9%, 20.5% */
    {"depthwise", {0.332614, 0.10494, 0.22728, 0, 476.081}},   /* 38, 6.0%, 22.7% */
    {"direct", {0.484453, 0, 0.0274087, 0.054864, 0}},   /* 99, 16.5%, 50.3% */
};
