"""What readdir(3) gives for "." and "..": a directory type (DT_DIR), so
readers that trust d_type need no stat per listing."""
import os

from conftest import run

DIRENTS_C = r"""
#include <dirent.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	DIR *d = opendir(argv[1]);
	struct dirent *e;
	if (!d)
		return 2;
	while ((e = readdir(d)))
		printf("%s %d\n", e->d_name, e->d_type);
	return closedir(d) != 0;
}
"""


def dirents(workdir, path):
    exe = workdir / "dirents"
    if not exe.exists():
        (workdir / "dirents.c").write_text(DIRENTS_C)
        run("cc", "-o", exe, workdir / "dirents.c")
    out = run(exe, path).stdout.split("\n")
    return dict(line.rsplit(" ", 1) for line in out if line)


def test_dot_and_dotdot_are_directories(mnt, pki, workdir):
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/"))
    os.mkdir(mnt.p("own/certs/x.lock"))
    os.mkdir(mnt.p("snapshot/s"))
    dt_dir = "4"
    for d in ("", "trusted", "trusted/certs", "issuer", "rejected/certs", "own/certs/x.lock",
              "snapshot", "snapshot/s", "snapshot/s/trusted/certs", "capath"):
        got = dirents(workdir, mnt.p(d))
        assert got["."] == dt_dir and got[".."] == dt_dir, (d, got)
    assert dirents(workdir, mnt.p("trusted/certs"))["root-ca.der"] == "8"  # DT_REG
