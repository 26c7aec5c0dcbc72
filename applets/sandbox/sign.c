/* sign.c - --require-signature: run only a command file whose detached
 * SSH signature (ssh-keygen -Y sign, libcommon/sshsig.c) verifies.
 *
 * No time-of-check/time-of-use gap: the file is read once into memory, the
 * signature is checked over exactly those bytes, and those bytes are what
 * runs: copied into a sealed memfd (no write, grow or shrink possible any
 * more) that the command executes with execveat(AT_EMPTY_PATH).  Renaming,
 * replacing or rewriting the file after the check changes nothing.
 */

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIGNED_CAP (256u << 20)

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* The host path execvp would run, searched in the sandbox's PATH (the
 * view shows host paths at the same place). */
static char *resolve(const char *cmd, const struct sbx_strv *envp)
{
	if (strchr(cmd, '/'))
		return sbx_abspath(cmd);
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	for (size_t i = 0; i < envp->n; i++)
		if (!strncmp(envp->v[i], "PATH=", 5))
			path = envp->v[i] + 5;
	char *dirs = xstrdup(path), *save = NULL, *found = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *c = xasprintf("%s/%s", d, cmd);
		struct stat st;
		if (stat(c, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			found = c;
		else
			free(c);
	}
	free(dirs);
	return found;
}

int sbx_signature_check(struct sbx_run *r, char *why, size_t whylen)
{
	const struct sbx_policy *p = r->pol;
	char *file = resolve(r->argv.v[0], &r->envp);
	char *data = NULL, *sig = NULL;
	size_t len = 0, siglen = 0;
	int rc = -1, fd = -1;

	if (!file) {
		snprintf(why, whylen, "%s: not found in PATH", r->argv.v[0]);
		return -1;
	}
	char *sigpath = p->signature ? xstrdup(p->signature) : xasprintf("%s.sig", file);
	if (read_file_capped(file, SIGNED_CAP, &data, &len)) {
		snprintf(why, whylen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (read_file_capped(sigpath, SSHSIG_MAX_LEN, &sig, &siglen)) {
		snprintf(why, whylen, "signature %s: %s", sigpath, strerror(errno));
		goto out;
	}
	char fp[SSHSIG_FP_LEN], reason[160];
	enum sshsig_status st = sshsig_verify_buf(data, len, sig, siglen, p->allowed_signers,
	                                          p->signer_identity,
	                                          p->signature_ns ? p->signature_ns : "apcore-sandbox", 0, fp, reason,
	                                          sizeof(reason));
	if (st != SSHSIG_OK) {
		snprintf(why, whylen, "%s: %s (%s)", file, sshsig_status_str(st), reason);
		goto out;
	}
	fd = memfd_create("apcore-sandbox-signed", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("apcore-sandbox-signed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write_full(fd, data, len) || fchmod(fd, 0555) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) {
		snprintf(why, whylen, "sealed copy of %s: %s", file, strerror(errno));
		goto out;
	}
	r->exec_fd = fd;
	fd = -1;
	snprintf(r->signer, sizeof(r->signer), "%s", fp);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	free(sig);
	free(sigpath);
	free(file);
	return rc;
}
