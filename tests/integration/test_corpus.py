"""The hostile corpus (tests/corpus, made by scripts/make-corpus.py): each
file is refused with its errno, nothing is stored, memory stays bounded."""
import errno
import json
import os
import pathlib
import subprocess

from conftest import BIN, daemon_pids, write_file

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "corpus"


def manifest():
    lines = (CORPUS / "MANIFEST.tsv").read_text().splitlines()[1:]
    return [line.split("\t") for line in lines]


FOLDERS = {"own/certs", "own/private", "trusted/certs", "trusted/crl", "issuers/certs",
           "issuers/crl", "rejected"}


def test_manifest_names_every_corpus_file_once():
    """MANIFEST.tsv and tests/corpus agree: each row is well formed and names
    a file there, each file there has exactly one row (a file added without
    a row, or a row whose file is gone, would go untested)."""
    rows = manifest()
    assert len(rows) >= 50
    bad = [r for r in rows if len(r) != 4 or r[1] not in FOLDERS or r[2] not in errno.errorcode.values()
           or not r[3]]
    assert not bad, bad
    names = [r[0] for r in rows]
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
    files = {p.name for p in CORPUS.iterdir()} - {"MANIFEST.tsv"}
    assert set(names) == files, (sorted(set(names) - files), sorted(files - set(names)))


def test_every_hostile_file_is_refused(mnt):
    wrong = []
    for name, folder, want, what in manifest():
        err = write_file(mnt.p(folder, name), (CORPUS / name).read_bytes())
        got = errno.errorcode.get(err.errno) if err else "accepted"
        if got != want:
            wrong.append(f"{name} ({what}) in {folder}: {got}, want {want}")
    assert not wrong, "\n".join(wrong)
    for folder in {row[1] for row in manifest()}:
        assert [n for n in os.listdir(mnt.p(folder)) if n != "certs"] == [], folder
    # the audit log has one refusal per file, under its path, with its errno
    r = subprocess.run([BIN, "log", "--db", mnt.db, "--json"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    refused = {}
    for row in rows:
        assert row["outcome"] == "refused", row
        refused.setdefault(row["path"], []).append(row["errno"])
    want = {f"{folder}/{name}": [err] for name, folder, err, _ in manifest()}
    assert refused == want
    pid = daemon_pids(mnt.db)[0]
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    if not os.environ.get("PKIFS_SANITIZED"):  # ASan's shadow memory is not ours
        assert hwm < 64 * 1024, f"daemon peak RSS {hwm} KiB"
