// libFuzzer's driver, for a binary that supplies its own main (SwiftPM names an executable's entry <Module>_main).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
