/* sign.c - SSH signatures for command signing: 'sign', and 'verify
 * --signature' (auth_verify_sig, called by auth_cmd_verify).
 *
 * The format work lives in libcommon/sshsig.c, which the sandbox calls as
 * well to refuse unsigned commands; this file is the command line.
 */
#include "apcore.h"
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char sign_help[] =
	"usage: apcore-auth sign --key FILE -n NAMESPACE [--hash sha512|sha256] [FILE]\n"
	"       apcore-auth sign --keygen --key FILE [-I IDENTITY [-n NAMESPACE]]\n"
	"       apcore-auth sign --print-pubkey --key FILE [-I IDENTITY [-n NAMESPACE]]\n"
	"\n"
	"Sign FILE (default: stdin, hashed as it streams) and print the armored SSH\n"
	"signature (-----BEGIN SSH SIGNATURE-----), the format of 'ssh-keygen -Y\n"
	"sign': 'ssh-keygen -Y verify' and 'apcore-auth verify --signature' check it.\n"
	"  --key FILE           an ecdsa-sha2-nistp256 private key: PEM (SEC1 or\n"
	"                       PKCS#8, as --keygen and 'cert' write it) or an\n"
	"                       unencrypted OpenSSH key (ssh-keygen -t ecdsa -b 256\n"
	"                       -N ''); readable by its owner only\n"
	"  -n, --namespace NS   what the signature is for (file, git, apcore-sandbox,\n"
	"                       ...); it never verifies for another namespace\n"
	"  --hash ALG           message hash: sha512 (default, as ssh-keygen) or sha256\n"
	"  --keygen             create a new EC P-256 key in FILE (mode 0600, never\n"
	"                       overwritten) and print its public key\n"
	"  --print-pubkey       print the key's public half: ecdsa-sha2-nistp256 AAAA...\n"
	"  -I, --identity ID    with --keygen or --print-pubkey: print an allowed-signers\n"
	"                       line instead, ID [namespaces=\"NS\"] KEY\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage.\n";

static const char verify_help[] =
	"usage: apcore-auth verify --signature SIG -f ALLOWED_SIGNERS -I IDENTITY\n"
	"                          -n NAMESPACE [FILE]\n"
	"\n"
	"Check the SSH signature in SIG of FILE (default: stdin) as 'ssh-keygen -Y\n"
	"verify' does: made for NAMESPACE, valid for the message, by a key that\n"
	"ALLOWED_SIGNERS lists for IDENTITY.  Each line of that file is\n"
	"  PRINCIPALS [OPTIONS] ecdsa-sha2-nistp256 BASE64 [COMMENT]\n"
	"with PRINCIPALS a comma list of patterns ('*', '?', '!' to exclude) and\n"
	"OPTIONS namespaces=\"LIST\", valid-after=\"TIME\", valid-before=\"TIME\"\n"
	"(TIME: YYYYMMDD[HHMM[SS]], local time unless followed by Z);\n"
	"cert-authority lines and other key types never match.  Prints\n"
	"  Good \"NAMESPACE\" signature for IDENTITY with ECDSA key SHA256:...\n"
	"  --signature SIG              the armored signature ('-': stdin, then the\n"
	"                               message must be FILE)\n"
	"  -f, --allowed-signers FILE   the allowed-signers file\n"
	"  -I, --identity ID            the principal that must have signed\n"
	"  -n, --namespace NS           the namespace the signature must be for\n"
	"  -q, --quiet                  print nothing on success\n"
	"\n"
	"Exit status: 0 good signature, 1 error (unreadable file), 2 usage,\n"
	"77 rejected (malformed, wrong namespace, bad signature, signer not allowed).\n";

enum { O_KEY = 256, O_HASH, O_KEYGEN, O_PRINT };

/* Refuse an option given twice: bit = its index in longopts. */
static void once(const struct option *l, unsigned *seen, int c)
{
	for (unsigned i = 0; l[i].name; i++) {
		if (l[i].val != c)
			continue;
		if (*seen & (1u << i))
			die_usage("--%s given twice", l[i].name);
		*seen |= 1u << i;
		return;
	}
}

/* Text for an allowed-signers line: no blanks, quotes or control chars. */
static void check_field(const char *what, const char *s)
{
	if (!*s)
		die_usage("%s must not be empty", what);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
			die_usage("%s must not contain blanks, quotes, backslashes or control characters",
			          what);
}

static void print_pubkey(const struct crypto_pk *k, const char *identity, const char *ns)
{
	char *line = sshsig_pubkey_line(k);
	if (identity && ns)
		printf("%s namespaces=\"%s\" %s\n", identity, ns, line);
	else if (identity)
		printf("%s %s\n", identity, line);
	else
		printf("%s\n", line);
	free(line);
}

static int keygen(const char *path, const char *identity, const char *ns)
{
	/* the file first: nothing generated for a path we may not use */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die_errno(errno == EEXIST ? "%s exists; keys are never overwritten" : "cannot create %s",
		          path);
	struct crypto_pk *k = crypto_pk_generate();
	size_t len;
	char *pem = crypto_pk_private_pem(k, &len);
	if (write_full(fd, pem, len) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		int e = errno;
		unlink(path);
		crypto_pk_free(k);
		errno = e;
		die_errno("cannot write %s", path);
	}
	secure_free(pem);
	print_pubkey(k, identity, ns);
	crypto_pk_free(k);
	return 0;
}

int auth_cmd_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "namespace", required_argument, NULL, 'n' },
		{ "hash", required_argument, NULL, O_HASH },
		{ "keygen", no_argument, NULL, O_KEYGEN },
		{ "print-pubkey", no_argument, NULL, O_PRINT },
		{ "identity", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *ns = NULL, *identity = NULL;
	enum sshsig_hash hash = SSHSIG_SHA512;
	int mode = 0, hash_given = 0, c;
	unsigned seen = 0;
	char why[512];

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:n:I:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(sign_help, stdout);
			return 0;
		}
		if (c == '?' || c == ':')
			die_bad_option(c, argv);
		once(longopts, &seen, c);
		switch (c) {
		case O_KEY: keyfile = optarg; break;
		case 'n': ns = optarg; break;
		case 'I': identity = optarg; break;
		case O_HASH:
			hash_given = 1;
			if (!strcmp(optarg, "sha512"))
				hash = SSHSIG_SHA512;
			else if (!strcmp(optarg, "sha256"))
				hash = SSHSIG_SHA256;
			else
				die_usage("--hash must be sha512 or sha256, not '%s'", optarg);
			break;
		case O_KEYGEN:
		case O_PRINT:
			if (mode)
				die_usage("--keygen and --print-pubkey exclude each other");
			mode = c;
			break;
		}
	}
	if (!keyfile)
		die_usage("--key FILE is required");
	if (mode) {
		if (optind != argc)
			die_usage("--keygen and --print-pubkey take no FILE");
		if (hash_given)
			die_usage("--hash applies to signing only");
		if (ns && !identity)
			die_usage("-n with --keygen/--print-pubkey needs -I (it goes into an allowed-signers line)");
		if (identity)
			check_field("the identity", identity);
		if (ns)
			check_field("the namespace", ns);
		if (mode == O_KEYGEN)
			return keygen(keyfile, identity, ns);
		struct crypto_pk *k;
		if (sshsig_key_load(keyfile, &k, why, sizeof(why)) != 0)
			die("%s", why);
		print_pubkey(k, identity, ns);
		crypto_pk_free(k);
		return 0;
	}
	if (identity)
		die_usage("-I applies to --keygen and --print-pubkey");
	if (!ns || !*ns)
		die_usage("-n NAMESPACE is required (e.g. file, git, apcore-sandbox)");
	if (argc - optind > 1)
		die_usage("sign one FILE at a time");

	struct crypto_pk *k;
	if (sshsig_key_load(keyfile, &k, why, sizeof(why)) != 0)
		die("%s", why);
	const char *file = optind < argc ? argv[optind] : "-";
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY) : STDIN_FILENO;
	if (fd < 0)
		die_errno("cannot open %s", file);
	char *sig = sshsig_sign_fd(k, fd, ns, hash, why, sizeof(why));
	crypto_pk_free(k);
	if (fd != STDIN_FILENO)
		close(fd);
	if (!sig)
		die("%s: %s", file, why);
	xwrite_full(STDOUT_FILENO, sig, strlen(sig));
	free(sig);
	return 0;
}

int auth_verify_sig(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "signature", required_argument, NULL, 'S' },
		{ "allowed-signers", required_argument, NULL, 'f' },
		{ "identity", required_argument, NULL, 'I' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sigfile = NULL, *allowed = NULL, *identity = NULL, *ns = NULL;
	int quiet = 0, c;
	unsigned seen = 0;

	/* 'verify --signature --help' is how the API-key verify points here. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(verify_help, stdout);
			return 0;
		}
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f:I:n:qh", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(verify_help, stdout);
			return 0;
		}
		if (c == '?' || c == ':')
			die_bad_option(c, argv);
		once(longopts, &seen, c);
		switch (c) {
		case 'S': sigfile = optarg; break;
		case 'f': allowed = optarg; break;
		case 'I': identity = optarg; break;
		case 'n': ns = optarg; break;
		case 'q': quiet = 1; break;
		}
	}
	if (!sigfile || !allowed || !identity || !ns)
		die_usage("verify --signature needs --signature SIG, -f ALLOWED_SIGNERS, -I IDENTITY "
		          "and -n NAMESPACE");
	if (!*identity || !*ns)
		die_usage("the identity and the namespace must not be empty");
	if (argc - optind > 1)
		die_usage("verify one FILE at a time");
	const char *file = optind < argc ? argv[optind] : "-";
	if (!strcmp(sigfile, "-") && !strcmp(file, "-"))
		die_usage("the signature and the message cannot both come from stdin");

	char *sig;
	size_t siglen;
	int rc = !strcmp(sigfile, "-") ? read_fd_capped(STDIN_FILENO, SSHSIG_MAX_LEN, &sig, &siglen)
	                               : read_file_capped(sigfile, SSHSIG_MAX_LEN, &sig, &siglen);
	if (rc != 0) {
		if (errno == EFBIG)
			die_code(APC_EX_AUTH, "signature rejected: %s is larger than an SSH signature",
			         sigfile);
		die_errno("cannot read %s", sigfile);
	}
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY) : STDIN_FILENO;
	if (fd < 0)
		die_errno("cannot open %s", file);

	char fp[SSHSIG_FP_LEN], why[512];
	enum sshsig_status st = sshsig_verify_fd(fd, sig, siglen, allowed, identity, ns, 0, fp, why,
	                                         sizeof(why));
	free(sig);
	if (fd != STDIN_FILENO)
		close(fd);
	if (st == SSHSIG_ERROR)
		die("%s", why);
	if (st != SSHSIG_OK)
		die_code(APC_EX_AUTH, "signature rejected: %s", why);
	if (!quiet)
		printf("Good \"%s\" signature for %s with ECDSA key %s\n", ns, identity, fp);
	return 0;
}
