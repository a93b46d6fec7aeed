#!/usr/bin/env python3
"""Write the hostile-input corpus (tests/corpus/) from a test PKI directory.

usage: make-corpus.py TESTPKI_DIR OUT_DIR
Every file is a malformed certificate, CRL or key: truncated, wrong or huge
lengths, deep nesting, wrong tags, broken PEM armor, trailing garbage,
oversized lines and files, mislabelled types. MANIFEST.tsv says which folder
each goes to and the errno pkifs must answer. The corpus is checked in (the
test PKI's keys are random, the corpus must not be); run this only to
regenerate it.
"""
import base64
import os
import random
import sys

src, out = sys.argv[1], sys.argv[2]
rng = random.Random(20261124)
rows = []


def read(name):
    with open(os.path.join(src, name), "rb") as f:
        return f.read()


def pem(label, der, width=64):
    b = base64.b64encode(der).decode()
    lines = [b[i:i + width] for i in range(0, len(b), width)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)).encode()


def add(name, folder, data, why, err="EBADMSG"):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    rows.append((name, folder, err, why))


cert, crl, key = read("leaf1.der"), read("intermediate-ca.crl"), read("app1.key.der")
for label, der, folder in (("cert", cert, "trusted/certs"), ("crl", crl, "trusted/crl"),
                           ("key", key, "own/private")):
    n = len(der)
    for k in sorted({1, 2, 4, 10, 50, n // 2, n - 10, n - 1}):
        add(f"{label}-trunc-{k:05d}.der", folder, der[:k], f"{label} DER truncated to {k} of {n} bytes")
    add(f"{label}-trailing-nul.der", folder, der + b"\0", f"{label} DER + one NUL byte")
    add(f"{label}-trailing-random.der", folder, der + bytes(rng.randrange(256) for _ in range(100)),
        f"{label} DER + 100 random bytes")
    add(f"{label}-doubled-prefix.der", folder, der + der[:40], f"{label} DER + the start of another")
    add(f"{label}-outer-len-long.der", folder, b"\x30\x82\xff\xf0" + der[4:], f"{label} outer length 65520, far past the data")
    add(f"{label}-outer-len-short.der", folder, b"\x30\x82" + (len(der) - 14).to_bytes(2, "big") + der[4:],
        f"{label} outer length 10 bytes short")
    add(f"{label}-tag-set.der", folder, b"\x31" + der[1:], f"{label} outer tag SET instead of SEQUENCE")
    add(f"{label}-tag-octets.der", folder, b"\x04" + der[1:], f"{label} outer tag OCTET STRING")
    add(f"{label}-pem-badbase64.pem", folder, pem("CERTIFICATE" if label == "cert" else "X509 CRL" if label == "crl" else "PRIVATE KEY", der).replace(b"A", b"!", 3),
        f"{label} PEM with characters outside base64")
    add(f"{label}-pem-noend.pem", folder, pem("CERTIFICATE", der).rsplit(b"-----END", 1)[0], f"{label} PEM without END line")

add("deep-indefinite.der", "trusted/certs", b"\x30\x80" * 20000, "20,000 nested indefinite-length sequences")
deep = b"\x05\x00"
for _ in range(3000):
    deep = b"\x30" + (b"\x82" + len(deep).to_bytes(2, "big") if len(deep) > 127 else bytes([len(deep)])) + deep
add("deep-definite.der", "trusted/certs", deep[:60000], "3,000 nested definite-length sequences")
add("huge-len-4byte.der", "trusted/certs", b"\x30\x84\xff\xff\xff\xff" + cert[4:], "outer length 4 GiB")
add("huge-len-8byte.der", "trusted/certs", b"\x30\x88\xff\xff\xff\xff\xff\xff\xff\xff" + cert[4:], "outer length in 8 bytes")
add("len-0x80-in-der.der", "trusted/certs", b"\x30\x80" + cert[4:] + b"\0\0", "indefinite length, not DER")
add("random-seq-1.der", "trusted/certs", b"\x30" + bytes(rng.randrange(256) for _ in range(500)), "0x30 then 500 random bytes")
add("random-seq-2.der", "trusted/certs", b"\x30\x82\x01\xf4" + bytes(rng.randrange(256) for _ in range(500)), "a SEQUENCE of 500 random bytes")
add("zeros.der", "trusted/certs", b"\x30" + b"\0" * 999, "0x30 then zeros")
add("crl-as-cert.pem", "trusted/certs", pem("CERTIFICATE", crl), "a CRL labelled CERTIFICATE")
add("key-as-cert.pem", "trusted/certs", pem("CERTIFICATE", key), "a key labelled CERTIFICATE")
add("cert-as-crl.pem", "trusted/crl", pem("X509 CRL", cert), "a certificate labelled X509 CRL")
add("cert-as-key.pem", "own/private", pem("PRIVATE KEY", cert), "a certificate labelled PRIVATE KEY")
add("ec-as-rsa.pem", "own/private", read("ec-app.key.sec1.pem").replace(b"EC PRIVATE", b"RSA PRIVATE"), "an EC key labelled RSA PRIVATE KEY")
add("pem-unknown-label.pem", "trusted/certs", pem("FOOBAR", cert), "a PEM block with an unknown label")
add("pem-mismatched-end.pem", "trusted/certs", pem("CERTIFICATE", cert).replace(b"END CERTIFICATE", b"END X509 CRL"), "BEGIN CERTIFICATE ended by END X509 CRL")
add("pem-empty.pem", "trusted/certs", b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "an empty PEM block")
add("pem-random-body.pem", "trusted/certs", pem("CERTIFICATE", bytes(rng.randrange(256) for _ in range(600))), "valid base64 of random bytes")
add("pem-huge-line.pem", "trusted/certs", b"-----BEGIN CERTIFICATE-----\n" + b"A" * 60000 + b"\n-----END CERTIFICATE-----\n", "a 60,000 character line of A")
add("pem-trailing-text.pem", "trusted/certs", pem("CERTIFICATE", cert) + b"trailing words after the armor\n", "text after the END line")
add("pem-two-begins.pem", "trusted/certs", pem("CERTIFICATE", cert).replace(b"-----END CERTIFICATE-----\n", b"") + pem("CERTIFICATE", cert), "a BEGIN inside an unfinished block")
add("pem-bad-header.pem", "own/private", read("app1.key.pkcs1.pem").replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: NONSENSE\n\n", 1), "a legacy PEM header that is garbage")
add("pem-null-bytes.pem", "trusted/certs", pem("CERTIFICATE", cert).replace(b"\n", b"\n\0", 3), "NUL bytes inside the armor")
add("oversize.der", "trusted/certs", cert + b"\0" * 70000, "70 KiB: over the 64 KiB cap", "EFBIG")
add("oversize.pem", "trusted/certs", pem("CERTIFICATE", cert) * 80, "80 copies of a PEM certificate, over the cap", "EFBIG")
add("many-blocks.pem", "trusted/certs", pem("CERTIFICATE", cert) * 20, "20 copies of one certificate in one file")

with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
    f.write("file\tfolder\terrno\twhat\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"{len(rows)} files in {out}")
