"""The hybrid retriever as a LangChain ``BaseRetriever``; imported only when asked for."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.retriever import HybridRetriever


class LangChainRetriever(BaseRetriever):
    """LangChain's retriever seam over a :class:`HybridRetriever`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: HybridRetriever

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return [h.to_document() for h in self.hybrid.search(query, **kwargs)]
