"""Hypothesis strategies shared by the tests."""

from __future__ import annotations

from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20) | st.floats(
    allow_nan=False, allow_infinity=False
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
commands = st.integers(0, 999999)

# Order flows for the contract's invariants (tests.contract): orders priced a
# few ticks either side of the best opposite price, cancels of earlier
# orders (by index), and time passing.
FLOW_STOCKS = ("600000", "000001", "300750")
order_flows = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.sampled_from([1, 2]),  # buy, sell
            st.sampled_from(FLOW_STOCKS),
            st.integers(-5, 5),  # ticks from the best opposite price
            st.integers(1, 20),  # lots
            st.sampled_from([1, 4]),  # LIMIT, BEST5_OR_CANCEL
        ),
        st.tuples(st.just("cancel"), st.integers(0, 40)),
        st.tuples(st.just("wait"), st.sampled_from([3.0, 6.0, 15.0])),
    ),
    max_size=25,
)
