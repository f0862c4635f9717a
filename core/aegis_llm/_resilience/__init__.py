"""The resilience layer's parts; ``aegis_llm._router`` puts them together.

Each module holds one concern and none does I/O: the router owns the event
loop side (cancel scopes, sleeps, calls), which keeps these parts easy to
test on their own and cheap on the no-failure path.
"""

from aegis_llm._resilience._aliases import AliasMap, AliasTable
from aegis_llm._resilience._attempts import AttemptLog, logger
from aegis_llm._resilience._breaker import Admission, Breaker, BreakerBoard, Gate
from aegis_llm._resilience._deadline import Deadline
from aegis_llm._resilience._embedding_space import EmbeddingSpaceGuard
from aegis_llm._resilience._retry import RetryPolicy
from aegis_llm._resilience._verdicts import Verdict, judge, worth_repeating

__all__ = [
    "Admission",
    "AliasMap",
    "AliasTable",
    "AttemptLog",
    "Breaker",
    "BreakerBoard",
    "Deadline",
    "EmbeddingSpaceGuard",
    "Gate",
    "RetryPolicy",
    "Verdict",
    "judge",
    "logger",
    "worth_repeating",
]
