"""Downloading and checking dataset files: MD5s, atomic downloads, mirrors, archives."""
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "download_from_mirrors",
           "extract_archive", "download_and_extract_archive"]

_CHUNK = 1 << 20
_USER_AGENT = "flambeau"
_TIMEOUT_S = 60


def calculate_md5(fpath, chunk_size=_CHUNK):
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath, md5, **kwargs):
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath, md5=None):
    """The file exists and, when ``md5`` is given, has that MD5."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def _progress(total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)


def download_url(url, root, filename=None, md5=None, max_redirect_hops=3):
    """Download ``url`` to ``root/filename`` unless a verified copy is there.

    The bytes go to a temporary file in ``root`` that is checked against ``md5`` and then
    renamed into place, so an interrupted or corrupt transfer never leaves a file behind.

    Raises:
        RuntimeError: the downloaded file's MD5 differs from ``md5``.
        urllib.error.URLError, OSError, http.client.HTTPException: the transfer failed.
    """
    root = os.path.expanduser(os.fspath(root))
    filename = filename or os.path.basename(url)
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        print("Using downloaded and verified file: " + fpath)
        return
    print(f"Downloading {url} to {fpath}")
    fd, tmp = tempfile.mkstemp(prefix="." + filename + ".", suffix=".part", dir=root)
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                total = response.length
                bar = _progress(total, filename)
                try:
                    got = 0
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        got += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                finally:
                    if bar is not None:
                        bar.close()
            if total is not None and got != total:
                raise OSError(f"download of {url} ended after {got} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        if md5 is not None:
            actual = calculate_md5(tmp)
            if actual != md5:
                raise RuntimeError(f"{url}: downloaded file has MD5 {actual}, expected {md5}")
        os.replace(tmp, fpath)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def download_from_mirrors(mirrors, filename, root, md5=None):
    """Try ``mirror + filename`` for each mirror in turn; raise if none gives a verified file."""
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{filename}"
        try:
            download_url(url, root, filename, md5)
            return os.path.join(root, filename)
        except Exception as e:          # network errors, HTTP errors, MD5 mismatch: next mirror
            print(f"Failed to download (trying next):\n{e}\n")
            errors.append(f"{url}: {e}")
    raise RuntimeError(f"Error downloading {filename}:\n" + "\n".join(errors))


def _safe_members(tar, dest):
    dest = os.path.realpath(dest)
    for m in tar.getmembers():
        target = os.path.realpath(os.path.join(dest, m.name))
        if not (target == dest or target.startswith(dest + os.sep)) or not (m.isfile() or m.isdir()):
            raise RuntimeError(f"refusing to extract {m.name!r}: it is not a plain file inside {dest}")
        yield m


def extract_archive(from_path, to_path=None, remove_finished=False):
    """Extract a .tar/.tar.gz/.tgz (plain files and folders only) or a .gz file."""
    to_path = to_path or os.path.dirname(from_path)
    if from_path.endswith((".tar", ".tar.gz", ".tgz")):
        with tarfile.open(from_path, "r:*") as tar:
            members = list(_safe_members(tar, to_path))
            tar.extractall(to_path, members=members)
    elif from_path.endswith(".gz"):
        out = os.path.join(to_path, os.path.basename(from_path)[:-3])
        with gzip.open(from_path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        raise RuntimeError(f"extract_archive(): unsupported archive {from_path}")
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url, download_root, extract_root=None, filename=None, md5=None,
                                 remove_finished=False):
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    archive = os.path.join(download_root, filename)
    print(f"Extracting {archive} to {extract_root or download_root}")
    extract_archive(archive, extract_root or download_root, remove_finished)
