#pragma once

/// open(2)'s O_DIRECT flag. glibc declares it only under _GNU_SOURCE, which Swift's Glibc module is not built
/// with, and its value differs between architectures (x86-64 and arm64), so it is read from C here.
int uqcit_o_direct(void);
