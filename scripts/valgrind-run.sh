#!/usr/bin/env bash
# Run the daemon under valgrind memcheck for a short mounted session driven by
# real tools, unmount, and fail if valgrind reports errors or leaks.
# usage: scripts/valgrind-run.sh BUILD_DIR/pkifs TESTPKI_DIR
set -euo pipefail
bin=$1
pki=$2
tmp=$(mktemp -d /tmp/pkifs-vg.XXXXXX)
mnt=$tmp/mnt
mkdir -p "$mnt"
cleanup() {
	fusermount3 -u -z "$mnt" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --log-file="$tmp/vg.log" \
	"$bin" mount --db "$tmp/db" "$mnt" -f &
vgpid=$!
for _ in $(seq 1 100); do
	grep -q " $mnt fuse" /proc/mounts && break
	sleep 0.1
done
grep -q " $mnt fuse" /proc/mounts || { echo "valgrind: mount did not come up"; cat "$tmp/vg.log"; exit 1; }

# A workload touching every kind of operation.
cp "$pki/root-ca.der" "$mnt/trusted/certs/"
cp "$pki/intermediate-ca.pem" "$mnt/issuers/certs/"
cp "$pki/intermediate-ca.crl" "$mnt/issuers/crl/" || true
cp "$pki/leaf1.pem" "$mnt/rejected/"
mv "$mnt/rejected/leaf1.pem" "$mnt/trusted/certs/"
cp "$pki/app1.pem" "$mnt/own/certs/"
cp "$pki/app1.key.pkcs8.pem" "$mnt/own/private/"
cp "$pki/bad/garbage.der" "$mnt/trusted/certs/" 2>/dev/null && exit 1
rsync -a "$pki/leaf3.der" "$mnt/trusted/certs/"
chmod 600 "$mnt/trusted/certs/leaf3.der"
touch -m -d @1700000000 "$mnt/trusted/certs/leaf3.der"
mkdir "$mnt/mutex.lock" && rmdir "$mnt/mutex.lock"
ls -lR "$mnt" >/dev/null
cat "$mnt/cafile.pem" >/dev/null
ls "$mnt/capath" >/dev/null
mkdir "$mnt/snapshot/s1" && ls -lR "$mnt/snapshot/s1" >/dev/null
cat "$mnt/snapshot/s1/trusted/certs/"* >/dev/null
rm "$mnt/trusted/certs/leaf3.der"

fusermount3 -u "$mnt"
rc=0
wait $vgpid || rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/vg.log" ]; then
	echo "valgrind: daemon exit $rc"
	cat "$tmp/vg.log"
	exit 1
fi
echo "valgrind: no errors, no leaks"
