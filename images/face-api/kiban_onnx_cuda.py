"""Imported at interpreter start in kiban's backend image (through kiban_onnx_cuda.pth in site-packages): ONNX
Runtime sessions created without providers (as the app's loader creates them) run where `MODEL_DEVICE` says.

onnxruntime-gpu 1.22 gives a session created without providers the CPU, silently, even on a GPU node. With
`MODEL_DEVICE=cuda:N` a session asks for the CUDA provider on device N with the CPU as fallback; a session that
asked for CUDA and did not get it (no GPU in the pod, CUDA libraries missing) says so on stderr instead of quietly
inferring on the CPU. Any other `MODEL_DEVICE` (`cpu`) keeps ONNX Runtime's CPU session.

Not a `sitecustomize.py`: Debian's and Ubuntu's Python ship their own in the standard library's directory, which
comes first on the path, so one in site-packages is never imported there. A `.pth` file in site-packages is.
"""

import os
import re
import sys

try:
    import onnxruntime as _ort
except ImportError:  # not the backend, or no ONNX Runtime installed
    _ort = None


def requested_providers(device: str) -> list | None:
    """The providers `MODEL_DEVICE` asks for: CUDA on its device then the CPU, or None (ONNX Runtime's default)."""
    cuda = re.fullmatch(r"cuda(?::(\d+))?", device.strip())
    if cuda is None:
        return None
    return [("CUDAExecutionProvider", {"device_id": int(cuda.group(1) or 0)}), "CPUExecutionProvider"]


if _ort is not None and not getattr(_ort.InferenceSession, "_kiban_hook", False):
    _Session = _ort.InferenceSession

    class InferenceSession(_Session):  # type: ignore[misc, valid-type]
        _kiban_hook = True

        def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
            device = os.environ.get("MODEL_DEVICE", "")
            asked = requested_providers(device) if providers is None else None
            super().__init__(path_or_bytes, sess_options, asked or providers, provider_options, **kwargs)
            if asked and "CUDAExecutionProvider" not in self.get_providers():
                print(
                    f"kiban: ONNX Runtime was asked for CUDA (MODEL_DEVICE={device}) and could not use it: "
                    f"this session runs on {', '.join(self.get_providers())}",
                    file=sys.stderr,
                    flush=True,
                )

    _ort.InferenceSession = InferenceSession
