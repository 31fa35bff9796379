"""What TensorRT's ONNX parser documents as supported, as a table, and a lint against it.

TensorRT cannot be installed on the machines here, so the tensorrt export target is
proved by this lint (every node against the table below) plus numerical parity
through ONNX Runtime. The table holds only the operators a gradient graph may
plausibly contain; anything else is reported, so a new construct is checked against
the documentation before it ships.

Source: onnx/onnx-tensorrt, docs/operators.md ("Supported ONNX Operators", the
TensorRT 10.x support matrix; TensorRT 10.15: "supports operators in the inclusive
range of opset 9 to opset 24"), https://github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md.
Restrictions relied on, quoted from its "Restrictions" column:

- MaxPool: "2D or 3D pooling only. `Indices` output tensor unsupported. `dilations`
  must be empty or all ones"
- ScatterND: "`reduction` other than `none` is not supported". ScatterElements lists
  no restriction there, but its reductions are not in TensorRT's core: "ScatterElements
  with reduce="none" is implemented in TRT core, not this plugin" (TensorRT OSS,
  plugin/scatterElementsPlugin/README.md); we do not rely on plugins, so the same rule.
- ReduceSum, ReduceMean, ReduceMax, ...: "`axes` must be an initializer"
- Squeeze, Unsqueeze: "`axes` must be resolvable to a constant."
- Types: the "Supported Types" column per operator (the type of the operator's data
  input); DOUBLE has only "limited support" ("TensorRT will attempt to cast DOUBLE
  down to FLOAT"), so no tensor may be double.

House rules, stricter than TensorRT 10 documents: Conv and ConvTranspose weights are
initializers (TensorRT 8.x required it; the builder fuses constants best), and Pad
amounts and Slice bounds are constants (the graph is static: a computed one means a
traced shape leaked into the export).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import DreamwallError

SOURCE = "onnx/onnx-tensorrt docs/operators.md (TensorRT 10.x support matrix)"
OPSETS = (9, 24)  # inclusive, default ONNX domain

FLOATS = ("FLOAT", "FLOAT16", "BFLOAT16")
NUMBERS = (*FLOATS, "INT32", "INT64")
ANY = (*NUMBERS, "BOOL")

Check = Callable[[Any, "_Graph"], str | None]


@dataclass(frozen=True)
class OpRule:
    """One operator's row: the types its data input may have, which input that is, and restrictions."""

    types: tuple[str, ...]
    typed_input: int | None = 0  # None: the type is that of output 0 (Constant)
    checks: tuple[Check, ...] = ()


class _Graph:
    """Names of constants and tensor types of a model, for the checks."""

    def __init__(self, model: Any) -> None:
        import onnx

        inferred = onnx.shape_inference.infer_shapes(model)
        graph = inferred.graph
        self.initializers = {tensor.name for tensor in graph.initializer}
        self.constants = self.initializers | {o for n in graph.node if n.op_type == "Constant" for o in n.output}
        for node in graph.node:  # the exporter dedupes equal weights with Identity: still the same initializer
            if node.op_type == "Identity" and node.input[0] in self.initializers:
                self.initializers.add(node.output[0])
                self.constants.add(node.output[0])
        self.types: dict[str, str] = {
            tensor.name: onnx.TensorProto.DataType.Name(tensor.data_type) for tensor in graph.initializer
        }
        for info in (*graph.input, *graph.value_info, *graph.output):
            if info.type.HasField("tensor_type"):
                self.types[info.name] = onnx.TensorProto.DataType.Name(info.type.tensor_type.elem_type)


def _attribute(node: Any, name: str, default: Any = None) -> Any:
    import onnx

    for attribute in node.attribute:
        if attribute.name == name:
            value = onnx.helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _one_output(node: Any, graph: _Graph) -> str | None:
    outputs = [name for name in node.output if name]
    if len(outputs) != 1:
        return f"has {len(outputs)} outputs, expected 1 (`Indices` output tensor unsupported)"
    return None


def _two_d(node: Any, graph: _Graph) -> str | None:
    kernel = _attribute(node, "kernel_shape", [])
    return None if len(kernel) in (2, 3) else f"kernel_shape {list(kernel)}, expected 2D or 3D pooling"


def _no_dilation(node: Any, graph: _Graph) -> str | None:
    dilations = list(_attribute(node, "dilations", []))
    return None if all(d == 1 for d in dilations) else f"dilations {dilations}, expected empty or all ones"


def _no_reduction(node: Any, graph: _Graph) -> str | None:
    reduction = _attribute(node, "reduction", "none")
    return None if reduction == "none" else f"reduction '{reduction}', expected 'none'"


def _input_is(index: int, role: str, allowed: Callable[[_Graph], set[str]], kind: str) -> Check:
    def check(node: Any, graph: _Graph) -> str | None:
        if len(node.input) <= index or not node.input[index]:
            return None  # absent optional input (or an attribute in older opsets)
        name = node.input[index]
        return None if name in allowed(graph) else f"{role} '{name}' is computed, expected {kind}"

    check.__name__ = f"{role}_is_{kind.replace(' ', '_')}"
    return check


_AXES_INITIALIZER = _input_is(1, "axes", lambda g: g.initializers, "an initializer")
_AXES_CONSTANT = _input_is(1, "axes", lambda g: g.constants, "a constant")
_WEIGHTS_INITIALIZER = _input_is(1, "weights W", lambda g: g.initializers, "an initializer")
_PADS_CONSTANT = _input_is(1, "pads", lambda g: g.constants, "a constant")
_SLICE_CONSTANT = tuple(
    _input_is(index, role, lambda g: g.constants, "a constant")
    for index, role in enumerate(("starts", "ends", "axes", "steps"), start=1)
)

RULES: dict[str, OpRule] = {
    "Add": OpRule(NUMBERS),
    "And": OpRule(("BOOL",)),
    "Cast": OpRule((*NUMBERS, "UINT8", "BOOL")),
    "Clip": OpRule(FLOATS),
    "Concat": OpRule(ANY),
    "Constant": OpRule(ANY, typed_input=None),
    "ConstantOfShape": OpRule(ANY, typed_input=None),
    "Conv": OpRule(FLOATS, checks=(_WEIGHTS_INITIALIZER,)),
    "ConvTranspose": OpRule(FLOATS, checks=(_WEIGHTS_INITIALIZER,)),
    "DepthToSpace": OpRule(NUMBERS),
    "Div": OpRule(NUMBERS),
    "Equal": OpRule(NUMBERS),
    "Expand": OpRule(ANY),
    "Gather": OpRule(ANY),
    "Greater": OpRule(NUMBERS),
    "GreaterOrEqual": OpRule(NUMBERS),
    "Identity": OpRule(ANY),
    "Less": OpRule(NUMBERS),
    "LessOrEqual": OpRule(NUMBERS),
    "Max": OpRule(NUMBERS),
    "MaxPool": OpRule(FLOATS, checks=(_one_output, _two_d, _no_dilation)),
    "Min": OpRule(NUMBERS),
    "Mul": OpRule(NUMBERS),
    "Neg": OpRule(NUMBERS),
    "Not": OpRule(("BOOL",)),
    "Or": OpRule(("BOOL",)),
    "Pad": OpRule(NUMBERS, checks=(_PADS_CONSTANT,)),
    "ReduceMax": OpRule(NUMBERS, checks=(_AXES_INITIALIZER,)),
    "ReduceMean": OpRule(NUMBERS, checks=(_AXES_INITIALIZER,)),
    "ReduceSum": OpRule(NUMBERS, checks=(_AXES_INITIALIZER,)),
    "Relu": OpRule(NUMBERS),
    "Reshape": OpRule(ANY),
    "ScatterElements": OpRule(NUMBERS, checks=(_no_reduction,)),
    "ScatterND": OpRule(NUMBERS, checks=(_no_reduction,)),
    "Shape": OpRule(ANY),
    "Slice": OpRule(ANY, checks=_SLICE_CONSTANT),
    "Split": OpRule(ANY),
    "Squeeze": OpRule(ANY, checks=(_AXES_CONSTANT,)),
    "Sub": OpRule(NUMBERS),
    "Transpose": OpRule(ANY),
    "Unsqueeze": OpRule(ANY, checks=(_AXES_CONSTANT,)),
    "Where": OpRule(ANY, typed_input=1),
}


def tensorrt_problems(model: Any) -> list[str]:
    """Every construct in `model` (an onnx.ModelProto) outside the table, one line each; [] when clean."""
    problems = []
    for opset in model.opset_import:
        if opset.domain not in ("", "ai.onnx"):
            problems.append(f"opset domain '{opset.domain}': only the default ONNX domain is supported")
        elif not OPSETS[0] <= opset.version <= OPSETS[1]:
            problems.append(f"opset {opset.version}, expected {OPSETS[0]}-{OPSETS[1]}")
    graph = _Graph(model)
    for name, kind in sorted(graph.types.items()):
        if kind == "DOUBLE":
            problems.append(f"tensor '{name}' is DOUBLE, expected FLOAT or FLOAT16")
    for node in model.graph.node:
        where = f"{node.op_type} node '{node.name or node.output[0]}'"
        rule = RULES.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        if rule is None:
            problems.append(f"{where}: operator not in the TensorRT table ({SOURCE}); add its row if supported")
            continue
        typed = node.output[0] if rule.typed_input is None else (
            node.input[rule.typed_input] if len(node.input) > rule.typed_input else "")
        kind = graph.types.get(typed)
        if kind is not None and kind not in rule.types:
            problems.append(f"{where}: type {kind} of '{typed}', expected one of {', '.join(rule.types)}")
        for check in rule.checks:
            problem = check(node, graph)
            if problem is not None:
                problems.append(f"{where}: {problem}")
    return problems


def check_tensorrt_graph(data: bytes) -> bytes:
    """`data` (ONNX bytes) when it passes the lint; else one line naming the count and the first problem.

    Run before TensorRT sees a graph (engine build, `run.py export`): a broken
    restriction is a bug in the export and should say so, not surface as a parser error.
    """
    import onnx

    problems = tensorrt_problems(onnx.load_from_string(data))
    if problems:
        raise DreamwallError(f"the exported graph breaks {len(problems)} TensorRT restriction(s), "
                             f"expected none (a bug, please report): {problems[0]}")
    return data
