import itertools

import pytest
import torch

from engine.errors import DreamwallError
from engine.imageops import resize, to_tensor
from engine.objectives import LayerEnergy, parse_objective
from engine.step import (
    JitterWalk,
    OctaveParams,
    StepParams,
    autograd_gradient,
    dream_octaves,
    dream_step,
    random_shift,
    total_variation_gradient,
)


@pytest.fixture(scope="module")
def photo(chelsea):
    image = to_tensor(chelsea)
    return resize(image, 60, 90)


def objective_value(net, image, objective):
    with torch.no_grad():
        return float(objective(net.forward_to(image, objective.layers)))


@pytest.mark.parametrize("spec", ["fire5", "fire7:42", "class:tabby"])
def test_objective_rises_over_steps(squeezenet, photo, spec):
    objective = parse_objective(spec, squeezenet)
    params = StepParams(lr=0.01, jitter=4)
    generator = torch.Generator().manual_seed(0)
    values = [objective_value(squeezenet, photo, objective)]
    image = photo
    for _ in range(6):
        image = dream_step(squeezenet, image, objective, params, generator)
    values.append(objective_value(squeezenet, image, objective))
    assert values[-1] > values[0] * 1.05 or values[-1] - values[0] > 1e-3


def test_objective_rises_on_efficientnet(lite0, photo):
    objective = LayerEnergy(lite0.default_layer)
    image = photo
    generator = torch.Generator().manual_seed(0)
    before = objective_value(lite0, image, objective)
    for _ in range(4):
        image = dream_step(lite0, image, objective, StepParams(lr=0.01, jitter=0), generator)
    assert objective_value(lite0, image, objective) > before


def test_input_is_untouched_and_range_kept(squeezenet, photo):
    original = photo.clone()
    out = dream_step(squeezenet, photo, LayerEnergy("fire7"), StepParams(lr=0.5), torch.Generator().manual_seed(0))
    assert torch.equal(photo, original)
    assert not torch.equal(out, photo)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_jitter_roll_is_undone_exactly(squeezenet, photo):
    """A jittered step equals an unjittered step on the rolled image, rolled back."""
    objective = LayerEnergy("fire5")
    params = StepParams(lr=0.02, jitter=7)
    dy, dx = random_shift(7, torch.Generator().manual_seed(11))
    assert (dy, dx) != (0, 0)
    jittered = dream_step(squeezenet, photo, objective, params, torch.Generator().manual_seed(11))
    rolled = photo.roll((dy, dx), dims=(2, 3))
    still = dream_step(squeezenet, rolled, objective, StepParams(lr=0.02, jitter=0), torch.Generator())
    # the update is computed on the rolled image and moved back, the base image never moves
    update = (still - rolled).roll((-dy, -dx), dims=(2, 3))
    assert torch.allclose(jittered, (photo + update).clamp(0, 1), atol=1e-6)


def test_jitter_walk_is_the_same_under_a_seed_and_drifts_in_small_steps():
    params = StepParams(jitter=8, jitter_walk=16)
    first = [JitterWalk(3).params(params, step).shift for step in range(200)]
    again = JitterWalk(3)  # asked out of order, as a resumed render does
    assert [again.params(params, step).shift for step in reversed(range(200))][::-1] == first
    assert [JitterWalk(4).params(params, step).shift for step in range(200)] != first
    assert all(max(abs(dy), abs(dx)) <= 8 for dy, dx in first)
    moves = [max(abs(a[0] - b[0]), abs(a[1] - b[1])) for a, b in itertools.pairwise(first)]
    assert max(moves) <= 1  # at most 16 px over 16 steps between knots: one pixel a step
    assert len(set(first)) > 20  # yet it wanders over the jitter range


def test_jitter_walk_off_keeps_the_random_roll():
    params = StepParams(jitter=8)
    assert JitterWalk(3).params(params, 5) is params
    assert JitterWalk(3).params(StepParams(jitter=0, jitter_walk=16), 5).shift is None


def test_a_given_shift_is_the_roll(squeezenet, photo):
    """dream_step uses params.shift instead of drawing one, and leaves the generator alone."""
    objective = LayerEnergy("fire5")
    generator = torch.Generator().manual_seed(11)
    dy, dx = random_shift(7, torch.Generator().manual_seed(11))
    drawn = dream_step(squeezenet, photo, objective, StepParams(lr=0.02, jitter=7), torch.Generator().manual_seed(11))
    given = dream_step(squeezenet, photo, objective, StepParams(lr=0.02, jitter=7, shift=(dy, dx)), generator)
    assert torch.equal(drawn, given)
    assert generator.get_state().equal(torch.Generator().manual_seed(11).get_state())


def test_a_shift_beyond_the_jitter_is_refused():
    with pytest.raises(DreamwallError, match=r"shift must be within the jitter of 4 px, got \(5, 0\)"):
        StepParams(jitter=4, shift=(5, 0))


def test_zero_lr_returns_the_image_despite_jitter(squeezenet, photo):
    out = dream_step(squeezenet, photo, LayerEnergy("fire5"), StepParams(lr=0.0, jitter=9),
                     torch.Generator().manual_seed(1))
    assert torch.equal(out, photo)


def test_same_seed_same_image_different_seed_different_image(squeezenet, photo):
    objective = LayerEnergy("fire5")
    params = StepParams(lr=0.02, jitter=8, smooth=0.5)
    octaves = OctaveParams(octaves=2, scale=1.4, steps=2)

    def run(seed):
        return dream_octaves(squeezenet, photo, objective, params, octaves, torch.Generator().manual_seed(seed))

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


def test_octaves_keep_size_and_report_progress(squeezenet, photo):
    seen = []
    out = dream_octaves(squeezenet, photo, LayerEnergy("fire5"), StepParams(), OctaveParams(3, 1.3, 2),
                        torch.Generator().manual_seed(0), progress=lambda done, total: seen.append((done, total)))
    assert out.shape == photo.shape
    assert seen[-1] == (6, 6) and [d for d, _ in seen] == list(range(1, 7))


def test_total_variation_gradient_matches_autograd():
    image = torch.rand(1, 3, 9, 11, requires_grad=True)
    tv = (image[..., 1:, :] - image[..., :-1, :]).pow(2).sum() + (image[..., :, 1:] - image[..., :, :-1]).pow(2).sum()
    tv.backward()
    assert torch.allclose(total_variation_gradient(image.detach()), image.grad, atol=1e-5)


def test_tv_penalty_makes_the_result_smoother(squeezenet, photo):
    objective = LayerEnergy("fire3")

    def roughness(img):
        vertical = (img[..., 1:, :] - img[..., :-1, :]).abs().mean()
        return float(vertical + (img[..., :, 1:] - img[..., :, :-1]).abs().mean())

    def dream(tv):
        img = photo
        generator = torch.Generator().manual_seed(0)
        for _ in range(5):
            img = dream_step(squeezenet, img, objective, StepParams(lr=0.03, jitter=0, tv=tv), generator)
        return img

    assert roughness(dream(1.0)) < roughness(dream(0.0))


def test_gradient_has_image_dtype_and_device(squeezenet, photo):
    grad = autograd_gradient(squeezenet, LayerEnergy("fire3"))(photo)
    assert grad.shape == photo.shape and grad.dtype == photo.dtype and grad.device == photo.device


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"lr": 2.0}, "lr must be between 0 and 1, got 2"),
    ({"jitter": -1}, "jitter must be between 0 and 512, got -1"),
    ({"smooth": 30.0}, "smooth must be between 0 and 20, got 30"),
])
def test_step_params_out_of_range_name_the_range(kwargs, message):
    with pytest.raises(DreamwallError) as error:
        StepParams(**kwargs)
    assert str(error.value) == message
