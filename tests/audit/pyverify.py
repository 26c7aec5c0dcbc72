#!/usr/bin/python3
"""pyverify.py LOG VKFILE: an independent check of an apcore-audit log,
written from docs/audit-format.md alone (Python's hashlib/hmac/json).
Prints "ok N" or the first problem and exits 1."""
import hashlib, hmac, json, sys

def main():
    log, vkfile = sys.argv[1], sys.argv[2]
    magic, log_id, seed = open(vkfile).read().strip().split(":")
    assert magic == "apcore-audit-vk1"
    key, kepoch = bytes.fromhex(seed), 0
    sep = b', "mac": "'
    prev, n, epoch, after_seal, count, first = None, 0, None, False, 0, None
    for raw in open(log, "rb").read().split(b"\n")[:-1]:
        line = raw + b"\n"
        rec = json.loads(raw)
        n += 1
        if "mac" not in rec:
            prev = line
            continue
        if prev is None:
            want = hashlib.sha256(b"apcore-audit genesis\n" + log_id.encode()).hexdigest()
        else:
            want = hashlib.sha256(prev).hexdigest()
        if rec["prev"] != want:
            return "line %d: prev" % n
        if rec["log_id"] != log_id:
            return "line %d: log_id" % n
        e = rec["epoch"]
        if epoch is not None and e != (epoch + 1 if after_seal else epoch):
            return "line %d: epoch" % n
        if epoch is None or e != epoch:
            count, first = 0, rec["seq"]
        epoch, after_seal = e, False
        while kepoch < e:
            key = hmac.new(key, b"apcore-audit evolve" + kepoch.to_bytes(8, "big"),
                           hashlib.sha256).digest()
            kepoch += 1
        mk = hmac.new(key, b"apcore-audit mac", hashlib.sha256).digest()
        body = raw[:raw.rindex(sep)]
        if hmac.new(mk, hashlib.sha256(body).digest(), hashlib.sha256).hexdigest() != rec["mac"]:
            return "line %d: mac" % n
        if rec["module_id"] == "apcore-audit.seal":
            if (rec["sealed_epoch"], rec["sealed_records"], rec["sealed_first_seq"]) != (e, count, first):
                return "line %d: seal" % n
            after_seal = True
        else:
            count += 1
        prev = line
    print("ok", n)
    return None

if __name__ == "__main__":
    err = main()
    if err:
        print(err)
        sys.exit(1)
