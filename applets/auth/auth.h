/* auth.h - the commands of apcore-auth, one file each under applets/auth/.
 * Every command gets argv with argv[0] = its own name and returns the exit
 * status; it parses its options with getopt_long (optind is reset first). */
#ifndef APCORE_AUTH_H
#define APCORE_AUTH_H

/* Exit codes beyond the shared ones (libcommon.h). */
enum {
	AUTH_EX_LIMITED = 75,   /* rate limited (EX_TEMPFAIL) */
};

/* key.c: reference parity */
int auth_cmd_key(int argc, char **argv);
int auth_cmd_header(int argc, char **argv);
int auth_cmd_status(int argc, char **argv);
/* apikeys.c: issuance */
int auth_cmd_keygen(int argc, char **argv);
int auth_cmd_verify(int argc, char **argv);   /* API key, or SSHSIG with --signature */
int auth_cmd_revoke(int argc, char **argv);
int auth_cmd_list(int argc, char **argv);
/* limit.c */
int auth_cmd_limit(int argc, char **argv);
/* policy.c */
int auth_cmd_check(int argc, char **argv);
int auth_cmd_policy(int argc, char **argv);
/* jwt.c */
int auth_cmd_jwt(int argc, char **argv);
/* cert.c */
int auth_cmd_cert(int argc, char **argv);
/* sign.c: SSHSIG; verify_sig is called by auth_cmd_verify for --signature */
int auth_cmd_sign(int argc, char **argv);
int auth_verify_sig(int argc, char **argv);

#endif
