"""The prompt of a model candidate: its sandboxed Jinja2 templates rendered over an item and
the approved material it is given (retrieved passages or linked sources)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.data.dataset import Dataset
    from harness.plan.spec import CandidateSpec, Plan


class PromptBuilder:
    """Renders an item into chat messages with the candidate's Jinja2 templates.

    Templates see ``item``, ``task``, ``context`` (``retrieved`` or ``linked``, the plan's
    choice) and ``retrieved``: the material the candidate is given, each with ``id``,
    ``title``, ``text`` and ``status``. With ``context: retrieved`` (the default) that is the
    top ``top_k`` passages the knowledge base finds for the item, leave-one-out applied; with
    ``context: linked`` the item's hand-linked source documents. ``sources`` is the same list
    under its earlier name.
    """

    def __init__(
        self,
        spec: CandidateSpec,
        plan: Plan,
        dataset: Dataset,
        cache_dir: Path | None = None,
    ):
        from harness.plan.templates import environment

        env = environment()  # sandboxed: a template from a pull request cannot reach Python
        assert spec.prompt is not None
        self.user = env.from_string(plan.resolve(spec.prompt).read_text(encoding="utf-8"))
        self.system = (
            env.from_string(plan.resolve(spec.system).read_text(encoding="utf-8"))
            if spec.system
            else None
        )
        self.dataset = dataset
        self.mode = spec.context
        self.k = spec.top_k
        self.cache_dir = cache_dir
        self.names = ", ".join(str(x) for x in (spec.prompt, spec.system) if x)
        # many items (and every sample of an item) cite the same sources: look them up once
        self._sources: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        # the samples of one item share its prompt: retrieved and rendered once (the last item)
        self._last: tuple[str, list[dict[str, str]], dict[str, Any]] | None = None

    def given(self, item: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
        """The material the candidate is given for an item, and the ids to record."""
        if self.mode == "linked":
            ids = tuple(item["source_ids"])
            if ids not in self._sources:
                self._sources[ids] = self.dataset.source_texts(list(ids))
            return self._sources[ids], list(ids)
        from harness.knowledge import as_prompt, knowledge_base, retrieve_rows

        kb = knowledge_base(self.dataset, self.cache_dir)
        passages = as_prompt(retrieve_rows(kb, item, self.k))
        return passages, [p["id"] for p in passages]

    def prompt(self, item: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """The chat messages for an item and what to record (``context``, ``passage_ids``).

        The samples of an item follow each other and share its prompt: it is retrieved and
        rendered once (about 4 ms of CPU each), and each sample gets its own copy.
        """
        import json

        key = json.dumps(item, sort_keys=True, default=str)
        if self._last is None or self._last[0] != key:
            self._last = (key, *self._render(item))
        _, msgs, given = self._last
        return [dict(m) for m in msgs], dict(given)

    def _render(self, item: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, Any]]:
        import json

        import jinja2

        material, ids = self.given(item)
        ctx = {
            "item": item,
            "sources": material,
            "retrieved": material,
            "context": self.mode,
            "task": item["task"],
        }
        msgs = []
        try:
            if self.system is not None:
                msgs.append({"role": "system", "content": self.system.render(ctx).strip()})
            msgs.append({"role": "user", "content": self.user.render(ctx).strip()})
        except jinja2.TemplateError as exc:  # a bound of harness/plan/limits.py, say
            from harness.errors import RunError

            raise RunError(
                f"the prompt templates ({self.names}) failed on item {item.get('id')}: {exc}"
            ) from None
        return msgs, {"context": self.mode, "passage_ids": json.dumps(ids)}

    def messages(self, item: dict[str, Any]) -> list[dict[str, str]]:
        """The chat messages for an item."""
        return self.prompt(item)[0]
