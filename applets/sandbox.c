/* apcore-sandbox - confined execution. */
//applet:APPLET(sandbox, APCORE_SANDBOX, APPLET_PLAIN, "run a command or module under kernel confinement")
//config:config APCORE_SANDBOX
//config:	bool "apcore-sandbox: confined execution"
//config:	default y
//config:	help
//config:	  usage: apcore-sandbox COMMAND [OPTIONS]
//config:
//config:	  Run a command or module under kernel confinement.
//config:
//config:	  No commands are available in this build yet.
//config:
//config:config APCORE_SANDBOX_SECCOMP
//config:	bool "seccomp filters (libseccomp)"
//config:	default y
//config:	depends on APCORE_SANDBOX
//config:	help
//config:	  Build the sandbox's seccomp-bpf filters with libseccomp.

#include "apcore.h"

int sandbox_main(int argc, char **argv)
{
	if (argc < 2)
		die_usage("missing command");
	die_usage("unknown command '%s'", argv[1]);
}
