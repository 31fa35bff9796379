"""The dream step's gradient as a feed-forward graph (ONNX) for TensorRT and ONNX Runtime.

Route: (a) an explicit vector-Jacobian product per layer type, not (b) tracing
torch.func.grad and translating backward ops. Why: (a) needs only ops every
runtime already has (Conv, ConvTranspose, Pad, Slice, Where, Concat, DepthToSpace,
MaxPool) and produces a static graph TensorRT can optimise and run in FP16, while (b)
would mean writing and maintaining ONNX (and TensorRT) translations for
convolution_backward and max_pool2d_with_indices_backward ourselves. The layer set is
small and fixed (conv, folded BN, ReLU/ReLU6, concat, residual, max-pool), so the
explicit VJPs stay short, and every one is checked against autograd on the CPU.

- ops.py: each layer type's forward and VJP (stride-1 conv VJP as a flipped conv,
  strided as ConvTranspose; max-pool with PyTorch's first-maximum tie-breaking).
- convert.py: a DreamNet's stages -> ops for one size (BN folded, preprocessing affine),
  in the form of one export target: "onnx" (fastest in ONNX Runtime) or "tensorrt"
  (only what TensorRT's ONNX parser documents).
- tensorrt_rules.py: TensorRT's documented restrictions as a table, and the lint that
  checks every tensorrt-target graph against it.
- targets.py: an objective -> graph inputs (per-layer energy and per-channel weights),
  so switching presets on the same layers never rebuilds.
- graph.py: GradientGraph, the whole image -> gradient module.
- onnx_file.py / store.py: export to ONNX bytes, keyed and cached in any BlobStore (the
  on-disk one is installation.dreaming.export_cache: the engine does no I/O).
"""

from engine.export.convert import TARGETS, ExportUnsupported
from engine.export.graph import GradientGraph
from engine.export.onnx_file import export_onnx, graph_key, onnx_graph
from engine.export.store import BlobStore, MemoryStore
from engine.export.targets import GraphTargets, graph_targets
from engine.export.tensorrt_rules import tensorrt_problems

__all__ = [
    "TARGETS", "BlobStore", "ExportUnsupported", "GradientGraph", "GraphTargets", "MemoryStore",
    "export_onnx", "graph_key", "graph_targets", "onnx_graph", "tensorrt_problems",
]
