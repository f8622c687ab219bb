/* fuzz.h: the libFuzzer entry point every target defines. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs over this size are not interesting and only slow the fuzzer down. */
#define FUZZ_MAX_INPUT 65536
