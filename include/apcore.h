/* apcore.h - umbrella header for applets: configuration, libcommon and the
 * applet glue.  Applets include only this. */
#ifndef APCORE_H
#define APCORE_H

#include "config.h"     /* generated: CFG_<SYMBOL> 0/1 for every Kconfig symbol */
#include "libcommon.h"

#ifndef APCORE_VERSION
#define APCORE_VERSION "0.0.0"
#endif

/* Applet flags (the third field of an //applet: line). */
#define APPLET_PLAIN 0
#define APPLET_NODUMP 1   /* holds secrets: no core dumps, not dumpable */

/* Every applet's entry point, declared from the generated table. */
#define APPLET(name, sym, flags, summary) int name##_main(int argc, char **argv);
#include "applets.h"
#undef APPLET

#endif
