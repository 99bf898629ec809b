/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:
** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).
** Columns after the coefficients: samples, median and worst relative error
** of the fit on them. Do not edit; refit. */
static const time_coef osc_time_coefs[] = {
    {"avx512_pw", {0.111262, 0, 0.0171578, 0.00599889, 56.0391}},   /* 48, 8.3%, 25.8% */
    {"avx512_px", {0.0773321, 0.0019477, 0.0141872, 0.00403494, 126.127}},   /* 246, 15.1%, 85.6% */
    {"avx2_pw", {0.111172, 0, 0.00164686, 0.00254634, 104.159}},   /* 24, 3.8%, 13.9% */
    {"avx2_px", {0.12228, 0, 0.0089199, 0, 166.171}},   /* 122, 9.3%, 100.1% */
    {"pointwise", {0.490252, 0, 0.0818773, 0.0579916, 160.55}},   /* 22, 2.9%, 12.6% */
    {"depthwise", {0.304832, 0, 0.163344, 0.0791575, 296.697}},   /* 39, 5.5%, 21.5% */
    {"direct", {0.368204, 0, 0.0386969, 0.000699073, 0}},   /* 99, 3.9%, 76.0% */
};
