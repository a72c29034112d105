"""DMN 1.3 decision tables: FEEL expressions (`feel`) and unary tests (`unary`), the table model
(`model`), reading and linting .dmn files (`parse`, with `overlap` for UNIQUE tables) and
evaluating a table with its hit policy (`evaluate`); `book` holds tables in memory.

Pure: nothing here touches the database or SpiffWorkflow. Deploying and resolving decisions by
id and version is `gridflow.decision_catalog`; business-rule tasks run them through `engine`.
"""

from gridflow.decisions.book import DecisionBook
from gridflow.decisions.evaluate import (
    DecisionFailed,
    Result,
    evaluate,
    map_result,
    matching_rules,
)
from gridflow.decisions.feel import MissingVariable, compile_feel
from gridflow.decisions.model import (
    HIT_POLICIES,
    RESULT_MAPPINGS,
    Decision,
    DecisionFile,
    Input,
    Output,
    Rule,
)
from gridflow.decisions.parse import (
    content_hash,
    decision_ids_in,
    dmn_files,
    lint_dmn,
    load_dmn,
    looks_like_dmn,
    parse_dmn,
)
from gridflow.decisions.unary import compile_unary_tests

__all__ = [
    "HIT_POLICIES",
    "RESULT_MAPPINGS",
    "Decision",
    "DecisionBook",
    "DecisionFailed",
    "DecisionFile",
    "Input",
    "MissingVariable",
    "Output",
    "Result",
    "Rule",
    "compile_feel",
    "compile_unary_tests",
    "content_hash",
    "decision_ids_in",
    "dmn_files",
    "evaluate",
    "lint_dmn",
    "load_dmn",
    "looks_like_dmn",
    "map_result",
    "matching_rules",
    "parse_dmn",
]
