/* jwt.c - JSON Web Tokens, HS256 and ES256, on top of crypto.c.
 *
 * The verifier decides the algorithm (RFC 8725 3.1): the header's "alg" is
 * only compared with it.  Order of checks: structure, header, signature,
 * then claims, so a forged token is reported as forged and never as
 * "expired".  JSON goes through json_canonicalize first, which rejects
 * duplicate keys, invalid UTF-8 and deep nesting that cJSON would accept;
 * cJSON then reads the canonical text.
 */

#include "libcommon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct jwt_key {
	enum jwt_alg alg;
	uint8_t *secret;          /* HS256, secure_alloc()ed */
	size_t secret_len;
	struct crypto_pk *pk;     /* ES256 */
};

int jwt_alg_parse(const char *name, enum jwt_alg *alg)
{
	if (!strcmp(name, "HS256"))
		*alg = JWT_HS256;
	else if (!strcmp(name, "ES256"))
		*alg = JWT_ES256;
	else
		return -1;
	return 0;
}

const char *jwt_alg_name(enum jwt_alg alg)
{
	return alg == JWT_HS256 ? "HS256" : alg == JWT_ES256 ? "ES256" : "?";
}

const char *jwt_status_str(enum jwt_status s)
{
	switch (s) {
	case JWT_OK: return "ok";
	case JWT_MALFORMED: return "malformed";
	case JWT_BAD_ALG: return "wrong algorithm";
	case JWT_UNSUPPORTED: return "unsupported";
	case JWT_BAD_SIGNATURE: return "bad signature";
	case JWT_EXPIRED: return "expired";
	case JWT_NOT_YET_VALID: return "not yet valid";
	case JWT_BAD_ISSUER: return "wrong issuer";
	case JWT_BAD_AUDIENCE: return "wrong audience";
	}
	return "?";
}

/* ------------------------------------------------------------------- keys */

/* Text that is a public key or certificate must never become an HMAC
 * secret: that is the classic RS256/ES256 -> HS256 confusion. */
static int looks_like_public_material(const void *data, size_t len)
{
	static const char *const marks[] = { "-----BEGIN", "ecdsa-sha2-", "ssh-ed25519", "ssh-rsa",
	                                     "sk-ecdsa-", "sk-ssh-", "\"kty\"" };
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++)
		if (memmem(data, len, marks[i], strlen(marks[i])))
			return 1;
	return 0;
}

struct jwt_key *jwt_key_new(enum jwt_alg alg, int for_signing, const void *data, size_t len,
                            char *why, size_t whylen)
{
	struct jwt_key *k = xzalloc(sizeof(*k));
	k->alg = alg;
	if (alg == JWT_HS256) {
		if (len < JWT_HMAC_MIN_KEY) {
			msgf(why, whylen, "an HS256 secret needs at least %d bytes, the file has %zu",
			        JWT_HMAC_MIN_KEY, len);
			goto fail;
		}
		if (looks_like_public_material(data, len)) {
			msgf(why, whylen, "this looks like a PEM, SSH or JWK key, not an HS256 secret "
			        "(raw random bytes, e.g. 'head -c 32 /dev/urandom')");
			goto fail;
		}
		k->secret = secure_alloc(len);
		memcpy(k->secret, data, len);
		k->secret_len = len;
		return k;
	}
	if (alg != JWT_ES256) {
		msgf(why, whylen, "unsupported algorithm");
		goto fail;
	}
	if (for_signing) {
		if (crypto_pk_parse_private(data, len, &k->pk, why, whylen) == 0)
			return k;
		goto fail;
	}
	if (memmem(data, len, "PRIVATE KEY-----", 16)) {
		msgf(why, whylen, "this is a private key; verifying needs only the public key "
		        "('openssl ec -in KEY -pubout')");
		goto fail;
	}
	if (crypto_pk_parse_public(data, len, &k->pk, why, whylen) == 0)
		return k;
	if (memmem(data, len, "-----BEGIN CERTIFICATE-----", 27)) {
		struct crypto_cert *c;
		if (crypto_cert_parse(data, len, &c, why, whylen) == 0) {
			int rc = crypto_cert_public_key(c, &k->pk);
			crypto_cert_free(c);
			if (rc == 0)
				return k;
			msgf(why, whylen, "the certificate's key is not EC P-256");
		}
	}
fail:
	jwt_key_free(k);
	return NULL;
}


struct jwt_key *jwt_key_load(enum jwt_alg alg, int for_signing, const char *path, char *why,
                             size_t whylen)
{
	char w[200];
	size_t len;
	int secret = alg == JWT_HS256 || for_signing;
	char *buf = secure_read_key_file(path, secret, JWT_KEY_CAP, &len, why, whylen);
	if (!buf)
		return NULL;
	struct jwt_key *k = jwt_key_new(alg, for_signing, buf, len, w, sizeof(w));
	secure_free(buf);
	if (!k)
		msgf(why, whylen, "%s: %s", path, w);
	return k;
}

void jwt_key_free(struct jwt_key *k)
{
	if (!k)
		return;
	secure_free(k->secret);
	crypto_pk_free(k->pk);
	free(k);
}

/* ------------------------------------------------------------ signatures */

static int sign_input(const struct jwt_key *k, const char *in, size_t len, uint8_t *sig,
                      size_t *siglen)
{
	if (k->alg == JWT_HS256) {
		crypto_hmac_sha256(k->secret, k->secret_len, in, len, sig);
		*siglen = SHA256_LEN;
		return 0;
	}
	*siglen = ECDSA_P256_SIG_LEN;
	return crypto_ecdsa_sign(k->pk, in, len, sig);
}

static int check_sig(const struct jwt_key *k, const char *in, size_t len, const uint8_t *sig,
                     size_t siglen)
{
	if (k->alg == JWT_HS256) {
		uint8_t mac[SHA256_LEN];
		crypto_hmac_sha256(k->secret, k->secret_len, in, len, mac);
		int ok = siglen == SHA256_LEN && ct_memeq(mac, sig, SHA256_LEN);
		secure_wipe(mac, sizeof(mac));
		return ok ? 0 : -1;
	}
	return crypto_ecdsa_verify(k->pk, in, len, sig, siglen);
}

/* ------------------------------------------------------------------- JSON */

/* Token-controlled text for a message: printable ASCII, at most 60 chars. */
static const char *shown(const char *s, char out[80])
{
	size_t n = 0;
	for (; *s && n < 60; s++)
		out[n++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
	if (*s) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = 0;
	return out;
}

/* Decode one base64url part holding a JSON object: canonical text in
 * canon, parse tree returned.  NULL with why. */
static cJSON *decode_object(const char *part, size_t len, const char *what, struct strbuf *canon,
                            char *why, size_t whylen)
{
	uint8_t *raw;
	size_t rawlen;
	char err[200];
	if (crypto_b64url_decode(part, len, &raw, &rawlen) != 0) {
		msgf(why, whylen, "%s is not strict base64url", what);
		return NULL;
	}
	int rc = json_canonicalize((const char *)raw, rawlen, JSON_COMPACT, canon, err, sizeof(err));
	free(raw);
	if (rc != 0) {
		msgf(why, whylen, "%s: %s", what, err);
		return NULL;
	}
	cJSON *j = cJSON_ParseWithLength(canon->buf, canon->len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		msgf(why, whylen, "%s is not a JSON object", what);
		return NULL;
	}
	return j;
}

/* A NumericDate claim: 0 absent, 1 present (value in *t), -1 wrong type. */
static int numeric_date(const cJSON *claims, const char *name, double *t)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble > 253402300799.0)
		return -1;
	*t = v->valuedouble;
	return 1;
}

static const char *fmt_time(double t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%.0f", t);
	return out;
}

static enum jwt_status check_times(const struct jwt_verify_opts *o, const cJSON *claims,
                                   char *why, size_t whylen)
{
	double exp, nbf, iat, now = (double)o->now, lee = (double)o->leeway;
	char t1[32];
	int has_exp = numeric_date(claims, "exp", &exp);
	int has_nbf = numeric_date(claims, "nbf", &nbf);
	int has_iat = numeric_date(claims, "iat", &iat);

	if (has_exp < 0 || has_nbf < 0 || has_iat < 0) {
		msgf(why, whylen, "claim %s is not a NumericDate",
		        has_exp < 0 ? "exp" : has_nbf < 0 ? "nbf" : "iat");
		return JWT_MALFORMED;
	}
	if (!has_exp) {
		msgf(why, whylen, "the token has no exp claim (tokens without expiry are refused)");
		return JWT_MALFORMED;
	}
	if (now >= exp + lee) {
		msgf(why, whylen, "expired at %s (leeway %d s)", fmt_time(exp, t1), o->leeway);
		return JWT_EXPIRED;
	}
	if (has_nbf && now + lee < nbf) {
		msgf(why, whylen, "not valid before %s (leeway %d s)", fmt_time(nbf, t1), o->leeway);
		return JWT_NOT_YET_VALID;
	}
	if (has_iat && now + lee < iat) {
		msgf(why, whylen, "issued in the future (iat %s, leeway %d s)", fmt_time(iat, t1),
		        o->leeway);
		return JWT_NOT_YET_VALID;
	}
	return JWT_OK;
}

static enum jwt_status check_iss_aud(const struct jwt_verify_opts *o, const cJSON *claims,
                                     char *why, size_t whylen)
{
	char s1[80], s2[80];
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");

	if (iss && !cJSON_IsString(iss)) {
		msgf(why, whylen, "claim iss is not a string");
		return JWT_MALFORMED;
	}
	if (o->iss && (!iss || strcmp(iss->valuestring, o->iss))) {
		if (iss)
			msgf(why, whylen, "issuer '%s' is not '%s'", shown(iss->valuestring, s1),
			        shown(o->iss, s2));
		else
			msgf(why, whylen, "the token has no iss claim, expected '%s'", shown(o->iss, s2));
		return JWT_BAD_ISSUER;
	}

	if (!aud) {
		if (o->aud) {
			msgf(why, whylen, "the token has no aud claim, expected '%s'", shown(o->aud, s2));
			return JWT_BAD_AUDIENCE;
		}
		return JWT_OK;
	}
	/* aud is a string or an array of strings (RFC 7519 4.1.3). */
	int match = 0;
	if (cJSON_IsString(aud)) {
		match = o->aud && !strcmp(aud->valuestring, o->aud);
	} else if (cJSON_IsArray(aud)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, aud) {
			if (!cJSON_IsString(e)) {
				msgf(why, whylen, "claim aud holds a non-string");
				return JWT_MALFORMED;
			}
			match |= o->aud && !strcmp(e->valuestring, o->aud);
		}
	} else {
		msgf(why, whylen, "claim aud is neither a string nor an array of strings");
		return JWT_MALFORMED;
	}
	if (!o->aud) {
		/* RFC 7519 4.1.3: a recipient that does not identify itself with
		 * a value of "aud" must reject the token. */
		msgf(why, whylen, "the token is meant for an audience; pass the expected one (--aud)");
		return JWT_BAD_AUDIENCE;
	}
	if (!match) {
		msgf(why, whylen, "audience '%s' is not in the token's aud", shown(o->aud, s2));
		return JWT_BAD_AUDIENCE;
	}
	return JWT_OK;
}

/* ----------------------------------------------------------------- verify */

static enum jwt_status check_header(const struct jwt_verify_opts *o, const cJSON *h, char *why,
                                    size_t whylen)
{
	char s1[80];
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
	if (!cJSON_IsString(alg)) {
		msgf(why, whylen, "the header has no alg string");
		return JWT_MALFORMED;
	}
	if (strcmp(alg->valuestring, jwt_alg_name(o->alg))) {
		if (!strcasecmp(alg->valuestring, "none"))
			msgf(why, whylen, "unsigned token (alg none) refused");
		else
			msgf(why, whylen, "the token's alg is '%s', expected %s",
			        shown(alg->valuestring, s1), jwt_alg_name(o->alg));
		return JWT_BAD_ALG;
	}
	if (cJSON_GetObjectItemCaseSensitive(h, "crit")) {
		msgf(why, whylen, "the header has crit parameters, none of which are understood");
		return JWT_UNSUPPORTED;
	}
	return JWT_OK;
}

enum jwt_status jwt_verify(const struct jwt_verify_opts *o, const char *token, size_t len,
                           struct strbuf *claims, char *why, size_t whylen)
{
	struct strbuf hcanon = STRBUF_INIT, ccanon = STRBUF_INIT;
	cJSON *header = NULL, *payload = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	enum jwt_status st = JWT_MALFORMED;

	if (why && whylen)
		why[0] = 0;
	if (!o->key || o->key->alg != o->alg || o->leeway < 0 || o->leeway > JWT_LEEWAY_MAX) {
		msgf(why, whylen, "internal error: bad verification options");
		return JWT_MALFORMED;
	}
	if (len > JWT_MAX_LEN) {
		msgf(why, whylen, "the token is longer than %u bytes", JWT_MAX_LEN);
		return JWT_MALFORMED;
	}
	const char *d1 = memchr(token, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
		msgf(why, whylen, "a JWS compact token has exactly three parts separated by '.'");
		return JWT_MALFORMED;
	}
	size_t hlen = (size_t)(d1 - token), plen = (size_t)(d2 - d1 - 1);
	size_t slen = len - (size_t)(d2 + 1 - token);

	if (!(header = decode_object(token, hlen, "the header", &hcanon, why, whylen)))
		goto out;
	if ((st = check_header(o, header, why, whylen)) != JWT_OK)
		goto out;
	st = JWT_BAD_SIGNATURE;
	if (slen == 0) {
		msgf(why, whylen, "the token has no signature");
		goto out;
	}
	if (crypto_b64url_decode(d2 + 1, slen, &sig, &siglen) != 0) {
		st = JWT_MALFORMED;
		msgf(why, whylen, "the signature is not strict base64url");
		goto out;
	}
	if (check_sig(o->key, token, (size_t)(d2 - token), sig, siglen) != 0) {
		msgf(why, whylen, "bad signature");
		goto out;
	}
	st = JWT_MALFORMED;
	if (!(payload = decode_object(d1 + 1, plen, "the claims set", &ccanon, why, whylen)))
		goto out;
	if ((st = check_times(o, payload, why, whylen)) != JWT_OK)
		goto out;
	if ((st = check_iss_aud(o, payload, why, whylen)) != JWT_OK)
		goto out;
	if (claims)
		sb_add(claims, ccanon.buf, ccanon.len);
out:
	cJSON_Delete(header);
	cJSON_Delete(payload);
	free(sig);
	sb_free(&hcanon);
	sb_free(&ccanon);
	return st;
}

/* ------------------------------------------------------------------- sign */

char *jwt_sign(enum jwt_alg alg, const struct jwt_key *key, const char *claims, size_t len,
               char *why, size_t whylen)
{
	struct strbuf canon = STRBUF_INIT, hdr = STRBUF_INIT, tok = STRBUF_INIT;
	struct jw w;
	char err[200];
	uint8_t sig[ECDSA_P256_SIG_LEN > SHA256_LEN ? ECDSA_P256_SIG_LEN : SHA256_LEN];
	size_t siglen;
	char *out = NULL;

	if (!key || key->alg != alg || (alg == JWT_ES256 && !crypto_pk_has_private(key->pk))) {
		msgf(why, whylen, "the key cannot sign %s", jwt_alg_name(alg));
		return NULL;
	}
	if (json_canonicalize(claims, len, JSON_COMPACT, &canon, err, sizeof(err)) != 0) {
		msgf(why, whylen, "claims: %s", err);
		goto out;
	}
	if (canon.len == 0 || canon.buf[0] != '{') {
		msgf(why, whylen, "the claims are not a JSON object");
		goto out;
	}
	jw_init(&w, &hdr, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_kv_str(&w, "alg", jwt_alg_name(alg));
	jw_kv_str(&w, "typ", "JWT");
	jw_obj_end(&w);

	char *h64 = crypto_b64url_encode(hdr.buf, hdr.len);
	char *p64 = crypto_b64url_encode(canon.buf, canon.len);
	sb_printf(&tok, "%s.%s", h64, p64);
	free(h64);
	free(p64);
	if (sign_input(key, tok.buf, tok.len, sig, &siglen) != 0) {
		msgf(why, whylen, "signing failed");
		goto out;
	}
	char *s64 = crypto_b64url_encode(sig, siglen);
	sb_printf(&tok, ".%s", s64);
	free(s64);
	out = sb_detach(&tok, NULL);
out:
	secure_wipe(sig, sizeof(sig));
	sb_free(&canon);
	sb_free(&hdr);
	sb_free(&tok);
	return out;
}
