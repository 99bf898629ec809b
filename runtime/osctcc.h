/*
** osctcc.h -- the libtcc entry points osconv calls, under osconv's names.
** The build renames them in its private copy of libtcc.a (tcc-wx.o, see the
** Makefile: it reads this list) and makes every other libtcc symbol local,
** so a program that defines `tok` or links its own libtcc never meets
** ours. Include this instead of <libtcc.h>; one line per function used.
*/
#ifndef OSCTCC_H
#define OSCTCC_H

#define tcc_new osc_tcc_new
#define tcc_delete osc_tcc_delete
#define tcc_set_lib_path osc_tcc_set_lib_path
#define tcc_set_error_func osc_tcc_set_error_func
#define tcc_set_options osc_tcc_set_options
#define tcc_set_output_type osc_tcc_set_output_type
#define tcc_compile_string osc_tcc_compile_string
#define tcc_add_file osc_tcc_add_file
#define tcc_add_symbol osc_tcc_add_symbol
#define tcc_relocate osc_tcc_relocate
#define tcc_get_symbol osc_tcc_get_symbol

#include <libtcc.h>

#endif
