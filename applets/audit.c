/* apcore-audit - tamper-evident audit log. */
//applet:APPLET(audit, APCORE_AUDIT, APPLET_PLAIN, "append-only, hash-chained audit log (JSONL)")
//config:config APCORE_AUDIT
//config:	bool "apcore-audit: tamper-evident audit log"
//config:	default y
//config:	help
//config:	  usage: apcore-audit COMMAND [OPTIONS]
//config:
//config:	  Append-only, hash-chained audit log (JSONL).
//config:
//config:	  No commands are available in this build yet.

#include "apcore.h"

int audit_main(int argc, char **argv)
{
	if (argc < 2)
		die_usage("missing command");
	die_usage("unknown command '%s'", argv[1]);
}
