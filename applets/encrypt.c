/* apcore-encrypt - secrets in config files.
 *
 * Keyring first (Secret Service), AES-256-GCM + PBKDF2 fallback,
 * byte-compatible with the apcore-cli reference token formats.
 */
//applet:APPLET(encrypt, APCORE_ENCRYPT, APPLET_NODUMP, "secrets in config files: keyring first, AES-256-GCM fallback")
//config:config APCORE_ENCRYPT
//config:	bool "apcore-encrypt: secrets in config files"
//config:	default y
//config:	help
//config:	  usage: apcore-encrypt COMMAND [OPTIONS]
//config:
//config:	  Keep secrets of config files (apcore.yaml) in the OS keyring, or
//config:	  encrypted with AES-256-GCM, in the apcore-cli token formats
//config:	  keyring:NAME, enc:v2:BASE64 and legacy enc:BASE64.
//config:
//config:	  No commands are available in this build yet.

#include "apcore.h"

#include <string.h>

int encrypt_main(int argc, char **argv)
{
	if (argc < 2)
		die_usage("missing command");
	die_usage("unknown command '%s'", argv[1]);
}
