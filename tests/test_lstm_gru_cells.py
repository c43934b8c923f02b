"""The LSTM (Lecture 111) and GRU (CS224n) cells: the slide's dependency graph, values and
gradients against the NumPy references, and clear errors for bad input.

Lecture 111: shared/seeds/004_ac394c33ecf151bd.txt; CS224n notes: 003_9ba40663132a09fb.txt.
"""

import numpy as np
import pytest

from derive import Evaluator, Instance, NodeRef, unroll
from derive.cells.gru import VARIANTS, gru, params
from derive.cells.lstm import PARAMS, lstm
from derive.errors import UnknownName
from derive.numeric.reference import gru as gru_ref
from derive.numeric.reference import lstm as lstm_ref

SIZES = [{"n": 3, "d": 2, "k": 4}, {"n": 4, "d": 3, "k": 2}]


def names(refs):
    return [str(r) for r in refs]


# ---------------------------------------------------------------------------
# The dependency graph of the slide: three gates and three states per step
# ---------------------------------------------------------------------------
def test_lstm_full_view_has_three_gates_and_three_states_per_step():
    g = unroll(lstm(), 3)
    view = g.full_view()
    step = [r.name for r in view.variables() if r.t == 2 and g.nodes[r].kind == "node"]
    assert step == ["o", "i", "f", "s_tilde", "s", "h", "y", "L"]
    assert g.cell.recurrent == ["s", "h"]
    assert {str(r) for r in g.nodes if g.nodes[r].kind == "init"} == {"s_0", "h_0"}


@pytest.mark.parametrize("node, parents", [
    ("o_2", ["W_o", "h_1", "U_o", "x_2", "b_o"]),
    ("f_2", ["W_f", "h_1", "U_f", "x_2", "b_f"]),
    ("s_tilde_2", ["W", "h_1", "U", "x_2", "b"]),
    ("s_2", ["f_2", "s_1", "i_2", "s_tilde_2"]),      # s_t = f_t ⊙ s_{t-1} + i_t ⊙ s~_t
    ("h_2", ["o_2", "s_2"]),                          # h_t = o_t ⊙ tanh(s_t)
    ("s_1", ["f_1", "s_0", "i_1", "s_tilde_1"]),
])
def test_lstm_edges_as_on_the_slide(node, parents):
    g = unroll(lstm(), 2)
    assert names(g.full_view().parents(g.node(node))) == parents


def test_lstm_view_of_states_folds_the_gates():
    g = unroll(lstm(), 3)
    view = g.view()  # the recurrent states and the loss: s, h, L
    assert view.keep == ("s", "h", "L")
    assert names(p for p in view.parents(g["s", 2]) if g.nodes[p].kind in ("node", "init")) == ["s_1", "h_1"]
    assert names(p for p in view.parents(g["h", 2]) if g.nodes[p].kind in ("node", "init")) == ["s_2", "h_1"]


def test_lstm_preactivations_are_extra_nodes_folded_by_the_slide_view():
    g = unroll(lstm(preactivations=True), 2)
    assert g.cell.nodes == ["a_o", "o", "a_i", "i", "a_f", "f", "a", "s_tilde", "s", "h", "y", "L"]
    slide = g.view(["o", "i", "f", "s_tilde", "s", "h", "y", "L"])
    assert names(slide.parents(g["o", 2])) == ["W_o", "h_1", "U_o", "x_2", "b_o"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_gru_edges(variant):
    g = unroll(gru(variant), 2)
    view = g.full_view()
    assert [r.name for r in view.variables() if r.t == 2 and g.nodes[r].kind == "node"] == \
        ["u", "r", "h_tilde", "h", "y", "L"]
    assert names(view.parents(g["h", 2])) == ["u_2", "h_1", "h_tilde_2"]   # the direct carry edge h_1 -> h_2
    tilde = names(view.parents(g["h_tilde", 2]))
    assert "r_2" in tilde and "h_1" in tilde
    assert ("b_hn" in tilde) == (variant == "pytorch")


def test_parameter_names_match_the_references():
    assert list(lstm().params) == list(PARAMS) == list(lstm_ref.PARAM_SHAPES)
    for variant in VARIANTS:
        assert list(gru(variant).params) == list(params(variant)) == list(gru_ref.param_shapes(variant))


# ---------------------------------------------------------------------------
# Values and gradients against the NumPy references
# ---------------------------------------------------------------------------
CELLS = [("lstm", lambda: lstm()), ("lstm-pre", lambda: lstm(preactivations=True)),
         ("gru", lambda: gru()), ("gru-pytorch", lambda: gru("pytorch")),
         ("lstm-relu", lambda: lstm(cell="relu", out="identity"))]


@pytest.mark.parametrize("label, make", CELLS)
@pytest.mark.parametrize("size", SIZES)
def test_forward_loss_matches_the_reference(label, make, size):
    c = make()
    g = unroll(c, 4, size)
    inst = Instance.random(g, seed=3)
    ev = Evaluator(g, inst)
    v = inst.values
    X = np.stack([v[NodeRef("x", t)] for t in range(1, 5)])[:, None, :]
    labels = np.array([[int(np.argmax(v[NodeRef("e", t)]))] for t in range(1, 5)])
    p = {name: v[NodeRef(name)] for name in c.params}
    if c.name == "lstm":
        acts = {"cell": "relu", "out": "identity"} if label == "lstm-relu" else {}
        cache = lstm_ref.forward(p, X, labels, s0=v[NodeRef("s", 0)][None], h0=v[NodeRef("h", 0)][None], **acts)
        np.testing.assert_allclose(ev.values[g["s", 4]], cache.s[4, 0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(ev.values[g["h", 4]], cache.h[4, 0], rtol=1e-13, atol=1e-15)
    else:
        variant = c.name.split("_")[1]
        cache = gru_ref.forward(p, X, labels, h0=v[NodeRef("h", 0)][None], variant=variant)
        np.testing.assert_allclose(ev.values[g["h", 4]], cache.h[4, 0], rtol=1e-13, atol=1e-15)
    assert abs(float(ev.values[g["L"]]) - cache.loss) <= 1e-12 * max(1.0, abs(cache.loss))


@pytest.mark.parametrize("label, make", CELLS)
def test_reference_adapter_agrees_with_the_engine_and_finite_differences(label, make):
    """cell.reference (the NumPy BPTT) = reverse accumulation over the graph = central differences."""
    c = make()
    g = unroll(c, 3, SIZES[1])
    ev = Evaluator(g, Instance.random(g, seed=1))
    grads = c.reference(g, ev.instance)
    wrt = [NodeRef(p) for p in c.params] + [r for r in g.nodes if g.nodes[r].kind == "init"]
    assert set(grads) == set(wrt)
    for ref in wrt:
        engine = ev.total(g["L"], ref)
        np.testing.assert_allclose(np.ravel(grads[ref]), engine[0], rtol=1e-10, atol=1e-12, err_msg=str(ref))
    for ref in (NodeRef("W_f" if c.name == "lstm" else "W_u"), NodeRef("h", 0)):
        np.testing.assert_allclose(ev.finite_difference(g["L"], ref)[0], np.ravel(grads[ref]), rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, words", [
    (lambda: lstm(gate="sigmoid"), ["activation", "'sigmoid'", "logistic"]),
    (lambda: lstm(out="nope"), ["activation", "'nope'", "tanh"]),
    (lambda: gru(variant="keras"), ["GRU variant", "'keras'", "cs224n", "pytorch"]),
    (lambda: gru(cell="tanhh"), ["activation", "'tanhh'"]),
    (lambda: params("torch"), ["GRU variant", "'torch'"]),
])
def test_bad_names_raise_clear_errors(make, words):
    with pytest.raises(UnknownName) as info:
        make()
    for w in words:
        assert w in str(info.value)
