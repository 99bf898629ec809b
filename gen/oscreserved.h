/*
** oscreserved.h -- generated names that C or POSIX reserve. A network n
** with a layer l defines n_l and n_l_n (file scope, external linkage),
** static n_l_s<digits>... functions and macros N_L_*; a user file that
** includes a system header must still compile next to them.
*/
#ifndef OSCRESERVED_H
#define OSCRESERVED_H

#include <stddef.h>

/* 1 (and why, in why[0..size)) if a network name cannot prefix generated
** names: it begins with '_', or (up to case, as the macros are upper case)
** it is a prefix that a C or POSIX header reserves, such as pthread
** (pthread_, PTHREAD_). 0 otherwise. */
int osc_reserved_network(const char *net, char *why, size_t size);

/* Why the function name `sym` (n_l or n_l_n) is reserved, or NULL: it
** contains __ (C++), ends in _t, is a C keyword, or is a standard library
** name. */
const char *osc_reserved_symbol(const char *sym);

#endif
