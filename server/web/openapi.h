/*
 * openapi: GET /api/v1/openapi.json, the API's OpenAPI 3.1 description
 * (schemas/openapi.json with the job specification's schema put in,
 * compiled into the binary by CMake as openapi_json[]). Anyone may read
 * it; it changes only with the binary, so it is cached and has an ETag.
 */
#ifndef INTROEVAL_OPENAPI_H
#define INTROEVAL_OPENAPI_H

#include <stddef.h>

struct req;

extern const char openapi_json[];
extern const size_t openapi_json_len;

int	openapi_serve(struct req *);

#endif
