/*
 * fuzz_object.c: libFuzzer target on the validation entry point. Every
 * input must come back as an object or a refusal, never a crash, a leak or
 * undefined behaviour; whatever parses as a certificate or CRL must render
 * as PEM for the views. Seeded with tests/corpus by `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pkifs/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_status st;
	struct pk_object o;
	char *pem = NULL;
	size_t len = 0;

	if (pk_object_parse(data, size, &o, &st) != PK_OK)
		return 0;
	if (o.kind == PK_KIND_CERT || o.kind == PK_KIND_CRL) {
		if (pk_object_pem(data, size, &pem, &len) != PK_OK)
			abort(); /* parsed, but not renderable: a bug */
		free(pem);
	}
	return 0;
}
