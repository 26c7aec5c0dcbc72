#!/usr/bin/python3
"""refcrypt.py - the apcore-cli reference ConfigEncryptor file path, written
from shared/reference/apcore-reference.md section 2 with python3-cryptography
(Debian's), so apcore can be checked and benchmarked against the same
derivation the reference uses.

  refcrypt.py store PLAINTEXT-FROM-STDIN       -> prints enc:v2:... token
  refcrypt.py retrieve KEY TOKEN               -> prints the plaintext
Identity: hostname from --hostname (default socket.gethostname()), username
from USER, then USERNAME, then "unknown"; APCORE_CLI_CONFIG_PASSPHRASE
applies to v2 only, as in the reference.
"""
import base64
import os
import socket
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

V1_SALT = b"apcore-cli-config-v1"


def material(hostname, v2):
    pp = os.environ.get("APCORE_CLI_CONFIG_PASSPHRASE")
    if v2 and pp:
        return pp.encode()
    user = os.getenv("USER", os.getenv("USERNAME", "unknown"))
    return f"{hostname}:{user}".encode()


def derive(mat, salt, iterations):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return kdf.derive(mat)


def store(hostname, plaintext):
    salt, nonce = os.urandom(16), os.urandom(12)
    key = derive(material(hostname, True), salt, 600000)
    ct_tag = AESGCM(key).encrypt(nonce, plaintext.encode(), None)
    ct, tag = ct_tag[:-16], ct_tag[-16:]
    return "enc:v2:" + base64.b64encode(salt + nonce + tag + ct).decode()


def retrieve(hostname, key, value):
    fail = f"Failed to decrypt configuration value '{key}'. Re-configure with 'apcore-cli config set {key}'."
    try:
        if value.startswith("enc:v2:"):
            data = base64.b64decode(value[7:])
            salt, nonce, tag, ct = data[:16], data[16:28], data[28:44], data[44:]
            k = derive(material(hostname, True), salt, 600000)
            return AESGCM(k).decrypt(nonce, ct + tag, None).decode("utf-8")
        if value.startswith("enc:"):
            data = base64.b64decode(value[4:])
            nonce, tag, ct = data[:12], data[12:28], data[28:]
            for it in (600000, 100000):
                try:
                    k = derive(material(hostname, False), V1_SALT, it)
                    return AESGCM(k).decrypt(nonce, ct + tag, None).decode("utf-8")
                except InvalidTag:
                    continue
            raise InvalidTag()
        return value
    except (InvalidTag, ValueError, UnicodeDecodeError):
        print(fail, file=sys.stderr)
        sys.exit(47)


def main():
    args = sys.argv[1:]
    hostname = socket.gethostname()
    if len(args) >= 2 and args[0] == "--hostname":
        hostname, args = args[1], args[2:]
    if args[:1] == ["store"] and len(args) == 1:
        print(store(hostname, sys.stdin.read()))
    elif args[:1] == ["retrieve"] and len(args) == 3:
        sys.stdout.write(retrieve(hostname, args[1], args[2]) + "\n")
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
