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
etcdpid=
cleanup() {
	fusermount3 -u -z "$mnt" 2>/dev/null || true
	[ -z "$etcdpid" ] || kill -9 "$etcdpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# Mount db at $mnt under valgrind with options $1 (may be empty).
start() {
	valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --log-file="$tmp/vg.log" \
		"$bin" mount --db "$tmp/db" "$mnt" -f ${1:+-o "$1"} &
	vgpid=$!
	for _ in $(seq 1 100); do
		grep -q " $mnt fuse" /proc/mounts && break
		sleep 0.1
	done
	grep -q " $mnt fuse" /proc/mounts || { echo "valgrind: mount did not come up"; cat "$tmp/vg.log"; exit 1; }
}

# Unmount and fail on any report.
finish() {
	fusermount3 -u "$mnt"
	rc=0
	wait $vgpid || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$tmp/vg.log" ]; then
		echo "valgrind: daemon exit $rc ($1)"
		cat "$tmp/vg.log"
		exit 1
	fi
}

start ""

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
finish "local session"

# The same store in a fleet: one etcd member on loopback; the seed of what
# the store holds, writes through etcd, the watch applying them, a resync.
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cport=$(port)
pport=$(port)
etcd --name vg --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$cport" \
	--advertise-client-urls "http://127.0.0.1:$cport" --listen-peer-urls "http://127.0.0.1:$pport" \
	--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
	--initial-cluster "vg=http://127.0.0.1:$pport" >"$tmp/etcd.log" 2>&1 &
etcdpid=$!
disown "$etcdpid"
ep="http://127.0.0.1:$cport"
for _ in $(seq 1 100); do
	etcdctl --endpoints "$ep" endpoint health >/dev/null 2>&1 && break
	sleep 0.1
done
start "etcd=$ep,etcd_prefix=/vg,etcd_node=vg"
for _ in $(seq 1 100); do
	etcdctl --endpoints "$ep" get --prefix /vg/issuers/certs --keys-only | grep -q . && break
	sleep 0.2
done
etcdctl --endpoints "$ep" get --prefix /vg/issuers/certs --keys-only | grep -q . ||
	{ echo "valgrind: the first machine did not seed the fleet's etcd"; exit 1; }
cp "$pki/leaf2.pem" "$mnt/rejected/"
mv "$mnt/rejected/leaf2.pem" "$mnt/trusted/certs/"
mv "$mnt/trusted/certs/leaf2.pem" "$mnt/issuers/certs/leaf2.pem" 2>/dev/null || true
cp "$pki/app2.der" "$mnt/trusted/certs/"
rm "$mnt/trusted/certs/app2.der"
etcdctl --endpoints "$ep" get --prefix /vg/ --keys-only | grep -q "/vg/trusted/certs/leaf2.pem" ||
	{ echo "valgrind: the fleet's etcd lacks trusted/certs/leaf2.pem"; exit 1; }
"$bin" status --db "$tmp/db" | grep -q "applied revision" || { echo "valgrind: no fleet status"; exit 1; }
finish "fleet session"
echo "valgrind: no errors, no leaks"
