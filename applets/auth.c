/* apcore-auth - API keys and authorization.
 *
 * The commands live in applets/auth/, one file per family; this file holds
 * the metadata, the help (from Kconfig) and the command table.
 */
//applet:APPLET(auth, APCORE_AUTH, APPLET_NODUMP, "API keys, Bearer headers, policy checks, JWT, rate limits")
//config:config APCORE_AUTH
//config:	bool "apcore-auth: API keys and authorization"
//config:	default y
//config:	help
//config:	  usage: apcore-auth COMMAND [OPTIONS] [ARGS]
//config:
//config:	  API keys for shell pipelines, the way the apcore-cli reference
//config:	  resolves them, plus issuance, policy decisions, JWT, rate limits,
//config:	  mTLS certificates and SSH signatures.  Secrets come from files,
//config:	  stdin, the environment or the config, never from argv.
//config:
//config:	  Reference parity:
//config:	    key                 print the resolved API key: --api-key-file FILE|-,
//config:	                        else APCORE_AUTH_API_KEY, else auth.api_key in
//config:	                        apcore.yaml (-c FILE), keyring:/enc: values decrypted
//config:	    header [--fd N]     print "Authorization: Bearer KEY" (to stdout or fd N)
//config:	    status CODE         HTTP status: 401/403 exit 77, else 0 (--strict: 2xx only)
//config:
//config:	  API keys:
//config:	    keygen --scope S[,S] [--expires WHEN] [--name NAME]
//config:	                        issue a key, printed once; the store keeps a keyed hash
//config:	    verify [--scope S]  check a key read from stdin: exit 0 valid, 77 not
//config:	    revoke ID           revoke a key
//config:	    list [--json]       issued keys: ids, names, scopes, expiry, never secrets
//config:
//config:	  Policy (docs/auth-policy.md):
//config:	    check --policy FILE --subject S --action A --resource R [--attr K=V]... [--now TIME] [--json]
//config:	                        exit 0 allow, 77 deny, 1 policy does not load
//config:	    check --policy FILE --batch [--now TIME]
//config:	                        JSONL requests on stdin, one JSON decision per line
//config:	    policy test [--now TIME] FILE CASES
//config:	                        evaluate fixture requests (JSONL) against a policy
//config:	    policy validate FILE
//config:	                        load a policy, print its first error as FILE:LINE:COL
//config:
//config:	  JWT (HS256, ES256; the algorithm is pinned by --alg, never by the token):
//config:	    jwt sign --alg A --key FILE [--claims FILE|-] [--exp WHEN] [--nbf WHEN] [--iss I] [--aud A] [--sub S]
//config:	    jwt verify --alg A --key FILE [--iss I] [--aud A] [--leeway S] [--json]  (token on stdin)
//config:
//config:	  Rate limits (GCRA):
//config:	    limit KEY --rate N/PERIOD [--burst B] [--quantity Q] [--json] [--state FILE | --redis URL]
//config:	                        exit 0 allowed, 75 limited (retry-after on stderr)
//config:
//config:	  Certificates (EC P-256):
//config:	    cert ca|server|client [OPTIONS]   write a key (0600) and a certificate
//config:	    cert identity [--ca-cert CA] CERT print the subject to use as policy subject
//config:
//config:	  Signatures (SSHSIG, ecdsa-sha2-nistp256, ssh-keygen -Y compatible):
//config:	    sign --key FILE -n NAMESPACE [FILE]
//config:	    sign --keygen|--print-pubkey --key FILE [-I ID [-n NS]]
//config:	    verify --signature SIG -f ALLOWED_SIGNERS -I IDENTITY -n NAMESPACE [FILE]
//config:
//config:	  Run 'apcore-auth COMMAND --help' for a command's options.
//config:
//config:	  Exit status: 0 ok/allowed, 1 error, 2 usage, 47 config unreadable or
//config:	  stored key cannot be decrypted, 75 rate limited, 77 authentication or
//config:	  authorization failed.
//config:
//config:config APCORE_AUTH_REDIS
//config:	bool "Redis backend for distributed rate limits (hiredis)"
//config:	default y
//config:	depends on APCORE_AUTH
//config:	help
//config:	  Let 'apcore-auth limit --redis URL' share one limit across a fleet
//config:	  through a Redis server (one atomic server-side script).

#include "apcore.h"
#include "auth/auth.h"

#include <getopt.h>
#include <string.h>

/* Commands are defined in the files of applets/auth/.  They are weak while the
 * families land one by one; a missing one is refused, never faked. */
#pragma weak auth_cmd_key
#pragma weak auth_cmd_header
#pragma weak auth_cmd_status
#pragma weak auth_cmd_keygen
#pragma weak auth_cmd_verify
#pragma weak auth_cmd_revoke
#pragma weak auth_cmd_list
#pragma weak auth_cmd_limit
#pragma weak auth_cmd_check
#pragma weak auth_cmd_policy
#pragma weak auth_cmd_jwt
#pragma weak auth_cmd_cert
#pragma weak auth_cmd_sign

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "key", auth_cmd_key }, { "header", auth_cmd_header }, { "status", auth_cmd_status },
	{ "keygen", auth_cmd_keygen }, { "verify", auth_cmd_verify },
	{ "revoke", auth_cmd_revoke }, { "list", auth_cmd_list }, { "limit", auth_cmd_limit },
	{ "check", auth_cmd_check }, { "policy", auth_cmd_policy }, { "jwt", auth_cmd_jwt },
	{ "cert", auth_cmd_cert }, { "sign", auth_cmd_sign },
};

int auth_main(int argc, char **argv)
{
	if (argc < 2)
		die_usage("missing command");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (!commands[i].fn)
			die("'%s' is not available in this build", argv[1]);
		optind = 0;
		return commands[i].fn(argc - 1, argv + 1);
	}
	die_usage("unknown command '%s'", argv[1]);
}
