"""Write a small ONNX model with the face-recognition model's real interface, for the app's start-up tests (the real
weights are a GitHub release asset the tests cannot download).

The app's loader (`faceapi.face_rec.OnnxModel`) opens the file with `onnxruntime.InferenceSession`, and its
inference (`faceapi.utils.face_utils.inference_onnx`) feeds the first input a float32 NCHW batch of 112x112 RGB faces
and reshapes the first output to `(-1, MODEL_EMB_DIM)`. This model takes that input and returns one embedding of
`dim` floats per face: the mean of each colour channel times a fixed random matrix.

Run by the Python of the start-up tests' own environment, which has `onnx` (versions.json appStartup.onnx):
`python tools/stand_in_model.py OUT DIM`.
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FACE = (3, 112, 112)
"""Channels, height, width of one face as the app's preprocessing hands it to the model."""


def stand_in(dim: int) -> onnx.ModelProto:
    weights = numpy_helper.from_array(np.random.default_rng(0).standard_normal((FACE[0], dim)).astype(np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["channels"]),
            helper.make_node("MatMul", ["channels", "w"], ["embedding"]),
        ],
        "kiban-stand-in-face-embedding",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *FACE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])],
        [weights],
    )
    # Opset 13 and IR version 8: loaded by every ONNX Runtime the app's lock could hold.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    out, dim = sys.argv[1], int(sys.argv[2])
    onnx.save(stand_in(dim), out)
