#!/usr/bin/env bash
# Make a test PKI with the openssl CLI into OUTDIR (re-runnable; overwrites).
#
# Files (certificates as NAME.der and NAME.pem):
#   root-ca            self-signed CA (RSA 2048, CA:TRUE, keyCertSign, cRLSign)
#   intermediate-ca    CA signed by root-ca
#   leaf1 leaf2 leaf3  leaves signed by intermediate-ca (leaf2 gets revoked)
#   leaf-root          leaf signed directly by root-ca
#   app1 app2          self-signed OPC UA style application certificates
#   ec-app             self-signed EC P-256 application certificate
#   expired            self-signed, expired
#   other-ca           unrelated self-signed CA; other-leaf signed by it
#   noca-selfsigned    self-signed, CA-looking subject, CA:FALSE
#   leaf1-chain.pem    leaf1 then intermediate-ca (PEM); leaf1-chain.der (DER concatenated)
#   unrelated.pem      leaf1 then other-ca: not a chain
#   *.crl (DER) and *.crl.pem: root-ca.crl (empty), intermediate-ca.crl (revokes
#                      leaf2), intermediate-ca-empty.crl, other-ca.crl (CA not in store)
#   keys of app1:      app1.key.pkcs8.pem, app1.key.pkcs8enc.pem (password "secret"),
#                      app1.key.pkcs1.pem, app1.key.der (PKCS#8 DER), app1.pfx (empty
#                      password), app1-pw.pfx (password "secret");
#                      ec-app.key.sec1.pem, app2.key.pkcs8.pem, unrelated.key.pem,
#                      leaf1.key.pem
#   bad/garbage.der bad/truncated.der bad/badbase64.pem bad/empty-armor.pem
#   bad/trailing-garbage.der bad/big.der (70 KiB) bad/text.txt
set -euo pipefail

out=${1:?usage: gen-test-pki.sh OUTDIR}
mkdir -p "$out/bad"
cd "$out"
work=$(mktemp -d /tmp/pkigen-XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/ext.cnf" <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = URI:urn:pkifs:test:${ENV::NAME}, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[app]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyCertSign
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = URI:urn:pkifs:test:${ENV::NAME}, DNS:localhost
subjectKeyIdentifier = hash
[noca]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
CNF

rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# self_signed NAME SUBJECT EXT [DAYS_BACK DAYS]
self_signed() {
	NAME=$1 openssl req -x509 -new -key "$1.key.pem" -subj "$2" -sha256 \
		-days "${4:-3650}" -config "$work/ext.cnf" -extensions "$3" -out "$1.pem" 2>/dev/null
}

# signed NAME SUBJECT EXT ISSUER
signed() {
	openssl req -new -key "$1.key.pem" -subj "$2" -out "$work/$1.csr" 2>/dev/null
	NAME=$1 openssl x509 -req -in "$work/$1.csr" -CA "$4.pem" -CAkey "$4.key.pem" \
		-set_serial "0x$(openssl rand -hex 8)" -sha256 -days 3650 \
		-extfile "$work/ext.cnf" -extensions "$3" -out "$1.pem" 2>/dev/null
}

for k in root-ca intermediate-ca other-ca app1 app2; do rsa_key "$k.key.pem" & done
for k in leaf1 leaf2 leaf3 leaf-root other-leaf expired noca-selfsigned unrelated; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k.key.pem" 2>/dev/null &
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-app.key.pem 2>/dev/null &
wait

self_signed root-ca "/O=pkifs test/CN=Test Root CA" ca
signed intermediate-ca "/O=pkifs test/CN=Test Intermediate CA" ca root-ca
for l in leaf1 leaf2 leaf3; do signed "$l" "/O=pkifs test/CN=$l" leaf intermediate-ca; done
signed leaf-root "/O=pkifs test/CN=leaf-root" leaf root-ca
self_signed app1 "/O=pkifs test/CN=app1" app
self_signed app2 "/O=pkifs test/CN=app2" app
self_signed ec-app "/O=pkifs test/CN=ec-app" app
self_signed other-ca "/O=elsewhere/CN=Other CA" ca
signed other-leaf "/O=elsewhere/CN=other-leaf" leaf other-ca
self_signed noca-selfsigned "/O=pkifs test/CN=Not Really A CA" noca
# expired: valid for one day, ten days ago (openssl ca can set both dates)
mkdir -p "$work/exp"
: >"$work/exp/index.txt"
cat >"$work/exp/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $work/exp/index.txt
new_certs_dir = $work/exp
serial = $work/exp/serial
default_md = sha256
policy = any
[any]
commonName = supplied
[noca]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
CNF
echo 01 >"$work/exp/serial"
openssl req -new -key expired.key.pem -subj "/CN=expired" -out "$work/exp.csr" 2>/dev/null
openssl ca -batch -config "$work/exp/ca.cnf" -selfsign -keyfile expired.key.pem \
	-in "$work/exp.csr" -extensions noca -notext \
	-startdate "$(date -u -d '-10 days' +%Y%m%d%H%M%SZ)" \
	-enddate "$(date -u -d '-9 days' +%Y%m%d%H%M%SZ)" -out expired.pem 2>/dev/null

for c in root-ca intermediate-ca leaf1 leaf2 leaf3 leaf-root app1 app2 ec-app \
	other-ca other-leaf noca-selfsigned expired; do
	openssl x509 -in "$c.pem" -outform DER -out "$c.der"
done

# CRLs with `openssl ca` and a throwaway database per CA.
crl() { # crl CA OUT [REVOKE_CERT]
	local d="$work/ca-$1-$2"
	mkdir -p "$d"
	: >"$d/index.txt"
	echo 01 >"$d/crlnumber"
	cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $d/index.txt
crlnumber = $d/crlnumber
default_md = sha256
default_crl_days = 3650
CNF
	if [ -n "${3:-}" ]; then
		openssl ca -config "$d/ca.cnf" -cert "$1.pem" -keyfile "$1.key.pem" \
			-revoke "$3" 2>/dev/null
	fi
	openssl ca -config "$d/ca.cnf" -cert "$1.pem" -keyfile "$1.key.pem" -gencrl \
		-out "$2.crl.pem" 2>/dev/null
	openssl crl -in "$2.crl.pem" -outform DER -out "$2.crl"
}
crl root-ca root-ca
crl intermediate-ca intermediate-ca leaf2.pem
crl intermediate-ca intermediate-ca-empty
crl other-ca other-ca

cat leaf1.pem intermediate-ca.pem >leaf1-chain.pem
cat leaf1.der intermediate-ca.der >leaf1-chain.der
cat leaf1.pem other-ca.pem >unrelated.pem

# Keys of app1 in every encoding; others.
openssl pkey -in app1.key.pem -out app1.key.pkcs8.pem
openssl pkcs8 -topk8 -in app1.key.pem -passout pass:secret -out app1.key.pkcs8enc.pem
openssl pkey -in app1.key.pem -traditional -out app1.key.pkcs1.pem
openssl pkey -in app1.key.pem -outform DER -out app1.key.der
openssl pkcs12 -export -in app1.pem -inkey app1.key.pem -passout pass: -out app1.pfx
openssl pkcs12 -export -in app1.pem -inkey app1.key.pem -passout pass:secret -out app1-pw.pfx
openssl ec -in ec-app.key.pem -out ec-app.key.sec1.pem 2>/dev/null
openssl pkey -in app2.key.pem -out app2.key.pkcs8.pem
openssl pkey -in unrelated.key.pem -out unrelated.key.pem.tmp && mv unrelated.key.pem.tmp unrelated.key.pem
cp leaf1.key.pem leaf1.key.pem.tmp && mv leaf1.key.pem.tmp leaf1.key.pem

# Bad inputs.
head -c 700 /dev/urandom >bad/garbage.der
head -c 200 leaf1.der >bad/truncated.der
{ echo "-----BEGIN CERTIFICATE-----"; echo "MIIB!!not*base64@@@###"; echo "-----END CERTIFICATE-----"; } >bad/badbase64.pem
printf -- '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n' >bad/empty-armor.pem
{ cat leaf1.der; printf 'and then some text that is not DER at all, 50 bytes'; } >bad/trailing-garbage.der
head -c 71680 /dev/urandom >bad/big.der
printf 'This is a plain text file.\nIt is neither a certificate nor a key.\n' >bad/text.txt
echo "test PKI in $out"
