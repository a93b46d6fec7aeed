"""The model that test_model.py runs beside a real mount: a small pool of
PKI objects from the test PKI, and the folder rules as plain Python.

The rules here are the intended ones (README's folder rules, with the same
certificate allowed under several names in a trust folder). Nothing in this
file touches a mount: it predicts, for each operation, the errno (or None)
and the tree afterwards.
"""
import copy
import errno
import time

# Canonical folders that hold files, and the two that hold only folders.
ROOT, OWN = "", "own"
OWN_CERTS, OWN_PRIVATE = "own/certs", "own/private"
TRUSTED_CERTS, TRUSTED_CRL = "trusted/certs", "trusted/crl"
ISSUERS_CERTS, ISSUERS_CRL = "issuers/certs", "issuers/crl"
REJECTED = "rejected"
FILE_FOLDERS = [ROOT, OWN, OWN_CERTS, OWN_PRIVATE, TRUSTED_CERTS, TRUSTED_CRL,
                ISSUERS_CERTS, ISSUERS_CRL, REJECTED]
CONTAINERS = ["trusted", "issuers"]
AUX = (ROOT, OWN)
CERT_FOLDERS = (OWN_CERTS, TRUSTED_CERTS, ISSUERS_CERTS)
CRL_FOLDERS = (TRUSTED_CRL, ISSUERS_CRL)
CA_FOLDERS = (TRUSTED_CERTS, ISSUERS_CERTS)  # where a CRL's CA must be

# Size caps (the defaults of pk_limits_default).
CERT_MAX, CRL_MAX, AUX_MAX = 64 * 1024, 16 * 1024 * 1024, 1024 * 1024

# Layouts (-o layout=): which spelling of issuers/ and rejected/ a listing
# shows; every spelling resolves in every layout.
LAYOUTS = ["node-opcua", "part12", "both"]
LIVE_ROOT_EXTRA_DIRS = {"snapshot", "capath"}
LIVE_ROOT_VIEW_FILES = {"cafile.pem"}


def listing(path, layout):
    """(folders listed, whether files are listed) of the folder spelled path
    in a tree of that layout (a snapshot root adds no views)."""
    node, part12 = layout in ("node-opcua", "both"), layout in ("part12", "both")
    if path == ROOT:   # with the other certificate groups' directories (test_groups.py)
        return {"own", "trusted", "rejected", "UserTokenCerts", "HttpCerts"} | \
            ({"issuers"} if node else set()) | ({"issuer"} if part12 else set()), True
    if path == REJECTED:
        return {"certs"} if part12 else set(), node
    if path in ("own",):
        return {"certs", "private"}, True
    if path in ("trusted", "issuers", "issuer"):
        return {"certs", "crl"}, True
    return set(), True


def spellings(folder):
    """Every path under which the mount shows folder (aliases included)."""
    if folder.startswith("issuers"):
        return [folder, "issuer" + folder[len("issuers"):]]
    if folder == REJECTED:
        return [REJECTED, "rejected/certs"]
    return [folder]


def spell(folder, alias):
    """folder as a path, through its alias when alias and it has one."""
    s = spellings(folder)
    return s[1] if alias and len(s) > 1 else s[0]


class Obj:
    """One pool object: its bytes and what the store will make of them.

    kind: cert, crl, key, empty, bad (EBADMSG), notchain (EINVAL), big
    (random bytes over the certificate cap). ident: the certificate
    (thumbprint) a cert file stands for; ca: a CA certificate; issuer: the CA
    a CRL names; goodsig: the CRL verifies with that CA.
    """

    def __init__(self, name, data, kind, ident=None, ca=False, issuer=None, goodsig=True):
        self.name, self.data, self.kind = name, data, kind
        self.ident, self.ca, self.issuer, self.goodsig = ident, ca, issuer, goodsig

    def __repr__(self):
        return self.name

    def __deepcopy__(self, memo):
        return self  # immutable: snapshots of the model share the pool


def load_pool(pki):
    """The pool, from the test PKI directory (scripts/gen-test-pki.sh)."""
    rd = lambda n: (pki / n).read_bytes()
    pool = []

    def cert(n, ident, ca=False, data=None):
        pool.append(Obj(n, data if data is not None else rd(n), "cert", ident, ca))

    cert("root-ca.der", "root-ca", True)
    cert("root-ca.pem", "root-ca", True)
    cert("intermediate-ca.pem", "intermediate-ca", True)
    cert("intermediate-chain.pem", "intermediate-ca", True,
         rd("intermediate-ca.pem") + rd("root-ca.pem"))
    cert("other-ca.der", "other-ca", True)
    cert("leaf1.der", "leaf1")
    cert("leaf1.pem", "leaf1")
    cert("leaf1-chain.pem", "leaf1")
    cert("leaf1-chain.der", "leaf1")
    cert("leaf2.der", "leaf2")
    cert("app1.der", "app1")  # keyCertSign but CA:FALSE
    cert("ec-app.pem", "ec-app")
    cert("noca-selfsigned.der", "noca-selfsigned")
    cert("expired.der", "expired")
    for n, issuer in (("root-ca.crl", "root-ca"), ("intermediate-ca.crl.pem", "intermediate-ca"),
                      ("intermediate-ca-empty.crl", "intermediate-ca"), ("other-ca.crl", "other-ca")):
        pool.append(Obj(n, rd(n), "crl", issuer=issuer))
    bad = bytearray(rd("root-ca.crl"))
    bad[-1] ^= 1  # the last byte of the signature
    pool.append(Obj("root-ca-badsig.crl", bytes(bad), "crl", issuer="root-ca", goodsig=False))
    for n in ("app1.key.pkcs8.pem", "app1.key.der", "app1.pfx", "ec-app.key.sec1.pem",
              "app1.key.pkcs8enc.pem"):
        pool.append(Obj(n, rd(n), "key"))
    for n in ("bad/garbage.der", "bad/truncated.der", "bad/text.txt", "bad/trailing-garbage.der",
              "bad/badbase64.pem"):
        pool.append(Obj(n, rd(n), "bad"))
    pool.append(Obj("unrelated.pem", rd("unrelated.pem"), "notchain"))
    pool.append(Obj("bad/big.der", rd("bad/big.der"), "big"))
    pool.append(Obj("empty", b"", "empty"))
    return pool


def size_cap(folder):
    if folder in AUX:
        return AUX_MAX
    return CRL_MAX if folder in CRL_FOLDERS else CERT_MAX


def route(folder, obj):
    """(folder, errno): where obj written or moved into folder is filed.
    trusted/ and issuers/ hold only folders: a certificate dropped there goes
    to their certs/, a CRL to their crl/, anything else is refused."""
    if folder not in CONTAINERS:
        return folder, None
    if obj.kind == "cert":
        return folder + "/certs", None
    if obj.kind == "crl":
        return folder + "/crl", None
    return folder, errno.EBADMSG if obj.kind in ("bad", "big") else errno.EINVAL


def static_verdict(folder, obj):
    """errno of obj in folder from its bytes alone (None: acceptable)."""
    folder, err = route(folder, obj)
    if err is not None:
        return err
    if len(obj.data) > size_cap(folder):
        return errno.EFBIG
    if folder in AUX or obj.kind == "empty":
        return None
    if obj.kind in ("bad", "big"):
        return errno.EBADMSG
    if obj.kind == "notchain":
        return errno.EINVAL
    if folder in CERT_FOLDERS or folder == REJECTED:
        if obj.kind != "cert":
            return errno.EINVAL
        return errno.EPERM if folder == ISSUERS_CERTS and not obj.ca else None
    if folder in CRL_FOLDERS:
        return None if obj.kind == "crl" else errno.EINVAL
    return None if obj.kind == "key" else errno.EINVAL  # own/private


class Entry:
    """A file of the model: its object, mode and mtime.

    mtime is None while the model cannot know it (the daemon set it); the
    test then records what the mount shows and requires it to stay. est is
    the model's estimate of such a time (when it was set), for ordering.
    """

    def __init__(self, obj, mode, mtime=None, est=None):
        self.obj, self.mode, self.mtime = obj, mode, mtime
        self.est = est if est is not None else time.time_ns()

    def when(self):
        return self.mtime if self.mtime is not None else self.est

    def __repr__(self):
        t = self.mtime if self.mtime is not None else "?"
        return f"Entry({self.obj!r}, 0o{self.mode:o}, {t})"


class Model:
    """The tree the mount should show: {(folder, name): Entry}."""

    def __init__(self, max_rejected):
        self.files = {}
        self.snaps = {}
        self.max_rejected = max_rejected
        self.evicted = self.refreshed = 0  # how often those rules applied

    def ca_present(self, ca):
        return any(k[0] in CA_FOLDERS and e.obj.kind == "cert" and e.obj.ident == ca
                   for k, e in self.files.items())

    def verdict(self, folder, obj):
        """errno of committing obj into folder now (None: accepted); folder
        is where route() filed it."""
        e = static_verdict(folder, obj)
        if e is not None or folder not in CRL_FOLDERS or obj.kind != "crl":
            return e
        if not self.ca_present(obj.issuer):
            return errno.ENOKEY
        return None if obj.goodsig else errno.EKEYREJECTED

    def place(self, folder, name, entry):
        """Put entry at folder/name: replace, refresh rejected/, evict."""
        if folder == OWN_PRIVATE:
            entry.mode = 0o600
        self.files.pop((folder, name), None)
        if folder == REJECTED and entry.obj.kind == "cert":
            for k in [k for k, e in self.files.items()
                      if k[0] == REJECTED and e.obj.kind == "cert" and e.obj.ident == entry.obj.ident]:
                del self.files[k]
                self.refreshed += 1
        self.files[(folder, name)] = entry
        if folder == REJECTED:
            while True:
                held = [k for k in self.files if k[0] == REJECTED]
                if len(held) <= self.max_rejected:
                    break
                del self.files[min(held, key=lambda k: self.files[k].when())]
                self.evicted += 1

    def put(self, folder, name, obj, new_mode, wrote=True):
        """A file written (open/write/close, cp, truncate): errno or None.
        wrote: the writer wrote or truncated through its descriptor (an
        empty file dropped into trusted/ is refused only at the last close,
        which reports nothing, when it did not)."""
        if folder in CONTAINERS and obj.kind == "empty" and not wrote:
            return None
        dropped = folder in CONTAINERS
        folder, err = route(folder, obj)
        err = err or self.verdict(folder, obj)
        if err is not None:
            return err
        old = self.files.get((folder, name))
        # a drop is a new file, whose mode replaces the one it lands on
        self.place(folder, name, Entry(obj, old.mode if old and not dropped else new_mode))
        return None

    def rename(self, f1, n1, f2, n2):
        """A refused rename answers EPERM where a write would be EINVAL."""
        src = self.files.get((f1, n1))
        if src is None:
            return errno.ENOENT
        f2, err = route(f2, src.obj)
        if err is None and (f1, n1) == (f2, n2):
            return None
        if err is None and f1 != f2:
            err = self.verdict(f2, src.obj)
        if err is not None:
            return errno.EPERM if err == errno.EINVAL else err
        del self.files[(f1, n1)]
        self.place(f2, n2, src)
        return None

    def remove(self, folder, name):
        return None if self.files.pop((folder, name), None) else errno.ENOENT

    def chmod(self, folder, name, mode):
        e = self.files.get((folder, name))
        if e is None:
            return errno.ENOENT
        if folder == OWN_PRIVATE and mode & 0o077:
            return errno.EPERM
        e.mode = mode & 0o7777
        return None

    def touch(self, folder, name, mtime):
        """mtime None: the daemon's now."""
        e = self.files.get((folder, name))
        if e is None:
            return errno.ENOENT
        e.mtime, e.est = mtime, time.time_ns()
        return None

    def snapshot(self, name):
        if name in self.snaps:
            return errno.EEXIST
        self.snaps[name] = copy.deepcopy(self.files)
        return None

    def drop_snapshot(self, name):
        return None if self.snaps.pop(name, None) is not None else errno.ENOENT

    def restore(self, name):
        if name not in self.snaps:
            return errno.ENOENT
        self.files = copy.deepcopy(self.snaps[name])
        return None
