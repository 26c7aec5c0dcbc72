/* fuzz_policy.c - libFuzzer target: load a policy from the input and, when
 * it loads, evaluate fixed requests with and without explanations.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -D_GNU_SOURCE -Iinclude -Igenerated tests/fuzz/fuzz_policy.c libcommon/[a-z]*.c \
 *     $(pkg-config --cflags --libs libsecret-1) -lmbedtls -lmbedx509 -lmbedcrypto \
 *     -lcjson -lyaml -lm -o fuzz_policy
 *   mkdir -p corpus && ./fuzz_policy -max_total_time=60 corpus tests/files/policy
 *
 * Invariants checked beyond "no crash, no leak, no timeout": a failed load
 * leaves no policy and an error naming the input; the fast and the
 * explaining evaluation agree; the JSON is produced for every result. */

#include "policy.h"

#include <stdlib.h>
#include <string.h>

static const struct policy_attr attrs[] = { { "env", "prod" }, { "team", "core" } };

static const struct policy_request requests[] = {
	{ "alice", "read", "docs/a", attrs, 2, 1768435200000LL },
	{ "bob", "delete", "audit/2026/01", NULL, 0, 1767225600000LL },
	{ "cn:build-bot", "s3:get", "wiki/a/b/c", attrs, 1, 0 },
	{ "a", "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", NULL, 0, 0 },
	{ "\xc3\xa9", "\xe2\x82\xac", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/b", attrs, 2, -1 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	char err[600];

	if (policy_load_mem(&p, "f.yaml", data, size, err, sizeof(err))) {
		if (p || strncmp(err, "f.yaml", 6))
			abort();
		return 0;
	}
	struct policy_result full = POLICY_RESULT_INIT, fast = POLICY_RESULT_INIT;
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		enum policy_decision a = policy_eval(p, &requests[i], POLICY_EXPLAIN, &full);
		enum policy_decision b = policy_eval(p, &requests[i], 0, &fast);
		if (a != b || full.reason != fast.reason)
			abort();
		if ((a == POLICY_ALLOW) != (full.nallow > 0 && full.ndeny == 0))
			abort();
		struct jw w;
		sb_reset(&sb);
		jw_init(&w, &sb, JSON_COMPACT);
		policy_result_json(p, &requests[i], &full, &w);
		if (!sb.len || sb.buf[0] != '{')
			abort();
	}
	sb_free(&sb);
	policy_result_free(&full);
	policy_result_free(&fast);
	policy_free(p);
	return 0;
}
