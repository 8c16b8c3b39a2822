"""The plugin author's conformance kit: call these from your own tests.

    from seqkit.testing import check_cell
    from my_plugin import MyCell

    def test_my_cell_keeps_the_cell_contract():
        check_cell(MyCell)                      # or check_cell(MyCell, options={"k": 2})

``check_cell``, ``check_runner``, ``check_loss`` and ``check_truncation`` return nothing when the
component keeps its contract, and raise a ``ContractError`` whose one sentence names the check
that broke otherwise. ``ContractError`` is both a ``seqkit.PluginError`` (a plugin that breaks
its contract, as the registry reports) and an ``AssertionError``, so that pytest and unittest
count it as a failed test, not as an error in the test, and show its message.
"""

from seqkit.testing.cells import CANDIDATE, check_cell
from seqkit.testing.components import check_loss, check_runner, check_truncation
from seqkit.testing.contract import (
    TOLERANCE,
    CellContractError,
    ContractError,
    LossContractError,
    RunnerContractError,
    TruncationContractError,
)

__all__ = [
    "CANDIDATE",
    "TOLERANCE",
    "CellContractError",
    "ContractError",
    "LossContractError",
    "RunnerContractError",
    "TruncationContractError",
    "check_cell",
    "check_loss",
    "check_runner",
    "check_truncation",
]
