/* yamledit.h - set one dotted key of a YAML file in place (libcommon/yamledit.c).
 *
 * To be folded into libcommon.h as its "yamledit.c" section.
 */
#ifndef APCORE_YAMLEDIT_H
#define APCORE_YAMLEDIT_H

#include <stddef.h>

/* Set dotted_key (auth.api_key: mapping auth, key api_key) to the string
 * value in the YAML text: an existing scalar or alias is replaced where it
 * is written (its anchor and tag kept), a missing key is added after its
 * mapping's last entry, missing mappings (or an empty value on the path)
 * are created.  Every other byte of text is kept.  The result is parsed
 * again and compared node by node with the input before it is returned.
 * Refused with a reason: a value that is a mapping or sequence, a path
 * through a scalar, sequence or alias, a node an alias elsewhere shares,
 * non-string tags, duplicate keys or keys containing '.' on the path,
 * several documents, parse errors, invalid UTF-8.  Messages name the key,
 * never the value.
 * Returns 0 and a new heap text in *out (NUL-terminated), or -1 with a
 * one-line "NAME:LINE:COL: reason" (or "NAME: reason") in err. */
int yedit_set(const char *name, const char *text, size_t len, const char *dotted_key,
              const char *value, char **out, size_t *outlen, char *err, size_t errlen);

/* What yedit_set changed: bytes [old_start, old_end) of the input became
 * [new_start, new_end) of the output; all bytes before and after are the
 * input's (old_start == new_start). */
struct yedit_span {
	size_t old_start, old_end;
	size_t new_start, new_end;
};

/* yedit_set that also reports the span (span may be NULL). */
int yedit_set_ex(const char *name, const char *text, size_t len, const char *dotted_key,
                 const char *value, char **out, size_t *outlen, struct yedit_span *span,
                 char *err, size_t errlen);

/* Resolve dotted_key to its scalar text as libyaml reports it (no type
 * resolution: an empty value is "", `~` is "~"); aliases are followed,
 * merge keys (<<) are not.  0 and a heap string in *value (length in *vlen
 * if not NULL); 1 when the key is absent; -1 with err when the text does
 * not parse, a key on the path is duplicated, or the path runs into a
 * scalar, a sequence, or ends at a collection. */
int yedit_get(const char *name, const char *text, size_t len, const char *dotted_key,
              char **value, size_t *vlen, char *err, size_t errlen);

/* Tests only: when set, called on the edited text before it is verified
 * (a test corrupts it to prove the verification refuses). */
extern void (*yedit_test_hook)(char *text, size_t len);

#endif
