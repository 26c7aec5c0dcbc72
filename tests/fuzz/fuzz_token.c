/* fuzz_token.c - libFuzzer target for the config token decoders: format
 * dispatch, CPython-lenient and strict base64, the v3 header, and full v3
 * resolution under a fixed master key.  v1/v2 bodies long enough to reach
 * PBKDF2 (600k iterations) are decoded but not decrypted: the KDF is not
 * parsing code and would make each run take a third of a second. */

#include "libcommon.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sec_ctx *ctx;

static void setup(void)
{
	static char path[] = "/tmp/apcore-fuzz-key.XXXXXX";
	int fd = mkstemp(path);
	static const char key[] = "apcore-master-key:v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	if (fd < 0 || write(fd, key, sizeof(key) - 1) != (ssize_t)(sizeof(key) - 1))
		abort();
	close(fd);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	setenv("XDG_RUNTIME_DIR", "/nonexistent", 1);
	ctx = sec_ctx_new();
	sec_ctx_set_key_file(ctx, path);
	sec_ctx_set_identity(ctx, "fuzz-host", "fuzz-user");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ctx)
		setup();
	char *tok = malloc(size + 1);
	memcpy(tok, data, size);
	tok[size] = 0;

	uint8_t *out;
	size_t outlen;
	if (crypto_b64_decode_lenient(tok, size, &out, &outlen) == 0)
		free(out);
	if (crypto_b64_decode(tok, size, &out, &outlen) == 0)
		free(out);
	if (crypto_b64url_decode(tok, size, &out, &outlen) == 0)
		free(out);

	enum sec_format f = sec_format_of(tok);
	int expensive = 0;
	if (f == SEC_FMT_V1 || f == SEC_FMT_V2) {
		const char *body = tok + (f == SEC_FMT_V2 ? 7 : 4);
		if (crypto_b64_decode_lenient(body, strlen(body), &out, &outlen) == 0) {
			expensive = outlen >= (f == SEC_FMT_V2 ? 44u : 28u);
			free(out);
		}
	}
	char kid[17];
	int64_t exp;
	(void)sec_v3_header(tok, kid, &exp);
	if (f != SEC_FMT_KEYRING && !expensive) {
		char *plain, msg[512];
		size_t plen;
		if (sec_resolve(ctx, "fuzz.key", tok, &plain, &plen, msg, sizeof(msg)) == SEC_OK)
			secure_free(plain);
	}
	free(tok);
	return 0;
}
