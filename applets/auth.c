/* apcore-auth - API keys and authorization. */
//applet:APPLET(auth, APCORE_AUTH, APPLET_NODUMP, "API keys, Bearer headers, policy checks, JWT, rate limits")
//config:config APCORE_AUTH
//config:	bool "apcore-auth: API keys and authorization"
//config:	default y
//config:	help
//config:	  usage: apcore-auth COMMAND [OPTIONS]
//config:
//config:	  API keys, Bearer headers, policy checks, JWT, rate limits.
//config:
//config:	  No commands are available in this build yet.
//config:
//config:config APCORE_AUTH_REDIS
//config:	bool "Redis backend for distributed rate limits (hiredis)"
//config:	default y
//config:	depends on APCORE_AUTH
//config:	help
//config:	  Let 'apcore-auth limit --redis URL' share one limit across a fleet
//config:	  through a Redis server (one atomic server-side script).

#include "apcore.h"

int auth_main(int argc, char **argv)
{
	if (argc < 2)
		die_usage("missing command");
	die_usage("unknown command '%s'", argv[1]);
}
