/*
 * fuzz.h: the libFuzzer entry point every tests/fuzz/fuzz_NAME.c defines.
 * Built with clang and -fsanitize=fuzzer (INTROEVAL_FUZZ=ON) it is a
 * fuzzer; built with replay.c (every build) it replays the corpus in
 * tests/fuzz/corpus/NAME as the CTest test fuzz.NAME.
 */
#ifndef INTROEVAL_FUZZ_H
#define INTROEVAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of data (caller frees); fuzz inputs are not. */
char	*fuzz_cstr(const uint8_t *data, size_t size);

#endif
