#define _GNU_SOURCE
#include <fcntl.h>
#include "direct_io.h"

int uqcit_o_direct(void) { return O_DIRECT; }
