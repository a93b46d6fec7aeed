"""The hostile corpus (tests/corpus, made by scripts/make-corpus.py): each
file is refused with its errno, nothing is stored, memory stays bounded."""
import errno
import os
import pathlib

from conftest import daemon_pids, write_file

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "corpus"


def manifest():
    lines = (CORPUS / "MANIFEST.tsv").read_text().splitlines()[1:]
    return [line.split("\t") for line in lines]


def test_corpus_is_large_enough():
    assert len(manifest()) >= 50


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
    log = mnt.log()
    assert log.count("refused") >= len(manifest())
    pid = daemon_pids(mnt.db)[0]
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    if not os.environ.get("PKIFS_SANITIZED"):  # ASan's shadow memory is not ours
        assert hwm < 64 * 1024, f"daemon peak RSS {hwm} KiB"
