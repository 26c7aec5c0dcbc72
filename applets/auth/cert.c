/* cert.c - 'cert ca|server|client|identity': EC P-256 keys and certificates
 * for mutual TLS, and the policy subject of a client certificate.
 *
 * Certificate writing and reading live in libcommon/crypto.c; this file
 * validates names, picks validity and serials, and writes the files.
 */
#include "apcore.h"
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define CERT_CAP (1u << 20)
#define MAX_SAN 64
#define BACKDATE 300            /* seconds of clock skew a new certificate tolerates */
#define CA_DAYS 365
#define CA_DAYS_MAX 3650
#define LEAF_DAYS 30
#define LEAF_DAYS_MAX 397

static const char cert_help[] =
	"usage: apcore-auth cert ca --cn NAME --out PREFIX [--days N]\n"
	"       apcore-auth cert server|client --ca-cert FILE --ca-key FILE --cn NAME\n"
	"                   [--dns NAME]... [--ip ADDR]... [--uri URI]... --out PREFIX\n"
	"                   [--days N]\n"
	"       apcore-auth cert identity [--ca-cert FILE] [--json] CERT\n"
	"\n"
	"Material for mutual TLS: EC P-256 keys, ECDSA-SHA256 certificates.  ca,\n"
	"server and client write PREFIX.key (the private key, PEM, mode 0600) and\n"
	"PREFIX.crt (the certificate, PEM); neither may exist: nothing is ever\n"
	"overwritten.\n"
	"  ca       a self-signed CA: basicConstraints CA:TRUE pathlen 0 and keyUsage\n"
	"           keyCertSign, cRLSign, both critical; 365 days unless --days\n"
	"  server   a leaf for TLS servers (extendedKeyUsage serverAuth) signed by\n"
	"           the CA; 30 days unless --days\n"
	"  client   the same for TLS clients (extendedKeyUsage clientAuth)\n"
	"Leaves get basicConstraints CA:FALSE, keyUsage digitalSignature (critical),\n"
	"subject and authority key identifiers, and a subjectAltName from --dns,\n"
	"--ip and --uri (each repeatable), else from the CN when it is an IP address\n"
	"or a host name (a server needs one, a client may go without).\n"
	"  --cn NAME           common name: 1-64 printable ASCII characters, none of\n"
	"                      , + \" \\ < > ; = # and no surrounding spaces\n"
	"  --out PREFIX        write PREFIX.key and PREFIX.crt\n"
	"  --days N            validity from 5 minutes ago: 1-3650 days for a CA,\n"
	"                      1-397 for a leaf, never past the CA's own expiry\n"
	"  --ca-cert FILE      the issuing CA's certificate (from 'cert ca')\n"
	"  --ca-key FILE       its private key (mode 0600)\n"
	"  --dns NAME          a DNS name (a leading '*.' makes a wildcard)\n"
	"  --ip ADDR           an IPv4 or IPv6 address\n"
	"  --uri URI           a URI, e.g. spiffe://example.org/ns/prod/sa/api\n"
	"Serial numbers are 127 random bits.\n"
	"\n"
	"identity prints the name a policy should take as subject for a client\n"
	"certificate: its spiffe:// URI SAN when it has one (two are refused), else\n"
	"its common name.  With --ca-cert the certificate must first verify against\n"
	"that CA for client authentication, now; without it, the certificate is\n"
	"taken as already verified (by the TLS terminator that accepted it).\n"
	"  --json              print {identity, source (uri or cn), subject, serial,\n"
	"                      not_before, not_after, dns, ip, uri, verified}\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage, 77 the certificate does not verify or\n"
	"yields no usable identity.\n";

enum { O_CN = 256, O_OUT, O_DAYS, O_CA_CERT, O_CA_KEY, O_DNS, O_IP, O_URI, O_JSON };
#define B(o) (1u << ((o) - 256))
#define REPEATABLE (B(O_DNS) | B(O_IP) | B(O_URI))

static const struct option longopts[] = {
	{ "cn", required_argument, NULL, O_CN },
	{ "out", required_argument, NULL, O_OUT },
	{ "days", required_argument, NULL, O_DAYS },
	{ "ca-cert", required_argument, NULL, O_CA_CERT },
	{ "ca-key", required_argument, NULL, O_CA_KEY },
	{ "dns", required_argument, NULL, O_DNS },
	{ "ip", required_argument, NULL, O_IP },
	{ "uri", required_argument, NULL, O_URI },
	{ "json", no_argument, NULL, O_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	const char *cn, *out, *ca_cert, *ca_key;
	long days;
	int json;
	struct crypto_san san[MAX_SAN];
	uint8_t ipbuf[MAX_SAN][16];
	size_t nsan;
	unsigned seen;
};

/* RFC 1123 host name; with wildcard, a leading "*." label is allowed. */
static int hostname_ok(const char *s, int wildcard)
{
	size_t n = strlen(s);
	if (wildcard && !strncmp(s, "*.", 2)) {
		s += 2;
		n -= 2;
	}
	if (n == 0 || n > 253)
		return 0;
	for (const char *label = s; *label;) {
		size_t len = strcspn(label, ".");
		if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
			return 0;
		for (size_t i = 0; i < len; i++) {
			char c = label[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '-'))
				return 0;
		}
		label += len;
		if (*label == '.' && !*++label)
			return 0;
	}
	return 1;
}

/* scheme ":" then visible ASCII (RFC 3986 characters, unchecked beyond that). */
static int uri_ok(const char *s)
{
	size_t n = strlen(s), scheme = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                          "0123456789+.-");
	if (n == 0 || n > 2048 || scheme == 0 || s[scheme] != ':' || !((s[0] | 0x20) >= 'a' &&
	                                                               (s[0] | 0x20) <= 'z'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || strchr("\"<>\\^`{|}", s[i]))
			return 0;
	return 1;
}

/* An IP address into ip (4 or 16 bytes); returns the length or 0. */
static size_t parse_ip(const char *s, uint8_t ip[16])
{
	if (inet_pton(AF_INET, s, ip) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, ip) == 1)
		return 16;
	return 0;
}

static void add_san(struct opts *o, enum crypto_san_type t, const char *arg)
{
	if (o->nsan == MAX_SAN)
		die_usage("at most %d subject alternative names", MAX_SAN);
	struct crypto_san *s = &o->san[o->nsan];
	s->type = t;
	if (t == CRYPTO_SAN_IP) {
		if (!(s->len = parse_ip(arg, o->ipbuf[o->nsan])))
			die_usage("--ip: '%s' is not an IPv4 or IPv6 address", arg);
		s->data = o->ipbuf[o->nsan];
	} else {
		if (t == CRYPTO_SAN_DNS && !hostname_ok(arg, 1))
			die_usage("--dns: '%s' is not a host name", arg);
		if (t == CRYPTO_SAN_URI && !uri_ok(arg))
			die_usage("--uri: '%s' is not a URI (scheme:rest, visible ASCII)", arg);
		s->data = arg;
		s->len = strlen(arg);
	}
	o->nsan++;
}

static int parse_opts(int argc, char **argv, unsigned allowed, struct opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		opt_accept(longopts, c, argv, "cert", allowed, REPEATABLE, &o->seen);
		switch (c) {
		case O_CN: o->cn = optarg; break;
		case O_OUT:
			if (!*optarg)
				die_usage("--out wants a file name prefix");
			o->out = optarg;
			break;
		case O_DAYS: {
			char *end;
			errno = 0;
			o->days = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || o->days < 1)
				die_usage("--days wants a positive number of days");
			break;
		}
		case O_CA_CERT: o->ca_cert = optarg; break;
		case O_CA_KEY: o->ca_key = optarg; break;
		case O_DNS: add_san(o, CRYPTO_SAN_DNS, optarg); break;
		case O_IP: add_san(o, CRYPTO_SAN_IP, optarg); break;
		case O_URI: add_san(o, CRYPTO_SAN_URI, optarg); break;
		case O_JSON: o->json = 1; break;
		}
	}
	return 0;
}

static struct crypto_cert *load_cert(const char *path)
{
	char *text, why[256];
	size_t len;
	struct crypto_cert *c;
	if (read_file_capped(path, CERT_CAP, &text, &len) != 0)
		die_errno("cannot read %s", path);
	if (crypto_cert_parse(text, len, &c, why, sizeof(why)) != 0)
		die("%s: %s", path, why);
	free(text);
	return c;
}

/* Create path exclusively (never through a symlink, never over a file). */
static int create_excl(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		die_errno(errno == EEXIST ? "%s exists; nothing is overwritten" : "cannot create %s",
		          path);
	return fd;
}

static void write_pair(const char *prefix, const char *key, size_t keylen, const char *crt)
{
	char *kpath = xasprintf("%s.key", prefix), *cpath = xasprintf("%s.crt", prefix);
	int kfd = create_excl(kpath, 0600), cfd = -1;
	cfd = open(cpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (cfd < 0) {
		int e = errno;
		unlink(kpath);
		errno = e;
		die_errno(e == EEXIST ? "%s exists; nothing is overwritten" : "cannot create %s", cpath);
	}
	if (write_full(kfd, key, keylen) || fsync(kfd) || close(kfd) ||
	    write_full(cfd, crt, strlen(crt)) || fsync(cfd) || close(cfd)) {
		int e = errno;
		unlink(kpath);
		unlink(cpath);
		errno = e;
		die_errno("cannot write %s and %s", kpath, cpath);
	}
	fprintf(stderr, "%s: wrote %s (private key, 0600) and %s\n", applet_name, kpath, cpath);
	free(kpath);
	free(cpath);
}

static int cmd_issue(int argc, char **argv, enum crypto_cert_kind kind)
{
	struct opts o;
	unsigned allowed = B(O_CN) | B(O_OUT) | B(O_DAYS);
	if (kind != CRYPTO_CERT_CA)
		allowed |= B(O_CA_CERT) | B(O_CA_KEY) | B(O_DNS) | B(O_IP) | B(O_URI);
	if (parse_opts(argc, argv, allowed, &o)) {
		fputs(cert_help, stdout);
		return 0;
	}
	if (optind != argc)
		die_usage("'cert %s' takes no operands", argv[0]);
	if (!o.cn || !o.out)
		die_usage("--cn NAME and --out PREFIX are required");
	long maxdays = kind == CRYPTO_CERT_CA ? CA_DAYS_MAX : LEAF_DAYS_MAX;
	if (!o.days)
		o.days = kind == CRYPTO_CERT_CA ? CA_DAYS : LEAF_DAYS;
	if (o.days > maxdays)
		die_usage("--days: at most %ld for a %s", maxdays, kind == CRYPTO_CERT_CA ? "CA" : "leaf");

	struct crypto_cert_req r;
	memset(&r, 0, sizeof(r));
	int64_t now = time_now_ms() / 1000;
	r.kind = kind;
	r.cn = o.cn;
	r.not_before = now - BACKDATE;
	r.not_after = now + o.days * 86400;
	xcrypto_random(r.serial, sizeof(r.serial));
	r.serial[0] &= 0x7f;
	r.serial[0] |= r.serial[0] ? 0 : 0x40;   /* positive and never zero */

	struct crypto_cert *ca = NULL;
	struct crypto_pk *cakey = NULL, *key;
	char why[512];
	if (kind != CRYPTO_CERT_CA) {
		if (!o.ca_cert || !o.ca_key)
			die_usage("--ca-cert FILE and --ca-key FILE are required");
		ca = load_cert(o.ca_cert);
		struct crypto_cert_info ci;
		if (crypto_cert_info(ca, &ci, why, sizeof(why)))
			die("%s: %s", o.ca_cert, why);
		if (!ci.is_ca)
			die("%s is not a CA certificate (basicConstraints CA:TRUE)", o.ca_cert);
		if (ci.not_after <= now)
			die("the CA %s has expired", o.ca_cert);
		if (r.not_after > ci.not_after)
			die("the certificate would outlive its CA (%s expires in %lld days); use --days %lld "
			    "or less", o.ca_cert, (long long)((ci.not_after - now) / 86400),
			    (long long)((ci.not_after - now) / 86400));
		crypto_cert_info_free(&ci);
		if (sshsig_key_load(o.ca_key, &cakey, why, sizeof(why)))
			die("%s", why);
		if (o.nsan == 0) {
			uint8_t ip[16];
			size_t n = parse_ip(o.cn, ip);
			if (n || hostname_ok(o.cn, 0))
				add_san(&o, n ? CRYPTO_SAN_IP : CRYPTO_SAN_DNS, o.cn);
			else if (kind == CRYPTO_CERT_SERVER)
				die_usage("a server certificate needs a name clients can check: --dns or --ip "
				          "(the CN '%s' is not a host name)", o.cn);
		}
		r.san = o.san;
		r.nsan = o.nsan;
	}
	key = crypto_pk_generate();
	r.key = key;
	r.ca_key = cakey ? cakey : key;
	r.ca = ca;
	char *crt = crypto_cert_issue(&r, why, sizeof(why));
	if (!crt)
		die("%s", why);
	size_t keylen;
	char *pem = crypto_pk_private_pem(key, &keylen);
	write_pair(o.out, pem, keylen, crt);
	secure_free(pem);
	free(crt);
	crypto_pk_free(key);
	crypto_pk_free(cakey);
	crypto_cert_free(ca);
	return 0;
}

static void rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

static void jw_list(struct jw *w, const char *key, char **v, size_t n)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		jw_str(w, v[i]);
	jw_arr_end(w);
}

static int cmd_identity(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, B(O_CA_CERT) | B(O_JSON), &o)) {
		fputs(cert_help, stdout);
		return 0;
	}
	if (argc - optind != 1)
		die_usage("usage: apcore-auth cert identity [--ca-cert FILE] [--json] CERT");
	const char *path = argv[optind];
	struct crypto_cert *c = load_cert(path), *ca = NULL;
	struct crypto_cert_info info;
	char why[512];
	if (crypto_cert_info(c, &info, why, sizeof(why)))
		die_code(APC_EX_AUTH, "%s: %s", path, why);
	if (o.ca_cert) {
		ca = load_cert(o.ca_cert);
		if (crypto_cert_verify(c, ca, CRYPTO_CERT_CLIENT, why, sizeof(why)))
			die_code(APC_EX_AUTH, "%s: not a valid client certificate for %s: %s", path,
			         o.ca_cert, why);
	}
	if (info.is_ca)
		die_code(APC_EX_AUTH, "%s is a CA certificate, not a client's", path);

	const char *id = NULL, *source = "uri";
	for (size_t i = 0; i < info.nuri; i++) {
		if (strncmp(info.uri[i], "spiffe://", 9))
			continue;
		if (id)
			die_code(APC_EX_AUTH, "%s has several spiffe:// URIs; the identity is ambiguous",
			         path);
		id = info.uri[i];
	}
	if (!id) {
		source = "cn";
		if (info.ncn != 1 || !info.cn || !*info.cn)
			die_code(APC_EX_AUTH, "%s has %s common name and no spiffe:// URI: no identity",
			         path, info.ncn > 1 ? "more than one" : "no");
		id = info.cn;
	}
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			die_code(APC_EX_AUTH, "%s: the identity contains control characters", path);

	if (o.json) {
		struct strbuf out = STRBUF_INIT;
		struct jw w;
		char nb[32], na[32];
		rfc3339(info.not_before, nb);
		rfc3339(info.not_after, na);
		jw_init(&w, &out, JSON_COMPACT);
		jw_obj_begin(&w);
		jw_kv_str(&w, "identity", id);
		jw_kv_str(&w, "source", source);
		jw_kv_str(&w, "subject", info.subject);
		jw_kv_str(&w, "serial", info.serial);
		jw_kv_str(&w, "not_before", nb);
		jw_kv_str(&w, "not_after", na);
		jw_list(&w, "dns", info.dns, info.ndns);
		jw_list(&w, "ip", info.ip, info.nip);
		jw_list(&w, "uri", info.uri, info.nuri);
		jw_kv_bool(&w, "verified", ca != NULL);
		jw_obj_end(&w);
		sb_putc(&out, '\n');
		xwrite_full(STDOUT_FILENO, out.buf, out.len);
		sb_free(&out);
	} else {
		printf("%s\n", id);
	}
	crypto_cert_info_free(&info);
	crypto_cert_free(c);
	crypto_cert_free(ca);
	return 0;
}

int auth_cmd_cert(int argc, char **argv)
{
	if (argc < 2)
		die_usage("cert wants a command: ca, server, client or identity");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(cert_help, stdout);
		return 0;
	}
	optind = 0;
	if (!strcmp(argv[1], "ca"))
		return cmd_issue(argc - 1, argv + 1, CRYPTO_CERT_CA);
	if (!strcmp(argv[1], "server"))
		return cmd_issue(argc - 1, argv + 1, CRYPTO_CERT_SERVER);
	if (!strcmp(argv[1], "client"))
		return cmd_issue(argc - 1, argv + 1, CRYPTO_CERT_CLIENT);
	if (!strcmp(argv[1], "identity"))
		return cmd_identity(argc - 1, argv + 1);
	die_usage("unknown cert command '%s' (ca, server, client or identity)", argv[1]);
}
