/* libcommon.h - services shared by every applet.
 *
 * One section per libcommon/<file>.c.  Nothing here knows about an applet.
 * Functions that die on failure carry an x prefix; the rest return a status
 * and leave errno (or an explicit error string) for the caller.
 */
#ifndef APCORE_LIBCOMMON_H
#define APCORE_LIBCOMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct option;

#define NORETURN __attribute__((noreturn))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ err.c */

/* Exit codes shared by all applets (see docs/exit-codes.md). */
enum {
	APC_EX_OK = 0,
	APC_EX_FAIL = 1,
	APC_EX_USAGE = 2,
	APC_EX_CONFIG = 47,   /* config/decrypt failure (reference) */
	APC_EX_AUTH = 77,     /* authentication/authorization failure (reference) */
	APC_EX_NOEXEC = 126,
	APC_EX_NOTFOUND = 127,
	APC_EX_INTR = 130,
};

/* Set by the dispatcher before an applet runs: "apcore-encrypt" and its
 * --help text.  Messages are prefixed with applet_name. */
extern const char *applet_name;
extern const char *applet_help;

/* Print "applet: message" (one write) and exit through xexit(). */
NORETURN PRINTF(1, 2) void die(const char *fmt, ...);
NORETURN PRINTF(1, 2) void die_errno(const char *fmt, ...);
NORETURN PRINTF(2, 3) void die_code(int code, const char *fmt, ...);
/* Usage error: message plus "Try 'applet --help'.", exit APC_EX_USAGE. */
NORETURN PRINTF(1, 2) void die_usage(const char *fmt, ...);
PRINTF(1, 2) void warn_msg(const char *fmt, ...);
PRINTF(1, 2) void warn_errno(const char *fmt, ...);
/* Format into buf the way die() would print it (no newline); for callers
 * that collect an error and decide later. */
void vmsg_format(char *buf, size_t len, const char *fmt, va_list ap);
/* Wipe every registered secret, flush stdout, then _exit-free exit(code). */
NORETURN void xexit(int code);
/* After getopt_long with a leading ':' returned c for an unknown option
 * or a missing value: a usage error naming the option (up to any '=', so a
 * value is never echoed). */
NORETURN void die_bad_option(int c, char **argv);
/* For commands whose long options are numbered from 256 in longopts order
 * and allowed per subcommand by a bitmask (bit = value - 256): die on an
 * unknown option, one that does not apply to "[family ]argv[0]", or one
 * given twice unless its bit is in repeatable; record it in *seen. */
void opt_accept(const struct option *longopts, int c, char **argv, const char *family,
                unsigned allowed, unsigned repeatable, unsigned *seen);
/* Format a one-line reason into a caller's buffer (NULL/0: no-op). */
PRINTF(3, 4) void msgf(char *buf, size_t len, const char *fmt, ...);
/* The same as "NAME:LINE:COL: message" (just "NAME: message" when line is
 * 0), for errors in a file; control characters in the message become '?'.
 * Always returns -1. */
int vmsgf_at(char *buf, size_t len, const char *name, int line, int col, const char *fmt,
             va_list ap);
/* Print the applet's help text to stdout. */
void show_help(void);

/* --------------------------------------------------------------- xalloc.c */

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
PRINTF(1, 2) char *xasprintf(const char *fmt, ...);

/* ------------------------------------------------------------------ xio.c */

/* Default cap for files we read whole (config, policies, tokens). */
#define XIO_DEFAULT_CAP (16u << 20)

/* Read until len bytes or EOF, retrying EINTR and short reads.  Returns the
 * byte count (< len only at EOF) or -1 with errno set. */
ssize_t read_full(int fd, void *buf, size_t len);
/* Write all of buf, retrying EINTR and short writes.  0 or -1/errno. */
int write_full(int fd, const void *buf, size_t len);
void xwrite_full(int fd, const void *buf, size_t len);
/* Read a whole fd / file into a NUL-terminated heap buffer of at most cap
 * bytes.  0 on success; -1 with errno (EFBIG when larger than cap). */
int read_fd_capped(int fd, size_t cap, char **out, size_t *outlen);
int read_file_capped(const char *path, size_t cap, char **out, size_t *outlen);
/* Write text to an existing file (a /proc or cgroup control file): open
 * without O_CREAT, one write_full().  0, or -1 with errno. */
int write_file_text(const char *path, const char *text);
/* fsync() the directory that holds path (after creating or renaming an
 * entry in it).  0, or -1 with errno. */
int fsync_dir_of(const char *path);
/* One message of len bytes on a socket, with descriptor fd attached (none
 * when fd < 0): sendmsg's result.  System calls only (safe after vfork). */
ssize_t send_fd(int sock, const void *data, size_t len, int fd);
/* Receive one message into data (up to len bytes), retrying on EINTR; a
 * descriptor that came with it goes to *fd (close-on-exec), else *fd = -1.
 * recvmsg's result. */
ssize_t recv_fd(int sock, void *data, size_t len, int *fd, int flags);
/* Same, dying with "cannot read PATH: reason". */
char *xread_file(const char *path, size_t cap, size_t *outlen);
/* Replace path atomically with data: temp file in the same directory
 * (O_EXCL|O_NOFOLLOW, mode), fsync, rename, fsync of the directory.
 * The old file survives any failure.  A target that exists and is not a
 * regular file is refused (EISDIR or EINVAL).  0 or -1/errno. */
int atomic_replace(const char *path, const void *data, size_t len, mode_t mode);
/* Where a user names an output file: "-" is stdout, an existing character
 * device or fifo is written directly (/dev/stdout, a pipe), anything else
 * is replaced atomically.  Never renames over a special file.  0 or -1. */
int write_output(const char *path, const void *data, size_t len, mode_t mode);
/* Append data to fd with exactly one write() under flock(LOCK_EX); with
 * sync != 0, fdatasync before unlocking.  A short write is reported as
 * -1/EIO after truncating back to the old size.  0 or -1/errno. */
int append_locked(int fd, const void *data, size_t len, int sync);
/* mkdir -p with mode for every created component.  0 or -1/errno. */
int mkdir_p(const char *path, mode_t mode);

/* --------------------------------------------------------------- secure.c */

/* Wipe memory the compiler may not elide. */
void secure_wipe(void *p, size_t n);
/* Heap buffer registered in the live-secret registry (wiped by die()/
 * xexit() and by secure_free()), mlock()ed where possible. */
void *secure_alloc(size_t n);
void secure_free(void *p);
/* Register / forget a caller-owned buffer (e.g. on the stack). */
void secure_register(void *p, size_t n);
void secure_unregister(void *p);
/* Wipe every registered buffer (called on every exit path). */
void secure_wipe_all(void);
/* No core dumps, not ptrace-attachable by same uid: RLIMIT_CORE 0 and
 * PR_SET_DUMPABLE 0.  Called by the dispatcher for secret-holding applets. */
void secure_nodump(void);
/* Read a secret from fd (at most cap bytes) into a secure buffer,
 * NUL-terminated; with strip_nl one trailing "\n" or "\r\n" is removed.
 * NULL with errno (EFBIG past cap). */
char *secure_read_fd(int fd, size_t cap, int strip_nl, size_t *len);
/* Prompt on /dev/tty with echo off; twice when confirm.  NULL with a
 * reason in why when there is no terminal or the entries differ. */
char *secure_read_tty(const char *prompt, int confirm, size_t *len, char *why, size_t whylen);
/* Read a key file (at most cap bytes) into a secure buffer; with secret,
 * refuse one that group or others can reach (as ssh does for private
 * keys).  NULL with a one-line reason in why. */
char *secure_read_key_file(const char *path, int secret, size_t cap, size_t *len, char *why,
                           size_t whylen);
/* Constant-time comparison: 1 when equal, 0 otherwise. */
int ct_memeq(const void *a, const void *b, size_t n);

/* --------------------------------------------------------------- strbuf.c */

struct strbuf {
	char *buf;   /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
};
#define STRBUF_INIT { NULL, 0, 0 }

void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *p, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
PRINTF(2, 3) void sb_printf(struct strbuf *sb, const char *fmt, ...);
void sb_reset(struct strbuf *sb);            /* len = 0, keep memory */
void sb_free(struct strbuf *sb);
void sb_free_secure(struct strbuf *sb);      /* wipe capacity, then free */
char *sb_detach(struct strbuf *sb, size_t *len); /* caller owns; never NULL */
/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
 * as Python's bytes.decode("utf-8") accepts it.  1 if valid. */
int utf8_valid(const void *s, size_t n);

/* ----------------------------------------------------------------- json.c */

/* The one JSON writer.  JSON_COMPACT emits {"a":1,"b":[2,3]} with UTF-8
 * passed through; JSON_PYTHON emits Python json.dumps' default layout
 * ({"a": 1, "b": [2, 3]}, ensure_ascii escaping with lower-case hex and
 * surrogate pairs).  Keys are written in the order given. */
enum json_style { JSON_COMPACT, JSON_PYTHON };

#define JW_MAX_DEPTH 64
struct jw {
	struct strbuf *sb;
	enum json_style style;
	int depth;
	unsigned char first[JW_MAX_DEPTH];  /* no element yet at this depth */
	int after_key;
};

void jw_init(struct jw *w, struct strbuf *sb, enum json_style style);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* A number already in JSON form (used by the canonicaliser). */
void jw_raw(struct jw *w, const char *text);
/* key + value shorthands */
void jw_kv_str(struct jw *w, const char *key, const char *val);
void jw_kv_int(struct jw *w, const char *key, int64_t val);
void jw_kv_bool(struct jw *w, const char *key, int val);

/* Parse text (cJSON) and re-emit it canonically: keys sorted by code point
 * recursively, numbers as Python would print json.loads()'s result (integers
 * exactly as written, floats as repr(float)), in the given style.  Rejects
 * duplicate keys, NaN/Infinity, invalid UTF-8 and nesting deeper than
 * JW_MAX_DEPTH.  0 on success; -1 with a one-line reason in err. */
int json_canonicalize(const char *text, size_t len, enum json_style style,
                      struct strbuf *out, char *err, size_t errlen);

/* Does any object in this cJSON tree have the same key twice?  (cJSON keeps
 * duplicates; configs and policies must refuse them.) */
struct cJSON;
int json_dup_keys(const struct cJSON *node);

/* Python repr() of a double (shortest round-trip, '1e+16', '1.0', '2.5'). */
void json_python_float(double d, char out[32]);

/* --------------------------------------------------------------- crypto.c */

/* The only file that includes mbedTLS.  All functions return 0 on success
 * and -1 on failure unless stated otherwise. */
#define SHA256_LEN 32
#define AES256_KEY_LEN 32
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

/* CSPRNG: CTR_DRBG seeded from the OS entropy source.  Dies on failure. */
void xcrypto_random(void *buf, size_t len);

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
struct sha256_ctx;  /* opaque */
struct sha256_ctx *crypto_sha256_new(void);
/* A second context in the same state (to finish a prefix's hash and go on
 * hashing the whole). */
struct sha256_ctx *crypto_sha256_clone(const struct sha256_ctx *c);
void crypto_sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void crypto_sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]); /* frees c */

void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                        uint8_t out[SHA256_LEN]);
struct hmac_ctx;    /* opaque */
struct hmac_ctx *crypto_hmac_new(const void *key, size_t keylen);
void crypto_hmac_update(struct hmac_ctx *c, const void *data, size_t len);
void crypto_hmac_final(struct hmac_ctx *c, uint8_t out[SHA256_LEN]);     /* frees c */

int crypto_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                       const void *info, size_t infolen, void *out, size_t outlen);
int crypto_pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt, size_t saltlen,
                         unsigned iterations, void *out, size_t outlen);

/* AES-256-GCM, 12-byte IV, 16-byte tag (decrypt rejects any other tag
 * length).  ct/pt may not overlap the other buffer.  Decrypt returns -1 on
 * authentication failure and leaves pt wiped. */
int crypto_gcm_encrypt(const uint8_t key[AES256_KEY_LEN], const uint8_t iv[GCM_IV_LEN],
                       const void *aad, size_t aadlen, const void *pt, size_t len,
                       void *ct, uint8_t tag[GCM_TAG_LEN]);
int crypto_gcm_decrypt(const uint8_t key[AES256_KEY_LEN], const uint8_t iv[GCM_IV_LEN],
                       const void *aad, size_t aadlen, const void *ct, size_t len,
                       const uint8_t *tag, size_t taglen, void *pt);

/* Base64, RFC 4648 standard alphabet with padding, no line breaks.
 * Returns a heap string. */
char *crypto_b64_encode(const void *data, size_t len);
/* Strict decode: canonical padded base64 only. */
int crypto_b64_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen);
/* Python base64.b64decode(s) (validate=False) semantics: non-ASCII input is
 * an error, other non-alphabet bytes are skipped, decoding stops after a
 * completing pad sequence, a dangling quantum is an error. */
int crypto_b64_decode_lenient(const char *s, size_t slen, uint8_t **out, size_t *outlen);
/* base64url without padding (JWT); decode is strict (no padding, no
 * non-alphabet bytes, zero trailing bits). */
char *crypto_b64url_encode(const void *data, size_t len);
int crypto_b64url_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const void *data, size_t len, char *out);
/* Decode exactly outlen bytes of hex; -1 on bad length or digit. */
int hex_decode(const char *hex, void *out, size_t outlen);

/* SHA-512 (SSHSIG's default message hash). */
#define SHA512_LEN 64
void crypto_sha512(const void *data, size_t len, uint8_t out[SHA512_LEN]);
struct sha512_ctx;  /* opaque */
struct sha512_ctx *crypto_sha512_new(void);
void crypto_sha512_update(struct sha512_ctx *c, const void *data, size_t len);
void crypto_sha512_final(struct sha512_ctx *c, uint8_t out[SHA512_LEN]); /* frees c */

/* Public keys: EC P-256 only, ECDSA with SHA-256.  A struct crypto_pk holds
 * a public key, or a private key and its public half; the private scalar
 * lives inside mbedTLS, which wipes it on free.  Functions that take a
 * "why" buffer put a one-line reason there on failure (never key bytes). */
#define EC_P256_POINT_LEN 65    /* 0x04 || X || Y */
#define EC_P256_SCALAR_LEN 32
#define ECDSA_P256_SIG_LEN 64   /* r || s, 32 bytes each (RFC 7518 3.4) */

struct crypto_pk;   /* opaque */
void crypto_pk_free(struct crypto_pk *k);
/* A fresh P-256 key pair from xcrypto_random. */
struct crypto_pk *crypto_pk_generate(void);
/* A private key in PEM or DER: SEC1 ("EC PRIVATE KEY") or unencrypted
 * PKCS#8 ("PRIVATE KEY").  Encrypted keys and other curves or key types
 * are refused with a reason. */
int crypto_pk_parse_private(const void *buf, size_t len, struct crypto_pk **out,
                            char *why, size_t whylen);
/* A SubjectPublicKeyInfo ("PUBLIC KEY") in PEM or DER. */
int crypto_pk_parse_public(const void *buf, size_t len, struct crypto_pk **out,
                           char *why, size_t whylen);
/* From raw parts: an uncompressed point (checked to lie on the curve), or
 * a private scalar (big-endian, 1 <= d < n; the public point is derived). */
int crypto_pk_from_point(const uint8_t *q, size_t qlen, struct crypto_pk **out);
int crypto_pk_from_scalar(const uint8_t d[EC_P256_SCALAR_LEN], struct crypto_pk **out);
int crypto_pk_has_private(const struct crypto_pk *k);
/* The public point, uncompressed. */
void crypto_pk_point(const struct crypto_pk *k, uint8_t out[EC_P256_POINT_LEN]);
/* Same public key?  1 or 0. */
int crypto_pk_equal(const struct crypto_pk *a, const struct crypto_pk *b);
/* PEM texts: the SubjectPublicKeyInfo (heap), the SEC1 private key
 * (secure_alloc()ed: release with secure_free). */
char *crypto_pk_public_pem(const struct crypto_pk *k);
char *crypto_pk_private_pem(const struct crypto_pk *k, size_t *len);

/* ECDSA P-256 over SHA-256(msg), or over a SHA-256 digest, with raw r||s
 * signatures.  Signing is deterministic (RFC 6979).  Verify returns 0 only
 * for a valid signature of exactly ECDSA_P256_SIG_LEN bytes. */
int crypto_ecdsa_sign(const struct crypto_pk *k, const void *msg, size_t len,
                      uint8_t sig[ECDSA_P256_SIG_LEN]);
int crypto_ecdsa_verify(const struct crypto_pk *k, const void *msg, size_t len,
                        const uint8_t *sig, size_t siglen);
int crypto_ecdsa_sign_digest(const struct crypto_pk *k, const uint8_t digest[SHA256_LEN],
                             uint8_t sig[ECDSA_P256_SIG_LEN]);
int crypto_ecdsa_verify_digest(const struct crypto_pk *k, const uint8_t digest[SHA256_LEN],
                               const uint8_t *sig, size_t siglen);
/* Raw r||s <-> DER ECDSA-Sig-Value.  to_der writes at most 72 bytes;
 * from_der wants exactly one SEQUENCE of two positive INTEGERs < 2^256. */
#define ECDSA_P256_DER_MAX 72
int crypto_ecdsa_sig_to_der(const uint8_t raw[ECDSA_P256_SIG_LEN], uint8_t *der, size_t cap,
                            size_t *derlen);
int crypto_ecdsa_sig_from_der(const uint8_t *der, size_t derlen, uint8_t raw[ECDSA_P256_SIG_LEN]);

/* X.509 certificates for mutual TLS, EC P-256 / ECDSA-SHA256. */
enum crypto_cert_kind { CRYPTO_CERT_CA, CRYPTO_CERT_SERVER, CRYPTO_CERT_CLIENT };
enum crypto_san_type { CRYPTO_SAN_DNS, CRYPTO_SAN_IP, CRYPTO_SAN_URI };
struct crypto_san {
	enum crypto_san_type type;
	const void *data;   /* DNS/URI: the text; IP: 4 or 16 network-order bytes */
	size_t len;
};
struct crypto_cert;  /* opaque: one certificate, or a chain (leaf first) */

struct crypto_cert_req {
	enum crypto_cert_kind kind;
	const char *cn;                     /* printable ASCII, no ',' '\\' '"' */
	const struct crypto_pk *key;        /* the subject's key */
	const struct crypto_pk *ca_key;     /* the issuer's private key (== key for a CA) */
	const struct crypto_cert *ca;       /* the issuer; NULL for a self-signed CA */
	const struct crypto_san *san;
	size_t nsan;
	int64_t not_before, not_after;      /* seconds since the epoch */
	uint8_t serial[16];                 /* big-endian; top bit cleared: positive */
};
/* Issue a certificate (PEM, heap) with the extensions of its kind:
 *   CA:     basicConstraints CA:TRUE pathlen 0 (critical), keyUsage
 *           keyCertSign+cRLSign (critical), SKI, AKI
 *   leaf:   basicConstraints CA:FALSE, keyUsage digitalSignature (critical),
 *           extKeyUsage serverAuth or clientAuth, subjectAltName, SKI, AKI
 * The issuer name is copied from the CA's subject and the result is checked
 * to chain to the CA before it is returned.  NULL with a reason. */
char *crypto_cert_issue(const struct crypto_cert_req *r, char *why, size_t whylen);

/* Parse PEM (one or more certificates) or DER. */
int crypto_cert_parse(const void *buf, size_t len, struct crypto_cert **out, char *why,
                      size_t whylen);
void crypto_cert_free(struct crypto_cert *c);
/* The (first) certificate's public key; -1 when it is not EC P-256. */
int crypto_cert_public_key(const struct crypto_cert *c, struct crypto_pk **out);

struct crypto_cert_info {
	char *subject;           /* as mbedTLS prints it: "CN=x, O=y" */
	char *cn;                /* the one commonName, or NULL */
	int ncn;                 /* how many commonNames the subject has */
	char **dns, **uri, **ip; /* subjectAltName entries (NUL-free text) */
	size_t ndns, nuri, nip;
	int is_ca;
	int64_t not_before, not_after;
	char serial[2 * 20 + 1]; /* hex */
};
/* Read the (first) certificate's fields.  -1 with a reason when a name or
 * SAN cannot be represented as text (embedded NUL, bad encoding). */
int crypto_cert_info(const struct crypto_cert *c, struct crypto_cert_info *info, char *why,
                     size_t whylen);
void crypto_cert_info_free(struct crypto_cert_info *info);
/* Verify c (with any intermediates that follow it) against the trusted
 * certificates in ca at the current time; purpose CRYPTO_CERT_SERVER or
 * CLIENT also requires that extended key usage (or none) and
 * digitalSignature.  0, or -1 with a reason. */
int crypto_cert_verify(const struct crypto_cert *c, const struct crypto_cert *ca,
                       enum crypto_cert_kind purpose, char *why, size_t whylen);

/* ---------------------------------------------------------------- ident.c */

/* gethostname(2) nodename (Python socket.gethostname()). */
const char *ident_hostname(char *buf, size_t len);
/* KDF username chain (reference): USER (even if empty), else USERNAME,
 * else "unknown".  Returns a pointer into the environment or a literal. */
const char *ident_kdf_user(void);
/* Audit user chain (reference): getlogin(), else pw_name of getuid(), else
 * USER, else USERNAME, else "unknown".  Copies into buf. */
const char *ident_audit_user(char *buf, size_t len);
/* RFC 3339 UTC time with milliseconds truncated: 2026-11-22T19:00:06.281Z
 * (24 chars + NUL).  ts_ms is milliseconds since the epoch. */
#define RFC3339_MS_LEN 25
void time_rfc3339_ms(int64_t ts_ms, char out[RFC3339_MS_LEN]);
int64_t time_now_ms(void);          /* CLOCK_REALTIME */
int64_t time_mono_ms(void);         /* CLOCK_MONOTONIC */
/* Parse RFC 3339 (Z or +hh:mm offset, optional fraction) to ms since the
 * epoch.  0 or -1. */
int time_parse_rfc3339(const char *s, int64_t *ms);

/* --------------------------------------------------------------- config.c */

/* apcore.yaml, read with libyaml and flattened to dot keys (auth.api_key).
 * Every scalar leaf is an entry; sequences are entries of kind CFG_SEQ with
 * no value.  Byte offsets allow in-place editing. */
enum cfg_kind { CFG_SCALAR, CFG_NULL, CFG_SEQ, CFG_MAP };

struct cfg_entry {
	char *key;          /* dotted path */
	char *value;        /* scalar text (NULL for CFG_NULL/SEQ/MAP) */
	enum cfg_kind kind;
	int plain;          /* plain (unquoted) scalar style */
	size_t start, end;  /* byte range of the value node in the file text */
	int line, col;      /* 1-based position of the value */
};

struct cfg {
	char *path;
	char *text;         /* the file's bytes, NUL-terminated */
	size_t len;
	struct cfg_entry *e;
	size_t n;
};

/* Load path.  Returns 0, or -1 with "PATH:LINE:COL: reason" in err.
 * A missing file is -1 with errno ENOENT and an error message, so callers
 * that treat "no config" as empty can check errno. */
int cfg_load(struct cfg *c, const char *path, char *err, size_t errlen);
/* Same from a buffer (name used in messages). */
int cfg_load_mem(struct cfg *c, const char *name, const char *text, size_t len,
                 char *err, size_t errlen);
const struct cfg_entry *cfg_get(const struct cfg *c, const char *key);
void cfg_free(struct cfg *c);
/* Among n libyaml scalar nodes, the first one (in order) equal to an
 * earlier one: 1 with *second its index and *first the earlier one's, or 0.
 * O(n log n).  (For config.c, policy.c: duplicate keys, repeated items.) */
struct yaml_node_s;
int yaml_first_dup(const struct yaml_node_s *const *nodes, size_t n, size_t *first,
                   size_t *second);

/* -------------------------------------------------------------- keyring.c */

/* Secret Service through libsecret.  Every call is bounded by timeout_ms
 * (a D-Bus peer that never answers cannot hang us).  When the keyring is
 * compiled out every call returns KR_DISABLED. */
enum kr_status {
	KR_OK = 0,
	KR_NOTFOUND,      /* no such item */
	KR_NOBUS,         /* no D-Bus session / no Secret Service */
	KR_LOCKED,        /* collection locked and could not be unlocked */
	KR_TIMEOUT,       /* peer did not answer in time */
	KR_ERROR,         /* anything else (message in why) */
	KR_DISABLED,      /* compiled out */
};
#define KR_DEFAULT_TIMEOUT_MS 2000

const char *kr_status_str(enum kr_status s);
/* Is a usable backend there?  why gets a one-line reason when not. */
enum kr_status kr_probe(int timeout_ms, char *why, size_t whylen);
/* Items use the Python keyring library's attributes: service, username
 * (plus application), so both read each other's entries. */
enum kr_status kr_store(const char *service, const char *account, const void *secret,
                        size_t len, int timeout_ms, char *why, size_t whylen);
/* *secret is secure_alloc()ed, NUL-terminated; release with secure_free. */
enum kr_status kr_lookup(const char *service, const char *account, char **secret,
                         size_t *len, int timeout_ms, char *why, size_t whylen);
enum kr_status kr_delete(const char *service, const char *account, int timeout_ms,
                         char *why, size_t whylen);

/* -------------------------------------------------------------- secrets.c */

/* Secret values in config files, in the apcore-cli token formats
 *   keyring:NAME      Secret Service item service=apcore-cli username=NAME
 *   enc:v2:B64        salt16|nonce12|tag16|ct, PBKDF2-SHA256 600k of the
 *                     passphrase or "hostname:user" (reference, default)
 *   enc:B64           legacy v1: nonce12|tag16|ct, static salt, 100k/600k
 * plus apcore's own (docs/encrypt-format.md)
 *   enc:v3:KID:EXP:B64  salt16|nonce12|tag16|ct under HKDF(master key, salt),
 *                     AAD binds the header and the config key
 * Anything else is plaintext and passes through unchanged. */
enum sec_format { SEC_FMT_PLAIN, SEC_FMT_KEYRING, SEC_FMT_V1, SEC_FMT_V2, SEC_FMT_V3 };

enum sec_status {
	SEC_OK = 0,
	SEC_DECRYPT,     /* authentication failed: wrong material, tampered, moved */
	SEC_MALFORMED,   /* not a well-formed token of its format */
	SEC_NOKEY,       /* v3: its master key is not available here */
	SEC_EXPIRED,     /* v3: past its expiry */
	SEC_KEYRING,     /* keyring entry missing or keyring unusable */
};

#define SEC_KEYRING_SERVICE "apcore-cli"
#define SEC_PBKDF2_V2_ITER 600000u
#define SEC_PBKDF2_V1_ITER_OLD 100000u

enum sec_format sec_format_of(const char *token);
const char *sec_format_name(enum sec_format f);

struct sec_ctx;
struct sec_ctx *sec_ctx_new(void);
void sec_ctx_free(struct sec_ctx *c);
/* Key material for v1/v2: NULL arguments mean this machine (gethostname,
 * USER/USERNAME chain) and APCORE_CLI_CONFIG_PASSPHRASE. */
void sec_ctx_set_identity(struct sec_ctx *c, const char *hostname, const char *user);
/* Where the v3 master key lives: a key file, or NULL for the default search
 * ($APCORE_ENCRYPT_KEY_FILE, the keyring, ~/.config/apcore/master.key). */
void sec_ctx_set_key_file(struct sec_ctx *c, const char *path);
void sec_ctx_set_keyring_timeout(struct sec_ctx *c, int timeout_ms);

/* Resolve a config value to its plaintext (secure_alloc()ed, NUL-terminated).
 * key is the config key: used in messages and bound into v3 tokens. */
enum sec_status sec_resolve(struct sec_ctx *c, const char *key, const char *token,
                            char **plain, size_t *plen, char *msg, size_t msglen);
/* Derive the keys of many v2 tokens at once on every core (each has its
 * own salt, so this is the only sharing there is); sec_resolve then uses
 * them.  Optional: a plain sec_resolve derives what it needs. */
void sec_prefetch(struct sec_ctx *c, const char *const *tokens, size_t n);
/* enc:v2: token of plain (UTF-8) with fresh salt and nonce. */
char *sec_encrypt_v2(struct sec_ctx *c, const void *plain, size_t len);
/* enc:v3: token bound to key; expires: seconds since the epoch, 0 = never. */
enum sec_status sec_encrypt_v3(struct sec_ctx *c, const char *key, const void *plain,
                               size_t len, int64_t expires, char **token,
                               char *msg, size_t msglen);
/* Store plain in the keyring under account key; *token = "keyring:KEY". */
enum sec_status sec_store_keyring(struct sec_ctx *c, const char *key, const void *plain,
                                  size_t len, char **token, char *msg, size_t msglen);
/* Parse the visible header of a v3 token (no key needed); returns the
 * offset of its base64 body, or -1. */
int sec_v3_header(const char *token, char kid[17], int64_t *expires);

/* The v3 master key.  init creates one (never overwriting) in the keyring
 * (to_keyring) or in a 0600 key file, and returns its id. */
enum sec_status sec_master_init(struct sec_ctx *c, int to_keyring, const char *path,
                                char kid[17], char *msg, size_t msglen);
/* Id of the master key that sealing would use now. */
enum sec_status sec_master_id(struct sec_ctx *c, char kid[17], char *where, size_t wherelen,
                              char *msg, size_t msglen);
char *sec_default_key_file(void);

/* ------------------------------------------------------------------ jwt.c */

/* JSON Web Tokens (RFC 7519) in compact JWS form, HS256 and ES256 only.
 * The verifier pins the algorithm; the token's "alg" must equal it ("none"
 * and everything else are refused), a "crit" header is refused, header and
 * claims must be JSON objects without duplicate keys, every part strict
 * base64url, ES256 signatures raw r||s (64 bytes), HMAC tags compared in
 * constant time.  "exp" is required; "nbf" and "iat" are checked when
 * present, all with a bounded leeway. */
enum jwt_alg { JWT_HS256 = 1, JWT_ES256 };

enum jwt_status {
	JWT_OK = 0,
	JWT_MALFORMED,        /* not a well-formed token, or bad claim types */
	JWT_BAD_ALG,          /* header alg differs from the pinned one */
	JWT_UNSUPPORTED,      /* crit header parameters */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,    /* nbf (or iat) in the future */
	JWT_BAD_ISSUER,
	JWT_BAD_AUDIENCE,
};

#define JWT_MAX_LEN (64u << 10)
#define JWT_LEEWAY_DEFAULT 60
#define JWT_LEEWAY_MAX 300
#define JWT_HMAC_MIN_KEY 32     /* RFC 7518 3.2: at least the hash size */
#define JWT_KEY_CAP (64u << 10) /* key files are read up to this size */

int jwt_alg_parse(const char *name, enum jwt_alg *alg);
const char *jwt_alg_name(enum jwt_alg alg);
const char *jwt_status_str(enum jwt_status s);

/* Key material from a key file's bytes.  HS256: the whole file is the
 * secret (at least 32 bytes; PEM or SSH public keys are refused so a public
 * key can never become an HMAC secret).  ES256: a PEM/DER public key or
 * certificate to verify, a PEM/DER private key to sign. */
struct jwt_key;
struct jwt_key *jwt_key_new(enum jwt_alg alg, int for_signing, const void *data, size_t len,
                            char *why, size_t whylen);
void jwt_key_free(struct jwt_key *k);
/* The same from a file.  Secret material (HS256 secrets, private keys)
 * must be a regular file that group and others cannot access at all. */
struct jwt_key *jwt_key_load(enum jwt_alg alg, int for_signing, const char *path, char *why,
                             size_t whylen);

struct jwt_verify_opts {
	enum jwt_alg alg;
	const struct jwt_key *key;
	const char *iss;   /* required issuer, or NULL for any */
	const char *aud;   /* our audience; NULL refuses every token that has "aud" */
	int64_t now;       /* seconds since the epoch */
	int leeway;        /* seconds, 0..JWT_LEEWAY_MAX */
};
/* Verify token (len bytes, no surrounding whitespace).  On JWT_OK the
 * claims set, canonical compact JSON with sorted keys, is appended to
 * claims (when not NULL).  Otherwise a one-line reason is left in why. */
enum jwt_status jwt_verify(const struct jwt_verify_opts *o, const char *token, size_t len,
                           struct strbuf *claims, char *why, size_t whylen);
/* A token for the claims JSON object (written canonically) under the
 * header {"alg":ALG,"typ":"JWT"}.  NULL with a reason. */
char *jwt_sign(enum jwt_alg alg, const struct jwt_key *key, const char *claims, size_t len,
               char *why, size_t whylen);

/* --------------------------------------------------------------- sshsig.c */

/* OpenSSH signatures (PROTOCOL.sshsig) as 'ssh-keygen -Y sign/verify' make
 * and check them, with ecdsa-sha2-nistp256 keys, and the allowed-signers
 * files of ssh-keygen(1): principal pattern lists ('*', '?', '!'),
 * namespaces="...", valid-after/valid-before (YYYYMMDD[HHMM[SS]], local
 * time unless suffixed Z or UTC); cert-authority lines never match (no
 * certificate support).  The message is hashed as it streams: sha512 (what
 * ssh-keygen uses) or sha256. */
enum sshsig_hash { SSHSIG_SHA512 = 0, SSHSIG_SHA256 };

enum sshsig_status {
	SSHSIG_OK = 0,
	SSHSIG_MALFORMED,     /* not an armored SSH signature we can read */
	SSHSIG_UNSUPPORTED,   /* key type other than ecdsa-sha2-nistp256, hash, version */
	SSHSIG_NAMESPACE,     /* made for another namespace */
	SSHSIG_BAD,           /* does not match the message */
	SSHSIG_NOT_ALLOWED,   /* key not allowed for the identity, namespace or time */
	SSHSIG_ERROR,         /* cannot read the message or the allowed-signers file */
};
const char *sshsig_status_str(enum sshsig_status s);

#define SSHSIG_MAX_LEN (64u << 10)      /* armored signature */
#define SSHSIG_ALLOWED_CAP (4u << 20)   /* allowed-signers file */
#define SSHSIG_FP_LEN 51                /* "SHA256:" + 43 + NUL */

/* The service other applets call: is sig (armored) a valid signature of
 * the message, in namespace ns, by a key that allowed_signers (a file)
 * lists for identity at time now (0: the current time)?  The message is
 * read from msg_fd to EOF, or taken from msg/msglen (verify_buf).  On
 * SSHSIG_OK the key's fingerprint is left in fp (when not NULL); otherwise
 * a one-line reason in why. */
enum sshsig_status sshsig_verify_fd(int msg_fd, const char *sig, size_t siglen,
                                    const char *allowed_signers, const char *identity,
                                    const char *ns, int64_t now, char fp[SSHSIG_FP_LEN],
                                    char *why, size_t whylen);
enum sshsig_status sshsig_verify_buf(const void *msg, size_t msglen, const char *sig,
                                     size_t siglen, const char *allowed_signers,
                                     const char *identity, const char *ns, int64_t now,
                                     char fp[SSHSIG_FP_LEN], char *why, size_t whylen);

/* The pieces, for callers that hold things in memory (and for tests). */
struct sshsig;  /* a parsed signature */
enum sshsig_status sshsig_parse(const char *armored, size_t len, struct sshsig **out,
                                char *why, size_t whylen);
void sshsig_free(struct sshsig *s);
const char *sshsig_namespace(const struct sshsig *s);
enum sshsig_hash sshsig_hash_alg(const struct sshsig *s);
const struct crypto_pk *sshsig_key(const struct sshsig *s);
/* Check s against the digest of the message under sshsig_hash_alg(s). */
enum sshsig_status sshsig_check_digest(const struct sshsig *s, const uint8_t *digest,
                                       size_t dlen, char *why, size_t whylen);
/* Does the allowed-signers text (name is used in messages) let key sign
 * for identity in namespace ns at time now?  SSHSIG_OK or NOT_ALLOWED. */
enum sshsig_status sshsig_allowed(const char *text, size_t len, const char *name,
                                  const struct crypto_pk *key, const char *identity,
                                  const char *ns, int64_t now, char *why, size_t whylen);
/* ssh-keygen's time forms; 0 or -1. */
int sshsig_parse_time(const char *s, int64_t *t);
/* ssh-keygen's pattern lists: 1 match, 0 no match, -1 negated match. */
int sshsig_match_list(const char *s, const char *patterns);

/* Sign the message read from fd to EOF / the buffer.  Returns the armored
 * signature (heap) or NULL with a reason. */
char *sshsig_sign_fd(const struct crypto_pk *key, int fd, const char *ns, enum sshsig_hash h,
                     char *why, size_t whylen);
char *sshsig_sign_buf(const struct crypto_pk *key, const void *msg, size_t len, const char *ns,
                      enum sshsig_hash h, char *why, size_t whylen);

/* Keys: an unencrypted OpenSSH private key (openssh-key-v1, as made by
 * 'ssh-keygen -t ecdsa -b 256 -N ""'), or a PEM/DER EC private key; a
 * public key line "ecdsa-sha2-nistp256 AAAA... [comment]". */
int sshsig_key_parse_private(const void *buf, size_t len, struct crypto_pk **out, char *why,
                             size_t whylen);
int sshsig_key_parse_public(const char *line, size_t len, struct crypto_pk **out, char *why,
                            size_t whylen);
/* "ecdsa-sha2-nistp256 AAAA..." (heap), and "SHA256:..." as ssh-keygen -l. */
/* Read and parse a private key file (either format above); like ssh, the
 * file must be regular and inaccessible to group and others. */
int sshsig_key_load(const char *path, struct crypto_pk **out, char *why, size_t whylen);
char *sshsig_pubkey_line(const struct crypto_pk *k);
void sshsig_fingerprint(const struct crypto_pk *k, char fp[SSHSIG_FP_LEN]);

#endif
