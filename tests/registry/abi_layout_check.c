/* The ABI headers must compile as C99/C11 and keep their frozen layouts in C too. */
#include "lmrt/abi_layout.h"

int lmrt_abi_layout_checked_in_c(void) { return (int)sizeof(lmrt_engine_api); }
