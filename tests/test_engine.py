"""The core engine: cells, unrolling, expansions, exact and numeric checks (issue 2)."""

from __future__ import annotations

import numpy as np
import pytest

from derive import (Brace, Canon, Cell, D, Derivation, Evaluator, Instance, Prod, ProdOver, Step, Sum, SumOver,
                    activations, bptt_form, count_paths, enumerate_paths, explicit_structure, idx, nll, node,
                    path_sum, product_form, recursive_expansion, softmax, total_loss_form, unroll, verify)
from derive.cells import rnn
from derive.errors import CellError, InvalidValue, ShapeError, UnknownName
from derive.numeric.evaluator import local_jacobians

t, k, j, T = idx("t"), idx("k"), idx("j"), idx("T")
W = node("W")


def s(i):
    return node("s", i)


# -- unrolling and addressing -------------------------------------------------------------

def test_unrolled_graph_addresses_nodes_by_name_and_time():
    g = unroll(rnn(), 4)
    assert g["s", 3] == node("s", 3) and g.node("L_4") == node("L", 4) and g["W"] == W
    assert g.nodes[node("s", 0)].kind == "init"  # s_0 is a constant of the graph
    assert g.view().parents(g["s", 3]) == (W, node("s", 2), node("U"), node("x", 3), node("b"))
    assert set(g.nodes[node("L")].parents) == {node("L", i) for i in range(1, 5)}


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4", True])
def test_T_must_be_a_positive_integer(bad):
    with pytest.raises(InvalidValue, match="T must be an integer"):
        unroll(rnn(), bad)


def test_unknown_node_lists_what_exists():
    g = unroll(rnn(), 3)
    with pytest.raises(UnknownName, match=r"unknown node 's_7'.*s_t"):
        g.node("s_7")


def test_unknown_activation_lists_the_registry():
    with pytest.raises(UnknownName, match="unknown activation 'swish'; expected one of: identity, logistic"):
        rnn("swish")


def test_shape_mismatch_names_both_shapes():
    cell = Cell("bad", dims=("n", "d"))
    n, d = cell.dims
    U, x = cell.param("U", (n, d)), cell.input("x", (n,))
    with pytest.raises(ShapeError, match=r"U \(matrix in R\^\{n x d\}\) by x \(vector in R\^n\)"):
        U @ x


def test_undefined_symbol_in_a_cell_is_named():
    cell = Cell("bad", dims=("d",))
    (d,) = cell.dims
    stray = Cell("other", dims=("d",)).param("Q", (cell.dims[0], cell.dims[0]))
    s_ = cell.state("s", (d,))
    cell.define("s", activations.get("tanh")(stray @ s_.prev))
    with pytest.raises(CellError, match="uses 'Q', which the cell does not define"):
        unroll(cell, 2)


def test_declared_state_without_equation():
    cell = Cell("bad", dims=("d",))
    cell.state("s", (cell.dims[0],))
    cell.define("y", cell.param("b", (cell.dims[0],)) + cell.input("x", (cell.dims[0],)))
    with pytest.raises(CellError, match="'s' is declared but has no equation"):
        unroll(cell, 2)


# -- the slide of Module 14.3, line by line -----------------------------------------------

def test_expansion_for_T4_matches_the_slide_structure():
    d = recursive_expansion(unroll(rnn(), 4), "s_4", "W")
    lines = [s_.rhs for s_ in d.steps]
    E = lambda a: D(s(a), W, True)  # noqa: E731
    Dss = lambda a, b: D(s(a), s(b))  # noqa: E731
    assert lines[0] == Sum((Brace(E(4), "explicit"), Brace(Prod((Dss(4, 3), D(s(3), W))), "implicit")))
    assert lines[1] == Sum((E(4), Prod((Dss(4, 3), Sum((Brace(E(3), "explicit"),
                                                         Brace(Prod((Dss(3, 2), D(s(2), W))), "implicit")))))))
    assert lines[2] == Sum((E(4), Prod((Dss(4, 3), E(3))), Prod((Dss(4, 3), Dss(3, 2), Sum((
        Brace(E(2), "explicit"), Brace(Prod((Dss(2, 1), D(s(1), W))), "implicit")))))))
    assert lines[3] == Sum((E(4), Prod((Dss(4, 3), E(3))), Prod((Dss(4, 3), Dss(3, 2), E(2))),
                            Prod((Dss(4, 3), Dss(3, 2), Dss(2, 1), E(1)))))
    assert lines[4] == Sum(tuple(Prod((Dss(4, i), E(i))) for i in (4, 3, 2, 1)))
    assert lines[5] == SumOver(k, 1, 4, Prod((D(s(4), s(k)), D(s(k), W, True))))
    assert verify(d).ok


@pytest.mark.parametrize("theta", ["W", "U", "b", "V", "c"])
def test_bptt_form_for_every_parameter(theta):
    form = bptt_form(rnn(), theta)
    d = Derivation("t", "t", "", rnn(), D(node("L", t), node(theta)), [Step(form)],
                   bindings=[{"t": i, "T": 8} for i in (1, 4, 8)])
    report = verify(d, sizes=[{"n": 2, "d": 3, "k": 4}], seeds=(0, 1))
    assert report.ok, [str(r) for r in report.failures()]
    assert {r.method for r in report.results} == {"exact", "numeric-fd"}


@pytest.mark.parametrize("theta", ["W", "U", "b", "V", "c"])
def test_total_loss_gradient_equals_numpy_bptt_and_finite_differences(theta):
    d = Derivation("t", "t", "", rnn(), D(node("L"), node(theta)), [Step(total_loss_form(rnn(), theta))],
                   bindings=[{"T": 8}])
    report = verify(d)  # d in {1, 2, 3, 5}
    assert report.ok, [str(r) for r in report.failures()]
    assert {r.method for r in report.results} == {"exact", "numeric-fd", "numeric-reference"}


def test_product_form_order_and_empty_product():
    C = Canon(g := unroll(rnn(), 5), g.view())
    assert C.of(product_form("s").instantiate(t=5, k=1)) == C.of(D(s(5), s(1)))
    assert C.of(product_form("s").instantiate(t=3, k=3)) == C.of(D(s(3), s(3)))
    ascending = ProdOver(j, k + 1, t, D(node("s", j), node("s", j - 1)), descending=False)
    assert C.of(ascending.instantiate(t=5, k=1)) != C.of(D(s(5), s(1)))


def test_path_enumeration_and_count():
    g = unroll(rnn(), 5)
    paths = enumerate_paths(g, "L_4", "W")
    assert len(paths) == 4 and paths[0] == (node("L", 4), s(4), W)
    assert count_paths(g, node("L", 4), W) == 4  # atomic graph: one path through each a_k
    C = Canon(g, g.view())
    assert C.of(path_sum(g, "L_4", "W")) == C.of(D(node("L", 4), W))


# -- exact proofs scale linearly; no exponential tree ----------------------------------------

def test_exact_proof_at_T_1000_is_fast_enough_to_run_in_tests():
    g = unroll(rnn(), 1000)
    C = Canon(g, g.view())
    sc = SumOver(k, 1, 1000, Prod((D(s(1000), s(k)), D(s(k), W, True))))
    assert C.of(sc) == C.of(D(s(1000), W))


# -- local Jacobians: structure derived, not typed -------------------------------------------

@pytest.mark.parametrize("act,prime", [("tanh", "tanh_prime"), ("logistic", "logistic_prime")])
def test_structure_of_local_jacobians(act, prime):
    g = unroll(rnn(act), 2, {"n": 3, "d": 2, "k": 2})
    L = local_jacobians(g)
    st = explicit_structure(g, g.full_view(), "s_2", "a_2", L)
    assert st.kind == "diag" and str(st) == f"diag({prime}(a_2))"
    st = explicit_structure(g, g.view(), "s_2", "s_1", L)
    assert st.kind == "diag_matrix" and str(st) == f"diag({prime}(a_2)) W"
    st = explicit_structure(g, g.view(), "s_2", "W", L)
    assert st.kind == "delta_outer" and str(st) == f"δ_pq ({prime}(a_2))_p (s_1)_r"
    assert explicit_structure(g, g.view(), "s_2", "U", L).outer == node("x", 2)


# -- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_engine_total_matches_finite_differences_and_numpy(d):
    g = unroll(rnn(), 6, {"n": d + 1, "d": d, "k": d + 2})
    ev = Evaluator(g, Instance.random(g, seed=d))
    for x in (W, node("U"), node("b"), node("V"), node("c"), s(0)):
        eng = ev.total(node("L"), x)
        np.testing.assert_allclose(eng, ev.finite_difference(node("L"), x), rtol=0, atol=1e-8)
        ref = g.cell.reference(g, ev.instance)[x]
        np.testing.assert_allclose(eng.reshape(np.shape(ref)), ref, rtol=1e-12, atol=1e-13)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_non_finite_values_are_a_failed_check_not_a_crash():
    g = unroll(rnn(), 3, {"n": 2, "d": 2, "k": 3})
    inst = Instance.random(g, 0)
    inst.values[node("c")] = np.array([np.inf, 0.0, 0.0])
    ev = Evaluator(g, inst)
    from derive.checks.verify import compare

    ok, msg = compare(ev.total(node("L"), W), ev.total(node("L"), W), rtol=1e-9, what="a", against="b")
    assert not ok and "non-finite" in msg


# -- extensibility: a new cell from outside the package ----------------------------------------

def skip_rnn() -> Cell:
    """An RNN with a ReLU and a skip connection to s_{t-2}, defined in a few lines."""
    cell = Cell("skip", dims=("n", "d", "k"))
    n, d, k_ = cell.dims
    W1, W2, U, b = cell.param("W", (d, d)), cell.param("W2", (d, d)), cell.param("U", (d, n)), cell.param("b", (d,))
    V = cell.param("V", (k_, d))
    x, e = cell.input("x", (n,)), cell.label("e", k_)
    s_ = cell.state("s", (d,))
    cell.define("s", activations.get("logistic")(W1 @ s_.prev + W2 @ s_.prev.prev + U @ x + b))
    cell.loss("L", nll(softmax(V @ s_), e))
    return cell


def test_a_new_cell_gets_expansions_path_sums_and_checks_without_engine_changes():
    cell = skip_rnn()
    g = unroll(cell, 4)
    d = recursive_expansion(g, "s_4", "W")
    assert len(d.steps) >= 3
    assert verify(d, sizes=[{"n": 2, "d": 3, "k": 2}]).ok
    assert len(enumerate_paths(g, "s_4", "s_1")) == 3  # s4<-s3<-s2<-s1, s4<-s2<-s1, s4<-s3<-s1
    d2 = Derivation("skip-total", "", "", cell, D(node("L"), node("W2")),
                    [Step(total_loss_form(cell, "W2"))], bindings=[{"T": 4}])
    assert verify(d2, sizes=[{"n": 2, "d": 2, "k": 3}]).ok
