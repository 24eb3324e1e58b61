"""micrograd's Value against torch (float64), the lecture's graphs, the MLP, the safe parser."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.micrograd import expression as ex
from engine.micrograd.examples import (
    EXAMPLES,
    example_a_plus_a,
    example_l,
    example_neuron,
    example_softmax_nll,
    example_two_paths,
)
from engine.micrograd.exercise import (
    EXERCISE_POINT,
    exercise_analytic,
    exercise_f,
    numerical_gradient,
)
from engine.micrograd.job import MicroJob, MicroTrainConfig
from engine.micrograd.nn import YS
from engine.micrograd.torch_check import softmax_nll_torch, torch_check
from engine.micrograd.trace import trace_backward
from engine.micrograd.value import Value, topological_order


def grads_of(*values):
    return [v.grad for v in values]


def torch_leaves(*xs):
    return [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]


# every operation of the lecture, as (micrograd, torch) functions of two inputs
OPS = {
    "add": lambda a, b: a + b,
    "radd": lambda a, b: 2.5 + a + b,
    "mul": lambda a, b: a * b,
    "rmul": lambda a, b: -3 * a * b,
    "sub": lambda a, b: a - b,
    "rsub": lambda a, b: 1.5 - a - b,
    "neg": lambda a, b: -a * b,
    "div": lambda a, b: a / b,
    "rdiv": lambda a, b: 2.0 / a + b,
    "pow int": lambda a, b: a**3 + b**2,
    "pow negative": lambda a, b: a**-2 * b,
    "pow float": lambda a, b: (a * a) ** 0.5 + b,
}
UNARY = {
    "exp": (lambda v: v.exp(), torch.exp),
    "tanh": (lambda v: v.tanh(), torch.tanh),
    "log": (lambda v: v.log(), torch.log),
}


@pytest.mark.parametrize("op", list(OPS))
def test_every_binary_op_matches_torch(op):
    f = OPS[op]
    a, b = Value(-1.7), Value(2.3)
    out = f(a, b)
    out.backward()
    ta, tb = torch_leaves(-1.7, 2.3)
    tout = f(ta, tb)
    tout.backward()
    assert out.data == pytest.approx(tout.item(), abs=1e-12)
    assert grads_of(a, b) == pytest.approx([ta.grad.item(), tb.grad.item()], abs=1e-12)


@pytest.mark.parametrize("op", list(UNARY))
def test_exp_tanh_log_match_torch(op):
    ours, theirs = UNARY[op]
    a = Value(0.8)
    out = ours(a * 2.0)
    out.backward()
    (ta,) = torch_leaves(0.8)
    tout = theirs(ta * 2.0)
    tout.backward()
    assert out.data == pytest.approx(tout.item(), abs=1e-12)
    assert a.grad == pytest.approx(ta.grad.item(), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-3, 3, allow_nan=False),
    st.floats(-3, 3, allow_nan=False),
    st.floats(0.1, 3, allow_nan=False),
)
def test_a_composite_expression_matches_torch_everywhere(x, y, z):
    def f(a, b, c, exp, tanh):
        d = a * b + c**2
        e = exp(d / 10) - tanh(a - b) * c
        return e * d + a / c

    vs = [Value(x), Value(y), Value(z)]
    out = f(*vs, exp=lambda v: v.exp(), tanh=lambda v: v.tanh())
    out.backward()
    ts = torch_leaves(x, y, z)
    tout = f(*ts, exp=torch.exp, tanh=torch.tanh)
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-9, abs=1e-9)
    assert grads_of(*vs) == pytest.approx([t.grad.item() for t in ts], rel=1e-9, abs=1e-9)


def test_the_lectures_graphs_have_the_lectures_gradients():
    L = example_l()
    L.backward()
    leaves = {v.label: v.grad for v in topological_order(L)}
    assert L.data == -8.0
    assert leaves == {"a": 6.0, "b": -4.0, "c": -2.0, "e": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}

    for expanded in (False, True):
        o = example_neuron(expanded)
        o.backward()
        g = {v.label: v.grad for v in topological_order(o) if v.label}
        assert o.data == pytest.approx(0.7071, abs=1e-4)
        assert [g["x1"], g["w1"], g["x2"], g["w2"]] == pytest.approx([-1.5, 1.0, 0.5, 0.0])
        assert g["n"] == pytest.approx(0.5)

    f = example_two_paths()
    f.backward()
    g = {v.label: v.grad for v in topological_order(f)}
    assert (g["a"], g["b"]) == (-3.0, -8.0)


def test_accumulation_and_the_lectures_bug():
    b = example_a_plus_a()
    b.backward()
    (a,) = [v for v in topological_order(b) if v.label == "a"]
    assert a.grad == 2.0
    buggy = trace_backward(example_a_plus_a(), accumulate=False)
    names = [n.name for n in buggy.nodes]
    assert buggy.steps[-1].grads[names.index("a")] == 1.0  # = instead of +=


def test_trace_steps_one_node_at_a_time_and_ends_at_backward():
    trace = trace_backward(example_l())
    names = [n.name for n in trace.nodes]
    assert trace.steps[0].grads == (0.0,) * len(names)
    assert [names[s.node] for s in trace.steps[1:]] == ["L", "d", "e"]  # ops, from the end
    assert "d.grad += -2.0000 × 1.0000" in trace.steps[1].text
    final = dict(zip(names, trace.steps[-1].grads, strict=True))
    assert final["a"] == 6.0
    after_one = dict(zip(names, trace.steps[1].grads, strict=True))
    assert after_one["d"] == -2.0
    assert after_one["a"] == 0.0  # not reached yet


def test_softmax_nll_exercise_matches_torch_in_double_precision():
    loss = example_softmax_nll()
    loss.backward()
    logits = sorted(
        (v for v in topological_order(loss) if v.label.startswith("logit")),
        key=lambda v: v.label,
    )
    torch_loss, torch_grads = softmax_nll_torch()
    assert loss.data == pytest.approx(torch_loss, abs=1e-12)
    assert [v.grad for v in logits] == pytest.approx(torch_grads, abs=1e-12)


def test_the_tiny_mlp_matches_torch_and_learns():
    job = MicroJob(MicroTrainConfig(steps=20, lr=0.1, seed=1337))
    assert len(job.model.parameters()) == 41  # MLP(3, [4, 4, 1])
    check = torch_check(job.model)
    assert check.loss == pytest.approx(check.torch_loss, abs=1e-12)
    assert check.max_grad_diff < 1e-12
    assert check.max_pred_diff < 1e-12
    while not job.done:
        job.train_for(1.0)
    assert job.step == 20
    assert len(job.losses) == 21
    assert job.losses[-1] < 0.1 < job.losses[0]
    for pred, target in zip(job.preds[-1], YS, strict=True):
        assert pred == pytest.approx(target, abs=0.25)
    after = torch_check(job.model)
    assert after.max_grad_diff < 1e-12


def test_same_seed_same_net_and_slow_motion_paces_the_steps():
    a = MicroJob(MicroTrainConfig(seed=7))
    b = MicroJob(MicroTrainConfig(seed=7))
    assert [p.data for p in a.model.parameters()] == [p.data for p in b.model.parameters()]
    a.pace = 1
    assert a.train_for(5.0) == 1


def test_forgetting_zero_grad_changes_the_run():
    right = MicroJob(MicroTrainConfig(steps=5))
    wrong = MicroJob(MicroTrainConfig(steps=5, zero_grad=False))
    for job in (right, wrong):
        job.train_for(5.0)
    assert right.losses[1] == wrong.losses[1]  # the first step is the same
    assert right.losses[-1] != wrong.losses[-1]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("tanh(a*b + c)", ("a", "b", "c")),
        ("-x**2 / (1 + exp(-y))", ("x", "y")),
        ("a + a", ("a",)),
        ("3.5", ()),
        ("log(q) - q**-0.5", ("q",)),
    ],
)
def test_parser_accepts_the_lectures_operations(text, names):
    assert ex.parse(text).names == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type an expression"),
        ("2a", "not a valid expression"),
        ("a^2", "use \\*\\* for powers"),
        ("a ** b", "exponent must be a number"),
        ("__import__('os').system('ls')", "only functions"),
        ("open('x')", "only functions"),
        ("a.real", "Only numbers"),
        ("[a for a in b]", "Only numbers"),
        ("lambda: 0", "Only numbers"),
        ("'text'", "Only numbers are allowed as constants"),
        ("True + a", "Only numbers are allowed as constants"),
        ("exp(a, b)", "exactly one argument"),
        ("exp(a=1)", "exactly one argument"),
        ("tanh + 1", "is a function"),
        ("a % 2", "not one of the lecture"),
        ("a" * 201, "too long"),
        ("+".join(["a"] * 40), "too many nodes"),
        (" + ".join("abcdefghij"), "at most 8"),
    ],
)
def test_parser_refuses_anything_else_with_a_readable_reason(text, message):
    with pytest.raises(ex.ExpressionError, match=message):
        ex.parse(text)


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("a / b", {"a": 1.0, "b": 0.0}, "Division by zero"),
        ("log(a)", {"a": -1.0}, "log needs a positive number"),
        ("a ** 0.5", {"a": -4.0}, "not a real number"),
        ("exp(exp(exp(a)))", {"a": 10.0}, "overflowed"),
    ],
)
def test_values_outside_the_domain_give_an_error_not_a_crash(text, env, message):
    with pytest.raises(ex.ExpressionError, match=message):
        ex.build_graph(ex.parse(text), env)


def test_own_expression_against_torch_and_the_numerical_slope():
    expr = ex.parse("tanh(a*b + c) - a**2/b")
    env = {"a": 2.0, "b": -3.0, "c": 10.0}
    root = ex.build_graph(expr, env)
    trace = trace_backward(root)
    ref = ex.reference_gradients(expr, env)
    assert ref.value == pytest.approx(root.data, abs=1e-12)
    final = {n.name: g for n, g in zip(trace.nodes, trace.steps[-1].grads, strict=True)}
    for name in expr.names:
        torch_grad, slope = ref.grads[name]
        assert final[name] == pytest.approx(torch_grad, abs=1e-12)
        assert slope == pytest.approx(torch_grad, abs=1e-6)
    assert trace.nodes[trace.root].name == "out"


def test_lecture_examples_agree_with_their_text_form():
    for example in EXAMPLES.values():
        root = example.build()
        ref = ex.reference_gradients(ex.parse(example.text), example.env)
        assert root.data == pytest.approx(ref.value, abs=1e-12)
        root.backward()
        leaves = {v.label: v.grad for v in topological_order(root) if v.label in example.env}
        assert leaves == pytest.approx({k: g for k, (g, _) in ref.grads.items()}, abs=1e-12)


def test_derivative_exercise_three_ways():
    exact = exercise_analytic(*EXERCISE_POINT)
    assert exact == pytest.approx([-12.353553390593273, 10.25699027111255, 0.0625])
    symmetric = numerical_gradient(exercise_f, EXERCISE_POINT, 1e-6, symmetric=True)
    forward = numerical_gradient(exercise_f, EXERCISE_POINT, 1e-6, symmetric=False)
    assert symmetric == pytest.approx(exact, abs=1e-7)
    assert forward == pytest.approx(exact, abs=1e-4)
    assert max(map(abs, (s - e for s, e in zip(symmetric, exact, strict=True)))) < max(
        map(abs, (f - e for f, e in zip(forward, exact, strict=True)))
    )
    assert math.isfinite(exercise_f(*EXERCISE_POINT))
