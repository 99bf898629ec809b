/* placeholder until bench/fit_time.c writes the fitted table */
static const time_coef osc_time_coefs[] = {{"direct", 1.0, 0.0, 0.0}};
