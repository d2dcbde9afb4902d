"""
C{python -m ofx sdk fetch [--dest DIR]}: get the XTP SDK the ctypes backend needs.

The official XTP 2.2.32 Linux libraries and headers are published inside the
C{vnpy-xtp} 2.2.32.2.3 source archive on PyPI. This command finds that
archive through the package index's simple API (PEP 691 JSON, or the PEP 503
HTML page), downloads it, checks it against the SHA-256 pinned below, and
unpacks only::

    DIR/libxtptraderapi.so
    DIR/libxtpquoteapi.so
    DIR/include/xtp/*.h

C{DIR} defaults to C{sdk} in the current directory, which is where
C{[xtp] sdk} points by default when the command is run next to C{ofx.ini}
(and where the tests look). The index is C{--index}, else C{PIP_INDEX_URL},
else PyPI; a local copy of the archive can be given with C{--archive}. A
C{DIR} already holding this SDK is left alone unless C{--force}.

The SDK is not OFX's to redistribute: it is never copied into the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import posixpath
import ssl
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from html.parser import HTMLParser
from typing import IO, Any
from urllib.parse import urldefrag, urljoin

PROJECT = "vnpy-xtp"
FILENAME = "vnpy_xtp-2.2.32.2.3.tar.gz"
SHA256 = "939839e696b35bdc5989e0cd09b94e964fbb9e534949da16ea4d6719c867409e"
API_DIR = "vnpy_xtp-2.2.32.2.3/vnpy_xtp/api/"
LIBRARIES = ("libxtptraderapi.so", "libxtpquoteapi.so")
HEADER_DIR = "include/xtp/"
DEFAULT_INDEX = "https://pypi.org/simple/"
DEFAULT_DEST = "sdk"
MARKER = "SDK-SOURCE"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"

Opener = Callable[[urllib.request.Request], Any]


class FetchError(Exception):
    """The SDK could not be fetched or unpacked; C{str()} is one line for the operator."""


def check_sha256(data: bytes, expected: str = SHA256) -> None:
    """Raise L{FetchError} unless C{data} hashes to C{expected}."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise FetchError(f"{FILENAME}: sha256 is {actual}, expected {expected}; refusing to unpack it")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def find_file(
    body: bytes, content_type: str, page_url: str, filename: str = FILENAME
) -> tuple[str, str | None]:
    """
    The download URL and index-declared sha256 (if any) of C{filename} in a
    simple-API project page, JSON or HTML.
    """
    if content_type.split(";")[0].strip() == JSON_TYPE:
        for entry in json.loads(body)["files"]:
            if entry["filename"] == filename:
                return urljoin(page_url, entry["url"]), entry.get("hashes", {}).get("sha256")
    else:
        parser = _Links()
        parser.feed(body.decode("utf-8", errors="replace"))
        for href in parser.hrefs:
            url, fragment = urldefrag(urljoin(page_url, href))
            if posixpath.basename(url) == filename:
                digest = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
                return url, digest
    raise FetchError(f"{page_url}: no {filename} in the index")


def _members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """The archive members OFX wants, by their path under DIR."""
    wanted = {}
    for member in archive.getmembers():
        if not member.isfile() or not member.name.startswith(API_DIR):
            continue
        relative = member.name[len(API_DIR) :]
        if relative in LIBRARIES:
            wanted[relative] = member
        elif relative.startswith(HEADER_DIR):
            name = relative[len(HEADER_DIR) :]
            if name.endswith(".h") and len(name) > 2 and "/" not in name and not name.startswith("."):
                wanted[relative] = member
    return wanted


def extract(data: bytes, dest: str) -> list[str]:
    """
    Unpack the two libraries and the C{include/xtp} headers of the archive
    C{data} into C{dest}; return the paths written (relative to C{dest}).
    Nothing else in the archive is written, whatever its name.
    """
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
    except (tarfile.TarError, OSError) as e:
        raise FetchError(f"{FILENAME}: not a gzip tar archive: {e}") from None
    with archive:
        wanted = _members(archive)
        missing = [name for name in LIBRARIES if name not in wanted]
        if missing or not any(name.startswith(HEADER_DIR) for name in wanted):
            what = ", ".join(missing) or "include/xtp headers"
            raise FetchError(f"{FILENAME}: archive has no {what} under {API_DIR}")
        for relative, member in sorted(wanted.items()):
            source = archive.extractfile(member)
            assert source is not None
            _write(
                os.path.join(dest, *relative.split("/")), source, 0o755 if relative in LIBRARIES else 0o644
            )
    return sorted(wanted)


def _write(path: str, source: IO[bytes], mode: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(source.read())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _marker(dest: str) -> str:
    return os.path.join(dest, MARKER)


def is_fetched(dest: str, sha256: str = SHA256) -> bool:
    """Whether C{dest} already holds this SDK (libraries, headers and marker)."""
    try:
        with open(_marker(dest), encoding="utf-8") as f:
            recorded = f.read().split()
    except OSError:
        return False
    complete = all(os.path.isfile(os.path.join(dest, name)) for name in LIBRARIES) and os.path.isfile(
        os.path.join(dest, "include", "xtp", "xtp_trader_api.h")
    )
    return complete and recorded == [FILENAME, f"sha256={sha256}"]


def _default_opener(request: urllib.request.Request) -> Any:
    cafile = os.environ.get("PIP_CERT") or None
    context = ssl.create_default_context(cafile=cafile)
    return urllib.request.urlopen(request, timeout=60, context=context)


def download(index: str, opener: Opener = _default_opener, sha256: str = SHA256) -> bytes:
    """Find the archive in the simple index C{index} and download it (not yet checked)."""
    page = urljoin(index.rstrip("/") + "/", f"{PROJECT}/")
    request = urllib.request.Request(page, headers={"Accept": f"{JSON_TYPE}, text/html;q=0.1"})
    try:
        with opener(request) as response:
            body = response.read()
            content_type = response.headers.get("Content-Type", "")
            page = response.geturl() if hasattr(response, "geturl") else page
        url, declared = find_file(body, content_type, page)
        if declared is not None and declared != sha256:
            raise FetchError(f"{page}: the index lists {FILENAME} with sha256 {declared}, expected {sha256}")
        with opener(urllib.request.Request(url)) as response:
            return bytes(response.read())
    except OSError as e:
        raise FetchError(f"cannot download {FILENAME} from {index}: {e}") from None


def fetch(
    dest: str,
    index: str = DEFAULT_INDEX,
    archive: str | None = None,
    force: bool = False,
    opener: Opener = _default_opener,
    say: Callable[[str], None] = print,
    sha256: str = SHA256,
) -> list[str]:
    """
    Make C{dest} hold the SDK: download (or read C{archive}), check the
    sha256, unpack. Returns the paths written, or [] when it was already there.
    """
    if not force and is_fetched(dest, sha256):
        say(f"XTP SDK already in {dest}")
        return []
    if archive is not None:
        try:
            with open(archive, "rb") as f:
                data = f.read()
        except OSError as e:
            raise FetchError(f"{archive}: cannot read: {e.strerror}") from None
    else:
        say(f"fetching {FILENAME} from {index}")
        data = download(index, opener, sha256)
    check_sha256(data, sha256)
    written = extract(data, dest)
    with open(_marker(dest), "w", encoding="utf-8") as f:
        f.write(f"{FILENAME} sha256={sha256}\n")
    say(f"XTP SDK 2.2.32 unpacked into {dest}: {', '.join(written)}")
    return written


def main(argv: list[str]) -> int:
    """C{python -m ofx sdk fetch [--dest DIR] [--index URL] [--archive FILE] [--force] [--quiet]}."""
    parser = argparse.ArgumentParser(prog="python -m ofx sdk", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = commands.add_parser("fetch", help="download and unpack the XTP SDK libraries and headers")
    fetch_cmd.add_argument("--dest", default=DEFAULT_DEST, help="directory to unpack into (default: ./sdk)")
    fetch_cmd.add_argument(
        "--index",
        default=os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX,
        help="simple package index (default: $PIP_INDEX_URL, else PyPI)",
    )
    fetch_cmd.add_argument("--archive", help=f"use a local copy of {FILENAME} instead of downloading")
    fetch_cmd.add_argument("--force", action="store_true", help="unpack again even if DIR has the SDK")
    fetch_cmd.add_argument("--quiet", action="store_true", help="print errors only")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        if not args.quiet:
            print(line)

    try:
        fetch(args.dest, args.index, args.archive, args.force, say=say)
    except FetchError as e:
        print(f"ofx sdk fetch: {e}", file=sys.stderr)
        return 1
    return 0
