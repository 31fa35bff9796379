import math

import numpy as np
import pytest
import torch

from engine.errors import DreamwallError
from engine.networks import LOGITS
from engine.objectives import MAX_WEIGHT, Channels, ClassLogit, Guide, LayerEnergy, parse_objective


@pytest.fixture(scope="module")
def activations(squeezenet):
    return squeezenet.forward_to(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3)),
                                 ["fire5", "fire7", LOGITS])


def known(**layers: list) -> dict[str, torch.Tensor]:
    """Activations written out by hand (N=1), so every expected value below is arithmetic on paper."""
    return {name: torch.tensor([values], dtype=torch.float32) for name, values in layers.items()}


def fire7_with(channel: int, values: list[float]) -> torch.Tensor:
    """A (1, 384, 1, 2) fire7 activation that is zero except for one channel."""
    act = torch.zeros(1, 384, 1, 2)
    act[0, channel, 0] = torch.tensor(values)
    return act


def test_layer_string_is_layer_energy(squeezenet, activations):
    objective = parse_objective("fire7", squeezenet)
    assert isinstance(objective, LayerEnergy)
    assert objective.description == "fire7"
    # channels [1, 2] and [3, 4]: (1 + 4 + 9 + 16) / 4 squares
    assert objective(known(fire7=[[[1.0, 2.0]], [[3.0, -4.0]]])).item() == pytest.approx(7.5)
    values = activations["fire7"].double().numpy().ravel()  # the real layer, summed in float64 by numpy
    assert objective(activations).item() == pytest.approx(float(np.dot(values, values)) / values.size, rel=1e-5)


def test_channel_string(squeezenet, activations):
    objective = parse_objective("fire7:42", squeezenet)
    assert isinstance(objective, Channels) and objective.channels == (42,)
    assert objective({"fire7": fire7_with(42, [3.0, 5.0])}).item() == pytest.approx(4.0)
    assert objective({"fire7": fire7_with(41, [3.0, 5.0])}).item() == 0.0  # other channels do not count
    two = parse_objective("fire7:1,2", squeezenet)
    assert two.description == "fire7:1,2"
    act = fire7_with(1, [3.0, 5.0]) + fire7_with(2, [10.0, 20.0])
    assert two({"fire7": act}).item() == pytest.approx((3 + 5 + 10 + 20) / 4)
    real = activations["fire7"][0, 42].double().numpy()
    assert objective(activations).item() == pytest.approx(float(real.sum()) / real.size, rel=1e-5)


def test_weighted_mapping_is_the_weighted_sum(squeezenet):
    objective = parse_objective({"fire5": 0.5, "fire7:12": 1.0}, squeezenet)
    fire5 = torch.full((1, 256, 2, 2), 2.0)  # energy 4
    assert objective({"fire5": fire5, "fire7": fire7_with(12, [2.0, 4.0])}).item() == pytest.approx(0.5 * 4 + 3)
    assert objective.description == "0.5*fire5 + fire7:12"
    assert objective.layers == {"fire5", "fire7"}


def test_composition_with_operators():
    a, b = LayerEnergy("fire5"), LayerEnergy("fire7")
    combined = 2 * a - b
    acts = known(fire5=[[[1.0, 3.0]]], fire7=[[[2.0, 2.0]]])  # energies 5 and 4
    assert combined(acts).item() == pytest.approx(2 * 5 - 4)
    assert (-a)(acts).item() == pytest.approx(-5.0)
    assert combined.description == "2*fire5 - fire7"


def test_class_by_name_and_index(squeezenet, activations):
    by_name = parse_objective("class:tabby", squeezenet)
    by_index = parse_objective("class:281", squeezenet)
    assert isinstance(by_name, ClassLogit) and by_name.index == by_index.index == 281
    assert by_name.layers == {LOGITS}
    logits = torch.zeros(1, 1000)
    logits[0, 281], logits[0, 282] = 3.25, 9.0
    assert by_name({LOGITS: logits}).item() == 3.25
    assert by_name(activations).item() == pytest.approx(float(activations[LOGITS][0, 281]))
    assert parse_objective("class:tiger_cat", squeezenet).index == 282


def test_guide_scores_each_position_by_its_best_matching_guide_feature():
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # two guide features: the channel axes
    guide = Guide("fire5", features, "g.png")
    act = torch.tensor([[[[3.0, -1.0]], [[1.0, 2.0]]]], requires_grad=True)  # positions (3, 1) and (-1, 2)
    value = guide({"fire5": act})
    assert value.item() == pytest.approx((3 + 2) / 2)  # best dot products: 3 (feature 0) and 2 (feature 1)
    value.backward()
    # each position is pulled along its best feature, averaged over the two positions
    assert act.grad.flatten(2)[0].tolist() == [[0.5, 0.0], [0.0, 0.5]]


def test_guide_pulls_each_position_towards_its_best_matching_guide_feature(squeezenet):
    guide_image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    objective = parse_objective({"guide": "g.png", "layer": "fire5"}, squeezenet, load_guide=lambda _: guide_image)
    (_, guide), = objective.terms()
    assert isinstance(guide, Guide) and guide.description == "guide:g.png@fire5"
    features = guide.features  # (C, G)
    act = torch.randn(1, features.shape[0], 3, 4, requires_grad=True)
    guide({"fire5": act}).backward()
    flat = act.detach().flatten(2)[0]  # (C, P)
    best = (flat.T @ features).argmax(dim=1)
    expected = features[:, best] / flat.shape[1]
    assert torch.allclose(act.grad.flatten(2)[0], expected, atol=1e-6)


@pytest.mark.parametrize(("spec", "message"), [
    ("fire77", "unknown layer of squeezenet1_1 'fire77' (did you mean 'fire7'?); choose from: "
               "conv1, fire2, fire3, fire4, fire5, fire6, fire7, fire8, fire9"),
    ("fire7:384", "channel 384 out of range for fire7: it has channels 0-383"),
    ("fire7:x", "channel of fire7 must be a whole number 0-383, got 'x'"),
    ("class:tabbby", "unknown class 'tabbby' (did you mean 'tabby'?); use an index 0-999 or an ImageNet label"),
    ("class:1000", "class index must be between 0 and 999, got 1000"),
    ({"fire7": "lots"}, "weight of 'fire7' must be a number, got 'lots'"),
    ({"guide": "g.png", "layr": "fire7"}, "unknown key 'layr' in guide objective (did you mean 'layer'?)"),
    ("", "objective is empty; name a layer of squeezenet1_1 such as 'fire7'"),
    (3, "objective must be a layer name, a mapping or a list, got int"),
])
def test_bad_specs_give_exact_messages(squeezenet, spec, message):
    with pytest.raises(DreamwallError) as error:
        parse_objective(spec, squeezenet, load_guide=lambda _: torch.rand(1, 3, 32, 32))
    assert str(error.value) == message


@pytest.mark.parametrize(("weight", "shown"), [
    (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (1e38, "1e+38"), (-1001, "-1001"), (10**400, "inf"),
])
def test_weights_must_be_finite_and_bounded(squeezenet, weight, shown):
    with pytest.raises(DreamwallError) as error:
        parse_objective({"fire6": weight}, squeezenet)
    assert str(error.value) == (
        f"weight of 'fire6' must be a finite number between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}, got {shown}"
    )
    with pytest.raises(DreamwallError, match="must be a finite number"):
        parse_objective({"guide": "g.png", "weight": weight}, squeezenet, load_guide=lambda _: torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize(("spec", "message"), [
    ({"fire6": 0}, "objective 0*fire6 has only zero weights; give at least one non-zero weight"),
    ([{"fire6": 0.0}, {"fire7": -0.0}], "objective 0*fire6 + 0*fire7 has only zero weights; "
                                        "give at least one non-zero weight"),
    ([], "objective list is empty"),
    ([[]], "objective list is empty"),
])
def test_an_objective_that_amplifies_nothing_is_refused(squeezenet, spec, message):
    with pytest.raises(DreamwallError) as error:
        parse_objective(spec, squeezenet)
    assert str(error.value) == message


def test_a_zero_term_beside_a_real_one_is_allowed(squeezenet):
    assert parse_objective([{"fire6": 0}, "fire7"], squeezenet).layers == {"fire6", "fire7"}


@pytest.mark.parametrize("weight", ["nan", "inf", "1e38"])
def test_dream_cli_refuses_non_finite_layer_weights_in_one_line(tmp_path, capsys, weight):
    import run
    from installation.outputs.images import write_image

    source = tmp_path / "in.png"
    write_image(source, np.full((48, 48, 3), 128, np.uint8))
    out = tmp_path / "out.png"
    code = run.main(["dream", str(source), "-o", str(out), "--layers", f"fire6={weight}", "--steps", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(err) == 1
    assert err[0].startswith("error: weight of 'fire6' must be a finite number between -1000 and 1000")
