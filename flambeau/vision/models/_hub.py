"""Weights files in torch hub's cache: ``$TORCH_HOME/hub/checkpoints/<file name from the url>``.

The directory and file names are torch hub's, so a file that ``torch.hub`` (or torchvision) has
already downloaded is found and read by :func:`flambeau.load`, and a file flambeau downloads is
one torch would use. A missing file is downloaded with urllib to a temporary name in the same
directory, checked against the SHA-256 prefix in its name (``resnet18-f37072fd.pth``: the digest
starts with ``f37072fd``) and only then renamed into place.
"""
import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

__all__ = ["get_dir", "download_url_to_file", "load_state_dict_from_url"]

_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")       # torch hub's: "name-<hex>.ext"
_CHUNK = 128 * 1024
_TIMEOUT_S = 60


def _torch_home():
    """``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch`` (torch's rule)."""
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return os.path.expanduser(os.getenv("TORCH_HOME", default))


def get_dir():
    """The hub directory, ``$TORCH_HOME/hub``; weights files live in its ``checkpoints`` folder."""
    return os.path.join(_torch_home(), "hub")


def _progress_bar(total, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024)


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Download ``url`` to the path ``dst``, writing to ``dst.<random>.partial`` first and renaming
    it to ``dst`` once complete (and, given ``hash_prefix``, once its SHA-256 hex digest starts
    with it), so an interrupted or corrupt transfer never leaves a file at ``dst``.

    Raises:
        RuntimeError: the file's SHA-256 does not start with ``hash_prefix``, or fewer bytes came
            than the server announced.
        urllib.error.URLError: the server could not be reached or answered with an error.
    """
    dst = os.path.expanduser(os.fspath(dst))
    tmp = f"{dst}.{uuid.uuid4().hex}.partial"
    sha256 = hashlib.sha256() if hash_prefix is not None else None
    try:
        with open(tmp, "xb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "torch.hub"})
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                total = response.length
                bar = _progress_bar(total, progress)
                got = 0
                try:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        got += len(chunk)
                        if sha256 is not None:
                            sha256.update(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                finally:
                    if bar is not None:
                        bar.close()
            if total is not None and got != total:
                raise RuntimeError(f"download of {url} ended after {got} of {total} bytes")
        if sha256 is not None:
            digest = sha256.hexdigest()
            if digest[:len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True, check_hash=False,
                             file_name=None, weights_only=False):
    """The object saved at ``url`` (a state dict), read with :func:`flambeau.load` from
    ``model_dir`` (default ``get_dir()/checkpoints``) and downloaded there first only when the
    file is missing.

    Args:
        url: where the file is; its last path component names the cached file.
        model_dir: the cache directory, created if needed.
        map_location: as in :func:`flambeau.load`.
        progress: show a progress bar (when tqdm is installed) while downloading.
        check_hash: a downloaded file's SHA-256 must start with the hex digits after the last
            ``-`` of its name (``resnet18-f37072fd.pth``); a file already cached is not checked.
        file_name: the cached file's name instead of the url's.
        weights_only: accepted for torch's signature; flambeau.load never runs code from a file.

    Raises:
        urllib.error.URLError: the file is not cached and could not be downloaded (no network,
            or an HTTP error); the message names the url and the path to put the file at.
        RuntimeError: the download's hash is wrong, or the cached file is not a torch/flambeau file.
    """
    from ... import load

    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    model_dir = os.path.expanduser(os.fspath(model_dir))
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urllib.parse.urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            match = _HASH_IN_NAME.search(filename)
            hash_prefix = match.group(1) if match else None
        try:
            download_url_to_file(url, cached_file, hash_prefix, progress=progress)
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as e:
            # an HTTPError's str() has the status code; other URLErrors wrap the socket error as reason
            reason = e if isinstance(e, urllib.error.HTTPError) else getattr(e, "reason", e)
            raise urllib.error.URLError(
                f"the weights file {filename} is not in {model_dir} and downloading it from {url} failed "
                f"({reason}); without network access, copy the file to {cached_file} (TORCH_HOME sets the "
                f"cache directory, as for torch.hub)") from e
    return load(cached_file, map_location=map_location, weights_only=weights_only)
