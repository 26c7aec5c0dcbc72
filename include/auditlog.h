/* auditlog.h - the tamper-evident audit log (libcommon/auditlog.c).
 *
 * Records are JSON lines whose first seven fields are the apcore-cli
 * reference's, byte for byte; ours follow: a sequence number, a hash chain
 * over the exact bytes written and an HMAC under a key that evolves forward
 * at every seal.  The format is specified in docs/audit-format.md.
 *
 * Any applet appends through audit_append() (or audit_open()/audit_write()
 * for many records); apcore-audit also administers the log (init, seal,
 * rotate, checkpoint, verify).  Functions return an audit_status and put a
 * one-line reason in err; nothing here prints or exits.
 */
#ifndef APCORE_AUDITLOG_H
#define APCORE_AUDITLOG_H

#include "libcommon.h"

#include <sys/types.h>

/* Largest input document we canonicalise (it must be parsed whole to sort
 * its keys), and the longest line a log may hold. */
#define AUDIT_INPUT_CAP (16u << 20)
#define AUDIT_LINE_MAX (1u << 20)
#define AUDIT_MODULE_MAX 1024
#define AUDIT_HEX_LEN (2 * SHA256_LEN + 1)
#define AUDIT_LOGID_LEN 33            /* 32 hex digits + NUL */
/* Reserved module_id prefix of the log's own records. */
#define AUDIT_SYS_PREFIX "apcore-audit."

enum audit_status {
	AUDIT_OK = 0,
	AUDIT_EINPUT,    /* the record or its input is invalid: nothing written */
	AUDIT_EIO,       /* the log or its state could not be read or written */
	AUDIT_ETORN,     /* the log ends with an incomplete line (verify --repair) */
	AUDIT_ESTATE,    /* key material missing, unusable or inconsistent with the log */
};

enum audit_sync {
	AUDIT_SYNC_DEFAULT,  /* always for audit_append, batch for audit_write of many */
	AUDIT_SYNC_ALWAYS,   /* fdatasync after every record */
	AUDIT_SYNC_BATCH,    /* one fdatasync per audit_write() call */
	AUDIT_SYNC_NONE,     /* leave it to the kernel */
};

enum audit_hash {
	AUDIT_HASH_AUTO,     /* keyed when the log has key material, else salted */
	AUDIT_HASH_KEYED,    /* HMAC-SHA256(pepper, canonical input): "hmac-sha256" */
	AUDIT_HASH_SALTED,   /* reference: SHA-256(random salt16 | canonical): "sha256-salted" */
};

enum audit_backend { AUDIT_BACKEND_AUTO, AUDIT_BACKEND_KEYRING, AUDIT_BACKEND_FILE };

/* An extra field after ours: str, or num when str is NULL.  Keys are
 * [a-z0-9_], at most 64 bytes, and none of the log's own. */
struct audit_field {
	const char *key;
	const char *str;
	int64_t num;
};

struct audit_rec {
	const char *module_id;   /* UTF-8, 1..AUDIT_MODULE_MAX bytes */
	const char *status;      /* "success" or "error" */
	int64_t exit_code;
	int64_t duration_ms;     /* >= 0 */
	const char *input;       /* JSON object text (any layout), NULL: {} */
	size_t input_len;
	int input_canonical;     /* input is already audit_canonical_input() text */
	const struct audit_field *extra;
	size_t nextra;
};

struct audit_opts {
	enum audit_sync sync;
	enum audit_hash hash;
	enum audit_backend backend;   /* audit_init only */
	int kr_timeout_ms;            /* 0: KR_DEFAULT_TIMEOUT_MS */
	/* Fixed values instead of the clock and the identity (tests); 0/NULL
	 * means the real ones. */
	int64_t now_ms;
	const char *user;
	const char *host;
};

/* $APCORE_AUDIT_FILE, else $HOME/.apcore-cli/audit.jsonl (heap string). */
char *audit_default_path(void);
/* Where a log's state lives: PATH.state (heap string). */
char *audit_state_path(const char *log);

/* Append one record: open (creating the file 0600 and its directory 0700),
 * lock, chain, MAC, one write(), sync, unlock, close. */
enum audit_status audit_append(const char *path, const struct audit_rec *rec,
                               const struct audit_opts *o, char *err, size_t errlen);

/* A writer kept open for many records (streaming). */
struct audit_log;
enum audit_status audit_open(const char *path, const struct audit_opts *o, struct audit_log **out,
                             char *err, size_t errlen);
/* Canonicalise every input first (nothing is written if one is bad: *bad
 * gets its index), then under one lock append all n records (one write()
 * per record with sync always, else one for all) and sync per policy. */
enum audit_status audit_write(struct audit_log *l, const struct audit_rec *recs, size_t n,
                              size_t *bad, char *err, size_t errlen);
/* Could a record be appended now?  Lock, inspect tail and state, unlock. */
enum audit_status audit_check(struct audit_log *l, char *err, size_t errlen);
void audit_close(struct audit_log *l);
const char *audit_log_path(const struct audit_log *l);

/* Create key material for a log (adopting whatever complete lines it
 * already holds) and write its init record.  vk receives the verification
 * key text "apcore-audit-vk1:LOGID:SEED" (secure_alloc()ed; secure_free). */
enum audit_status audit_init(const char *path, const struct audit_opts *o, char **vk,
                             char *where, size_t wherelen, char *err, size_t errlen);
/* Close the current epoch: seal record, then evolve the key and forget the
 * old one.  *epoch gets the epoch that was sealed. */
enum audit_status audit_seal(const char *path, const struct audit_opts *o, uint64_t *epoch,
                             char *err, size_t errlen);
/* Seal, move the log to PATH.<time> and start PATH with a rotate record
 * chained to the old head.  *moved_to gets the old file's new name (heap). */
enum audit_status audit_rotate(const char *path, const struct audit_opts *o, char **moved_to,
                               char *err, size_t errlen);
/* A checkpoint text of the log's current head, MACed under the current
 * epoch key (heap string). */
enum audit_status audit_checkpoint(const char *path, const struct audit_opts *o, char **text,
                                   char *err, size_t errlen);
/* input_hash of an input as this log would record it (keyed with the log's
 * pepper, or with the pepper of a verification key when vk is given). */
enum audit_status audit_hash_input(const char *path, const char *vk, const char *input,
                                   size_t len, char out[AUDIT_HEX_LEN], char *err, size_t errlen);

/* ----------------------------------------------------------- verification */

enum {
	AUDIT_V_OK = 0,          /* everything verified */
	AUDIT_V_BAD = 1,         /* a record failed (tampering, damage) or I/O error */
	AUDIT_V_UNSEALED = 3,    /* verified, but records after the last seal */
	AUDIT_V_UNAUTH = 4,      /* lines without a checked MAC (no key, reference lines) */
	AUDIT_V_TORN = 5,        /* the last line is incomplete (verify --repair) */
};

struct audit_verify_opts {
	const char *vk;           /* verification key text, or NULL */
	const char *checkpoint;   /* checkpoint file to check the log against */
	int repair;               /* cut a torn final line off (kept, recorded) */
	int no_state;             /* ignore PATH.state */
};

struct audit_verify {
	int code;                 /* AUDIT_V_* */
	char log_id[AUDIT_LOGID_LEN];
	uint64_t lines, bytes;    /* complete lines read, their bytes */
	uint64_t records;         /* lines of ours (with a seq) */
	uint64_t first_seq, last_seq;
	uint64_t good_lines;      /* lines 1..good_lines passed every check */
	uint64_t foreign;         /* lines without a seq (reference records) */
	uint64_t adopted;         /* lines before the init record, covered by its digest */
	uint64_t unauth;          /* lines nobody authenticated */
	uint64_t mac_ok, mac_unchecked;
	uint64_t unchecked_first_epoch, unchecked_last_epoch;
	uint64_t epochs_sealed;   /* seals verified */
	int have_epoch;
	uint64_t last_epoch;
	uint64_t unsealed;        /* keyed records after the last seal */
	uint64_t unsealed_first_line;
	uint64_t bad_line, bad_seq;   /* first failure (0: none) */
	char reason[256];
	int torn;
	uint64_t torn_offset, torn_bytes;
	uint64_t repairs;         /* repair records met */
	int repaired;
	char repair_file[512];
	uint64_t repair_seq;
	int state_checked;        /* the state agreed with the log */
	uint64_t state_epoch;
	int checkpoint_checked;   /* the log extends the checkpoint */
	int checkpoint_mac;       /* its MAC was verified */
	uint64_t checkpoint_seq;
	char predecessor[512];    /* rotated-from file and what was found */
	int predecessor_checked;
};

/* Verify the log at path.  Returns AUDIT_OK when the verification ran (its
 * verdict is res->code), or an error for unusable arguments (bad key text,
 * unreadable log or checkpoint). */
enum audit_status audit_verify(const char *path, const struct audit_verify_opts *vo,
                               struct audit_verify *res, char *err, size_t errlen);

/* ------------------------------------------------------- record inspection */

/* What a line of a log is, for readers (show) and the tests. */
struct audit_line {
	int is_json;              /* a JSON object at all */
	int ours;                 /* has a seq: written by apcore-audit */
	int keyed;                /* has a mac */
	uint64_t seq, epoch;
	int64_t ts_ms;            /* -1 when timestamp is missing or unparsable */
	char timestamp[40], user[128], module_id[AUDIT_MODULE_MAX + 1], status[32];
	int64_t exit_code, duration_ms;
	int has_exit, has_duration;
};
/* Parse one line (without or with its newline).  0, or -1 when it is not a
 * JSON object (reason in err). */
int audit_parse_line(const char *line, size_t len, struct audit_line *out, char *err,
                     size_t errlen);

/* ---------------------------------------------------------------- testing */

/* The reference's record (its seven fields in its byte layout, newline
 * included), for interop tests. */
void audit_reference_line(struct strbuf *out, const char *timestamp, const char *user,
                          const char *module_id, const char *input_hash, const char *status,
                          int64_t exit_code, int64_t duration_ms);
/* Canonical text of an input object (Python sort_keys + default separators
 * + ASCII escaping); 0 or -1 with a reason. */
int audit_canonical_input(const char *text, size_t len, struct strbuf *out, char *err,
                          size_t errlen);
/* key_{e+1} from key_e, and the MAC key of an epoch key. */
void audit_key_evolve(uint8_t key[SHA256_LEN], uint64_t epoch);
void audit_key_mac(const uint8_t key[SHA256_LEN], uint8_t mk[SHA256_LEN]);

#endif
