"""Fetch the pinned YASGUI build into server/static/yasgui/, or check the committed copy.

The query page serves YASGUI from this server (no CDN: the page must work on networks that
reach nothing else), so its files are committed in the package. They come from the npm
package's own tarball, fetched with npm's ordinary client (`npm pack`), whose integrity is
checked against the hash pinned below before anything is copied. Bumping the version means
changing VERSION and INTEGRITY here, running this script, and updating NOTICE.md.

    python .ci/vendor_yasgui.py           # fetch, check, copy the files
    python .ci/vendor_yasgui.py --check   # fetch, check, compare with the committed files
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@triply/yasgui"
VERSION = "4.2.28"
#: The registry's `dist.integrity` of the tarball (`npm view @triply/yasgui@4.2.28 dist`).
INTEGRITY = (
    "sha512-HN1neZqERSGoDyk/Fg40nI+F0tHnaBxjqizhN0mur2"
    "Kj0oJsklBsFMRk/M+wW+ohy8dSEn7AgX3H0pPrV/wmVg=="
)
#: The files the page uses, and the licences that go with them (path in the tarball).
FILES = (
    "package/build/yasgui.min.js",
    "package/build/yasgui.min.css",
    "package/build/yasgui.min.js.LICENSE.txt",
    "package/LICENSE.txt",
)
TARGET = Path(__file__).resolve().parent.parent / "server" / "static" / "yasgui"

log = logging.getLogger("vendor_yasgui")


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch(folder: Path) -> dict[str, bytes]:
    """The tarball's wanted files, by file name, after checking the tarball's integrity."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to fetch the package (apt-get install npm)")
    subprocess.run(
        [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tarball = next(folder.glob("*.tgz"))
    found = integrity(tarball.read_bytes())
    if found != INTEGRITY:
        sys.exit(f"{tarball.name}: integrity {found}, expected {INTEGRITY}")
    with tarfile.open(tarball) as archive:
        files = {}
        for member in FILES:
            extracted = archive.extractfile(member)
            assert extracted is not None, member
            files[Path(member).name] = extracted.read()
    return files


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        files = fetch(Path(folder))
    differing = []
    for name, data in files.items():
        path = TARGET / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                differing.append(name)
        else:
            TARGET.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            log.info("%s: %d bytes", path, len(data))
    if differing:
        log.error("differ from %s@%s: %s", PACKAGE, VERSION, ", ".join(differing))
        return 1
    if args.check:
        log.info("server/static/yasgui holds %s@%s's files, unchanged", PACKAGE, VERSION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
