"""Fetch a file from a list of mirrors, verify it, and publish it atomically.

A download goes to a hidden temporary file in the destination folder and is renamed
into place only after it verified, so an interrupted or corrupt download never
leaves a partial file where the loader would find it.
"""
import os
import tempfile
from pathlib import Path


class DownloadError(OSError):
    """Every mirror failed; the message lists what each one did."""


def _fetch(url, path, progress, timeout):
    import pooch

    # pooch's downloader gives a tqdm progress bar and streams in chunks.
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
    downloader(url, str(path), None)


def download(urls, dest, verify, progress=True, timeout=30):
    """Download ``dest`` from the first mirror that works and passes ``verify``.

    Parameters
    ----------
    urls : list of str
        Mirrors, tried in order; a network failure moves on to the next one.
    dest : path-like
        Final location. Its folder is created if needed.
    verify : callable
        ``verify(path) -> None`` when the file is good, or an error message string.
        A file that fails verification is deleted and fetched once more (from the next
        mirror if there is one, otherwise from the same one).
    progress : bool
        Show a progress bar.
    timeout : float
        Seconds before one connection attempt gives up.

    Returns
    -------
    dest : Path

    Raises
    ------
    DownloadError
        Nothing usable could be fetched; lists each mirror's failure.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    queue = list(urls)
    failures = []
    refetched = False
    while queue:
        url = queue.pop(0)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                _fetch(url, tmp, progress, timeout)
            except Exception as exc:  # any network or HTTP failure: try the next mirror
                failures.append(f"  {url}: {type(exc).__name__}: {exc}")
                continue
            problem = verify(tmp)
            if problem is None:
                os.replace(tmp, dest)
                return dest
            failures.append(f"  {url}: downloaded but {problem}")
            if refetched:
                break
            refetched = True
            if not queue:
                queue.append(url)
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(f"could not download {dest.name}:\n" + "\n".join(failures))
