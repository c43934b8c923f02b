"""Exact path counts (derive.prove.paths): three algorithms against each other and against enumeration.

Lecture 111 (shared/seeds/004_ac394c33ecf151bd.txt, slide 10:42): "how many paths are there to
reach h_k itself ... that is going to be combinatorial ... let us not count the number of paths".
"""

import pytest
import sympy as sp

from derive import NodeRef, count_paths, enumerate_paths, unroll
from derive.cells import rnn
from derive.cells.gru import gru
from derive.cells.lstm import lstm
from derive.errors import InvalidValue, NotSupported, UnknownName
from derive.prove.paths import StepNetwork, count, graph_path_counts, path_counts, transfer

FULL_LSTM = ("o", "i", "f", "s_tilde", "s", "h", "y", "L")
CASES = [
    ("lstm-full", lstm, FULL_LSTM),
    ("lstm-states", lstm, None),
    ("lstm-pre-slide", lambda: lstm(preactivations=True), FULL_LSTM),
    ("gru-full", gru, ("u", "r", "h_tilde", "h", "y", "L")),
    ("gru-states", gru, None),
    ("gru-pytorch-full", lambda: gru("pytorch"), ("u", "r", "h_tilde", "h", "y", "L")),
    ("rnn-full", rnn, ("a", "s", "y", "L")),
]


@pytest.mark.parametrize("label, make, keep", CASES)
def test_cell_level_dp_equals_graph_dp(label, make, keep):
    c = make()
    for T in range(1, 7):
        g = unroll(c, T)
        for f in (f"L_{T}", "L", f"{c.recurrent[0]}_{T}"):
            assert dict(path_counts(c, T, f, keep)) == dict(graph_path_counts(g, f, keep)), (T, f)


@pytest.mark.parametrize("label, make, keep", CASES)
def test_counts_equal_enumerated_paths(label, make, keep):
    c = make()
    for T in (1, 2, 3):
        g = unroll(c, T)
        counts = path_counts(c, T, f"L_{T}", keep)
        for x in counts:
            if x != counts.f:
                n = len(enumerate_paths(g, counts.f, x, keep, limit=100_000))
                assert n == counts[x], (T, str(x), n, counts[x])


@pytest.mark.parametrize("make", [lstm, gru, rnn])
def test_full_view_counts_equal_atomic_path_counts(make):
    """In the full view no node is folded, so view paths are the graph's atomic paths (derive.prove.canon)."""
    c = make()
    for T in (1, 3, 6):
        g = unroll(c, T)
        counts = path_counts(c, T, f"L_{T}", tuple(c.nodes))
        for x in [g["h" if "h" in c.nodes else "s", 1], g[c.params[0]], g[c.recurrent[0], 0]]:
            assert counts[x] == count_paths(g, g[f"L_{T}"], x)


def test_total_loss_counts_are_the_sum_over_steps():
    c = lstm()
    T = 5
    total = path_counts(c, T, "L", FULL_LSTM)
    for x in ("s_1", "h_2", "W_f", "x_3", "s_0"):
        assert total[x] == sum(path_counts(c, T, f"L_{t}", FULL_LSTM)[x] for t in range(1, T + 1))


# ---------------------------------------------------------------------------
# The transfer matrix, the recurrence, the closed form (checked for T = 1..12)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, keep, matrix, charpoly", [
    (lstm, FULL_LSTM, [[4, 1], [3, 1]], "lam**2 - 5*lam + 1"),
    (lstm, None, [[2, 1], [1, 1]], "lam**2 - 3*lam + 1"),
    (gru, ("u", "r", "h_tilde", "h", "y", "L"), [[4]], "lam - 4"),
    (gru, None, [[1]], "lam - 1"),
    (rnn, None, [[1]], "lam - 1"),
])
def test_transfer_matrix(make, keep, matrix, charpoly):
    tr = transfer(make(), keep)
    assert tr.matrix.tolist() == matrix
    assert sp.simplify(tr.closed_form().charpoly - sp.sympify(charpoly, locals={"lam": sp.Symbol("lam")})) == 0


@pytest.mark.parametrize("label, make, keep", CASES)
def test_closed_form_transfer_and_dp_agree_for_T_up_to_12(label, make, keep):
    c = make()
    tr = transfer(c, keep)
    cf = tr.closed_form()
    for T in range(1, 13):
        counts = path_counts(c, T, f"L_{T}", keep)
        for v in tr.network.keep:
            for k in range(1, T + 1):
                want = counts[NodeRef(v, k)]
                assert cf.node_count(v, T - k) == tr.counts(T - k)[v] == tr.count(T, NodeRef(v, k)) == want, \
                    (v, k, T)
        for p in c.params:
            assert cf.param_count(p, T) == tr.count(T, p) == counts[p], (p, T)


def test_lstm_counts_follow_the_recurrence():
    """Full view: N(n + 2) = 5 N(n + 1) - N(n) (λ² - 5λ + 1 = 0), from n = 1 on."""
    cf = transfer(lstm(), FULL_LSTM).closed_form()
    assert cf.recurrence == (-1, 5)
    for v in ("s", "h", "f", "o"):
        seq = [cf.node_count(v, n) for n in range(1, 14)]
        assert all(seq[n + 2] == 5 * seq[n + 1] - seq[n] for n in range(len(seq) - 2))
    assert [cf.node_count("s", n) for n in range(5)] == [1, 5, 24, 115, 551]
    assert [cf.node_count("h", n) for n in range(5)] == [1, 4, 19, 91, 436]
    assert set(cf.eigenvalues) == {sp.Rational(5, 2) - sp.sqrt(21) / 2, sp.Rational(5, 2) + sp.sqrt(21) / 2}


def test_lstm_view_of_states_counts_are_fibonacci_numbers():
    """Network of states: N(L_t -> s_k) = F_{2(t-k)+2}, N(L_t -> h_k) = F_{2(t-k)+1}."""
    c = lstm()
    counts = path_counts(c, 20, "L_20")
    for k in range(1, 21):
        assert counts[NodeRef("s", k)] == sp.fibonacci(2 * (20 - k) + 2)
        assert counts[NodeRef("h", k)] == sp.fibonacci(2 * (20 - k) + 1)


def test_gru_full_view_counts_are_powers_of_four():
    cf = transfer(gru(), ("u", "r", "h_tilde", "h", "y", "L")).closed_form()
    t = sp.Symbol("t", integer=True, positive=True)
    assert [cf.node_count("h", n) for n in range(6)] == [4 ** n for n in range(6)]
    assert sp.simplify(cf.params["W_u"] - (4 ** t - 1) / 3) == 0


def test_large_T_by_matrix_powers_and_dp():
    c = lstm()
    tr = transfer(c, FULL_LSTM)
    counts = path_counts(c, 3000, "L_3000", FULL_LSTM)
    for x in ("s_1", "h_1", "s_2999", "W_f", "W_o", "V"):
        assert counts[x] == tr.count(3000, x)
    assert counts["s_1"].bit_length() == 6780


# ---------------------------------------------------------------------------
# Bad input and views without a per-step pattern
# ---------------------------------------------------------------------------
def test_folded_recurrent_node_has_no_step_pattern_but_still_counts():
    c = lstm()
    with pytest.raises(NotSupported, match="graph_path_counts"):
        StepNetwork.of(c, ("s", "L"))
    g = unroll(c, 4)
    n = count(g, "L_4", "s_1", keep=("s", "L"))
    assert n == len(enumerate_paths(g, "L_4", "s_1", ("s", "L")))
    assert count(g, "L_4", "s_1") == sp.fibonacci(8) == len(enumerate_paths(g, "L_4", "s_1"))


@pytest.mark.parametrize("call, error, words", [
    (lambda: path_counts(lstm(), 0, "L"), InvalidValue, ["T must be an integer"]),
    (lambda: path_counts(lstm(), 3, "L_4"), InvalidValue, ["L_4", "1..3"]),
    (lambda: path_counts(lstm(), 3, "f_2"), InvalidValue, ["f_2", "folded"]),
    (lambda: path_counts(lstm(), 3, "q_2"), UnknownName, ["'q_2'"]),
    (lambda: path_counts(lstm(), 3, "L", keep=("s", "gate")), UnknownName, ["node kind", "'gate'"]),
    (lambda: transfer(lstm()).count(5, "W_z"), UnknownName, ["parameter", "'W_z'"]),
    (lambda: transfer(lstm()).count(5, "s_6"), InvalidValue, ["s_6"]),
    (lambda: transfer(lstm(), ("o", "i", "f", "s_tilde", "s", "h", "y")), NotSupported, ["loss"]),
])
def test_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value)


def test_non_diagonalisable_transfer_matrix_is_refused_with_a_way_out():
    import dataclasses

    tr = dataclasses.replace(transfer(lstm()), matrix=sp.Matrix([[1, 1], [0, 1]]))
    with pytest.raises(NotSupported, match="Transfer.counts"):
        tr.closed_form()
    assert tr.counts(3)["s"] == (sp.Matrix([[1, 2], [0, 1]]) * tr.below)[0]
