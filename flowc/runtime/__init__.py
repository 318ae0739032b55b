"""The flowc runtime: state, actions, conditions, graphs and applications.

Usable without the language: a program written against Burr's API runs here with only its
imports changed (``burr.core`` -> ``flowc.runtime``). Parallelism, executors, persistence and
tracking live in their own modules and are imported on use.
"""

from flowc.runtime import state
from flowc.runtime.action import Action, FunctionBasedAction, SingleStepAction, action
from flowc.runtime.application import Application, ApplicationContext, ParentPointer
from flowc.runtime.builder import ApplicationBuilder
from flowc.runtime.conditions import Condition, default, expr, when
from flowc.runtime.graph import Graph, GraphBuilder, Transition
from flowc.runtime.state import State

__all__ = [
    "Action",
    "Application",
    "ApplicationBuilder",
    "ApplicationContext",
    "Condition",
    "FunctionBasedAction",
    "Graph",
    "GraphBuilder",
    "ParentPointer",
    "SingleStepAction",
    "State",
    "Transition",
    "action",
    "default",
    "expr",
    "state",
    "when",
]
