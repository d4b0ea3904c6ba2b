"""Runs at interpreter start in kiban's backend image: ONNX Runtime sessions created without providers (as the
app's loader creates them) get the CUDA provider first and the CPU as fallback, instead of failing on
onnxruntime-gpu ("providers must be given") or running on the CPU. A session that asked for CUDA and did not get it
(no GPU in the pod, CUDA libraries missing) says so on stderr instead of quietly inferring on the CPU."""

import sys

try:
    import onnxruntime as _ort
except ImportError:  # not the backend, or no GPU runtime installed
    _ort = None

if _ort is not None:
    _Session = _ort.InferenceSession

    class InferenceSession(_Session):  # type: ignore[misc, valid-type]
        def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
            if providers is None:
                available = _ort.get_available_providers()
                providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
            super().__init__(path_or_bytes, sess_options, providers, provider_options, **kwargs)
            if "CUDAExecutionProvider" in providers and "CUDAExecutionProvider" not in self.get_providers():
                print(
                    "kiban: ONNX Runtime could not use CUDA for this session; it runs on the CPU",
                    file=sys.stderr,
                    flush=True,
                )

    _ort.InferenceSession = InferenceSession
