"""tools/fixture_io.py — write tests/fixtures/*.fx (the format tests/fixture.h reads).

"SLFX", u32 version 1, u32 count, then per tensor: u32 name_len, name, u32 dtype (0 f32, 1 i32),
u32 ndim, u32 dims[ndim], the elements (little-endian, 4 bytes each).
"""
import struct
import numpy as np


def write_fixture(path, tensors):
    """tensors: dict name -> array-like (float arrays stored f32, integer arrays i32)."""
    with open(path, "wb") as f:
        f.write(b"SLFX")
        f.write(struct.pack("<II", 1, len(tensors)))
        for name, a in tensors.items():
            if hasattr(a, "detach"):
                a = a.detach().cpu().numpy()
            a = np.asarray(a)
            if np.issubdtype(a.dtype, np.integer):
                a, code = a.astype("<i4"), 1
            else:
                a, code = a.astype("<f4"), 0
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb)
            f.write(struct.pack("<II", code, a.ndim))
            f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(np.ascontiguousarray(a).tobytes())
