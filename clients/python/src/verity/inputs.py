"""Turn numpy arrays, PIL images, files, raw image bytes and lists into a call input.

A tensor travels as base64 of little-endian ``f32`` bytes (``{"kind": "tensor_f32le"}``) and
hashes as :func:`verity.crypto.tensor_input_hash`; an image travels as its PNG/JPEG file bytes
(``{"kind": "image"}``) and hashes as :func:`verity.crypto.image_input_hash`. Problems found
here raise :class:`verity.errors.BadInput` before anything is sent.
"""

from __future__ import annotations

import base64
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
from PIL import Image

from .crypto import image_input_hash, tensor_input_hash
from .errors import BadInput

InputLike = Union["np.ndarray[Any, Any]", "Image.Image", str, "os.PathLike[str]", bytes, Sequence[float]]
"""Anything :func:`prepare_input` accepts."""

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8"


@dataclass(frozen=True)
class PreparedInput:
    """An input ready to send: its JSON form and the hash tickets commit to."""

    kind: str
    payload: bytes
    input_hash: bytes

    def to_json(self) -> dict[str, str]:
        """The ``input`` field of ``POST /v1/call``."""
        return {"kind": self.kind, "base64": base64.b64encode(self.payload).decode()}


def _bad(message: str) -> BadInput:
    return BadInput(message, code="invalid_input")


def is_image(data: bytes) -> bool:
    """Whether ``data`` starts like a PNG or JPEG file."""
    return data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC)


def tensor(values: Any, expected_len: Optional[int] = None) -> PreparedInput:
    """A tensor input from an array-like of numbers, checked for NaN/inf and length."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise _bad(f"the input is not an array of numbers ({e}); pass floats") from None
    flat = arr.reshape(-1)
    if flat.size == 0:
        raise _bad("the input has no values")
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        i = int(bad[0])
        raise _bad(
            f"input value {i} is {flat[i]}; models take finite numbers only, replace NaN/inf values"
        )
    f32 = flat.astype("<f4")
    if not np.all(np.isfinite(f32)):
        raise _bad("an input value is too large for f32; scale the input into f32 range")
    if expected_len is not None and flat.size != expected_len:
        raise _bad(
            f"the input has {flat.size} values but the model takes {expected_len}; "
            f"reshape or resize the input to the model's input shape"
        )
    data = f32.tobytes()
    return PreparedInput("tensor_f32le", data, tensor_input_hash(data))


def image_bytes(data: bytes) -> PreparedInput:
    """An image input from PNG or JPEG file bytes."""
    if not is_image(data):
        raise _bad("the bytes are not a PNG or JPEG file; pass an image file's bytes or an array")
    return PreparedInput("image", bytes(data), image_input_hash(bytes(data)))


def pil_image(img: "Image.Image") -> PreparedInput:
    """An image input from a PIL image (sent as PNG)."""
    buf = io.BytesIO()
    try:
        img.save(buf, format="PNG")
    except (OSError, ValueError) as e:
        raise _bad(f"cannot encode the image as PNG ({e})") from None
    return image_bytes(buf.getvalue())


def from_file(path: Union[str, "os.PathLike[str]"], expected_len: Optional[int] = None) -> PreparedInput:
    """An input read from a PNG/JPEG image, a ``.npy`` array or JSON values file.

    JSON may be ``{"values": [...]}`` or a plain list of numbers.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise _bad(f"cannot read input file {p}: {e.strerror}") from None
    if is_image(data):
        return image_bytes(data)
    if p.suffix.lower() == ".npy" or data.startswith(b"\x93NUMPY"):
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError) as e:
            raise _bad(f"{p} is not a readable .npy array ({e})") from None
        return tensor(arr, expected_len)
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad(
            f"{p} is neither a PNG/JPEG image, a .npy array nor JSON values ({e}); "
            'give an image, an array or {"values": [...]}'
        ) from None
    values = doc.get("values") if isinstance(doc, dict) else doc
    if not isinstance(values, list):
        raise _bad(f'{p} holds JSON but not values; write {{"values": [...]}} or a list of numbers')
    return tensor(values, expected_len)


def check_length(prepared: PreparedInput, expected_len: int) -> None:
    """Refuse a tensor input whose number of values is not ``expected_len``."""
    if prepared.kind == "tensor_f32le" and len(prepared.payload) // 4 != expected_len:
        raise _bad(
            f"the input has {len(prepared.payload) // 4} values but the model takes {expected_len}; "
            f"reshape or resize the input to the model's input shape"
        )


def prepare_input(value: InputLike, expected_len: Optional[int] = None) -> PreparedInput:
    """Turn any supported input into a :class:`PreparedInput`.

    ``expected_len`` is the number of values the model takes; tensors of another length are
    refused (images are resized by the node, so they are not checked).
    """
    if isinstance(value, PreparedInput):
        return value
    if isinstance(value, Image.Image):
        return pil_image(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return image_bytes(bytes(value))
    if isinstance(value, (str, os.PathLike)):
        return from_file(value, expected_len)
    if isinstance(value, np.ndarray):
        return tensor(value, expected_len)
    if isinstance(value, (list, tuple)):
        return tensor(list(value), expected_len)
    raise _bad(
        f"unsupported input type {type(value).__name__}; pass a numpy array, a PIL image, "
        "a file path, image bytes or a list of floats"
    )
