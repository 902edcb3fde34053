"""Parse the IDX format that MNIST and Fashion-MNIST are stored in.

An IDX file is a 4-byte magic number -- two zero bytes, a type code and the number
of dimensions -- then one big-endian uint32 per dimension, then the data in C order.
See http://yann.lecun.com/exdb/mnist/ (bottom of the page).
"""
import numpy as np

# type code -> big-endian numpy dtype
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data, name="<bytes>", ndim=None):
    """Decode the bytes of one uncompressed IDX file into an array.

    Parameters
    ----------
    data : bytes
        The whole uncompressed file.
    name : str
        File name, used in error messages.
    ndim : int, optional
        Expected number of dimensions (3 for images, 1 for labels).

    Returns
    -------
    array : ndarray
        Native byte order, shape taken from the header.

    Raises
    ------
    ValueError
        Bad magic number, unexpected number of dimensions, or a length that does not
        match the header (a truncated or padded file).
    """
    if len(data) < 4:
        raise ValueError(f"{name}: {len(data)} bytes is too short to be an IDX file (need a 4-byte magic number)")
    zero0, zero1, type_code, file_ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or type_code not in _DTYPES:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{data[:4].hex()} (expected 0x0000TTDD with "
            f"type TT in {{08, 09, 0B, 0C, 0D, 0E}}); is this really an IDX file?"
        )
    if ndim is not None and file_ndim != ndim:
        raise ValueError(f"{name}: IDX header says {file_ndim} dimensions, expected {ndim}")
    header_len = 4 + 4 * file_ndim
    if len(data) < header_len:
        raise ValueError(f"{name}: truncated header ({len(data)} bytes, need {header_len})")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=file_ndim, offset=4))
    dtype = _DTYPES[type_code]
    expected = header_len + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{name}: length {len(data)} bytes does not match header shape {shape} "
            f"(expected {expected} bytes); the file is truncated or corrupt"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def encode_idx(array):
    """Encode an array as IDX bytes (the inverse of :func:`parse_idx`; used to build test fixtures).

    Parameters
    ----------
    array : ndarray
        Any shape; dtype must be one IDX supports (uint8, int8, int16, int32, float32, float64).
    """
    array = np.asarray(array)
    for code, dtype in _DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
            return header + array.astype(dtype).tobytes()
    raise ValueError(f"encode_idx: dtype {array.dtype} has no IDX type code")
