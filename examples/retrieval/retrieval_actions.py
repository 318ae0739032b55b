"""Actions of the retrieval example: two deterministic searches over small built-in corpora,
a ranker and an answer composer. Nothing touches the network."""

from __future__ import annotations

import re
from typing import Any

ENCYCLOPEDIA = {
    "tides": "Tides are caused by the gravitational pull of the moon and the sun on the oceans.",
    "moon": "The moon orbits the earth every 27.3 days and its gravity raises ocean bulges.",
    "spring tides": "Spring tides happen when the sun and moon align, making the highest tides.",
    "volcanoes": "Volcanoes form where magma reaches the surface of the earth.",
}
WEB = [
    ("https://example.org/tides", "Ocean tides rise and fall twice a day as the earth rotates."),
    ("https://example.org/surf", "Surfers check tide tables because tides change the waves."),
    ("https://example.org/bread", "Bread rises because yeast makes carbon dioxide."),
]
STOPWORDS = {"how", "do", "does", "the", "a", "an", "of", "is", "what", "work", "why"}


def _terms(text: str) -> set[str]:
    words = {w.rstrip("s") for w in re.findall(r"[a-z]+", text.lower())}
    return words - {w.rstrip("s") for w in STOPWORDS}


def _overlap(query: str, text: str) -> int:
    return len(_terms(query) & _terms(text))


def rewrite_query(state: Any) -> Any:
    return state.update(query=" ".join(sorted(_terms(state["question"]))))


def semantic_search(state: Any, index: str) -> Any:
    query, top_k = state["query"], state["top_k"]
    scored = [
        {"source": f"{index}:{title}", "text": text, "score": _overlap(query, text)}
        for title, text in ENCYCLOPEDIA.items()
    ]
    hits = sorted((h for h in scored if h["score"]), key=lambda h: -h["score"])[:top_k]
    return state.update(hits=hits)


def web_search(state: Any, engine: str) -> Any:
    query, top_k = state["query"], state["top_k"]
    scored = [{"source": url, "text": text, "score": _overlap(query, text)} for url, text in WEB]
    hits = [h for h in scored if h["score"]][:top_k]
    return state.update(hits=hits)


def rank_passages(state: Any) -> Any:
    ranked = sorted(state["passages"], key=lambda h: (-h["score"], h["source"]))
    return state.update(context=ranked[: state["top_k"]])


def compose_answer(state: Any) -> Any:
    best = state["context"]
    sources = ", ".join(h["source"] for h in best)
    answer = f"{best[0]['text']} (sources: {sources})"
    return state.update(answer=answer)


def admit_ignorance(state: Any) -> Any:
    return state.update(answer=f"I found nothing about: {state['question']}")
