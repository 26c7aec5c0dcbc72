#!/usr/bin/python3
"""refaudit.py - the apcore-cli reference AuditLogger.log_execution, written
from shared/reference/apcore-reference.md section 4, as the benchmark peer
of apcore-audit: the same record bytes, no lock, no chain, no MAC, no fsync.

  refaudit.py log PATH MODULE STATUS EXIT_CODE DURATION_MS   one record
  refaudit.py stream PATH < JSONL    one record per line of
      {"module_id", "status", "exit_code", "duration_ms", "input"}
"""
import datetime
import hashlib
import json
import os
import pwd
import secrets
import sys


def user():
    try:
        return os.getlogin()
    except OSError:
        try:
            return pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            return os.environ.get("USER", os.environ.get("USERNAME", "unknown"))


def log_execution(path, module_id, input_data, status, exit_code, duration_ms):
    salt = secrets.token_bytes(16)
    payload = json.dumps(input_data, sort_keys=True).encode("utf-8")
    entry = {
        "timestamp": datetime.datetime.now(datetime.timezone.utc)
        .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user": user(),
        "module_id": module_id,
        "input_hash": hashlib.sha256(salt + payload).hexdigest(),
        "status": status,
        "exit_code": exit_code,
        "duration_ms": duration_ms,
    }
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")
    os.chmod(path, 0o600)


def main():
    if sys.argv[1] == "log":
        _, _, path, module, status, code, ms = sys.argv
        log_execution(path, module, {}, status, int(code), int(ms))
    else:
        path = sys.argv[2]
        for line in sys.stdin:
            r = json.loads(line)
            log_execution(path, r["module_id"], r.get("input", {}), r["status"],
                          r["exit_code"], r["duration_ms"])


if __name__ == "__main__":
    main()
