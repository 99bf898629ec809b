/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.22971, 0, 0.0412907, 0.0309547, 14.4752}},   /* 48, 8.6%, 54.2% */
    {"avx512_px", {0.148498, 0.00433462, 0.0493183, 0.00738285, 130.36}},   /* 247, 15.2%, 76.6% */
    {"avx2_pw", {0.191692, 0, 0.0208124, 0.0425115, 0}},   /* 24, 8.2%, 17.4% */
    {"avx2_px", {0.193591, 0, 0.0461921, 0, 277.301}},   /* 122, 12.3%, 93.5% */
    {"pointwise", {0.783192, 0, 0.132285, 0.0756008, 203.382}},   /* 22, 5.9%, 17.6% */
    {"depthwise", {0.734844, 0, 0.222804, 0.0917354, 692.546}},   /* 38, 5.6%, 18.8% */
    {"direct", {0.673727, 0.197726, 0, 0.188678, 0}},   /* 99, 5.7%, 76.1% */
};
