"""The pilot protocol: written from the pre-pilot run and the gates, frozen before the pilot.

``plan`` writes a draft (``pilots/<workflow>.draft.yaml``) a district may edit: the effect it
cares about, its staff group, its volume. ``start`` freezes it into ``pilots/<workflow>.yaml``,
a file meant to be committed, sealed by the SHA-256 of its content and the time it was frozen;
a frozen protocol is never replaced. Later reports print that hash on page 1 and list, with a
time, every gate, bar, measure or sample that no longer matches it (:func:`changes`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

import harness.pilot.sample as sample
import harness.pilot.spread as spread
from harness.errors import HarnessError
from harness.gates.specs import GATES_FILE, PILOT_PREFIX, load_gates
from harness.paths import project_root
from harness.stats import MIN_N, higher_is_better

PHASES = ("post_pilot", "pre_expansion")  # the phases whose gates the protocol freezes
DEFAULT_STAFF = 3


class ProtocolError(HarnessError):
    """A pilot protocol cannot be written, frozen or read (names the file and the fix)."""


REVIEW_RULES = {
    "every_draft_reviewed": True,
    "double_review_share": 0.2,
    "five_questions": "every 10th draft and at the end of each session",
    "turnaround": "live pilot messages only, never replayed history",
}


def slug(text: str) -> str:
    """A file name for a workflow: lower case, dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "pilot"


def pilots_dir() -> Path:
    """Where frozen protocols live: ``pilots/`` at the project root (committed, not results/)."""
    root = project_root()
    return (root or Path.cwd()) / "pilots"


def default_path(run: Any) -> Path:
    """The frozen protocol's file for a run's workflow."""
    m = run.manifest
    return pilots_dir() / f"{slug(str(m.get('workflow') or m['plan_name']))}.yaml"


def _gate_dicts(
    gates_path: Path, tasks: Collection[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The frozen phases' gates that judge these workflows (None: every gate)."""
    gs = load_gates(gates_path)
    return {
        ph: [g.model_dump(exclude_defaults=True) for g in gs.phase(ph).for_tasks(tasks)]
        for ph in PHASES
        if ph in gs.phases
    }


def run_tasks(run: Any) -> list[str] | None:
    """The workflows (item tasks) a run's scored items belong to, as the decision reads them
    (None when the items carry no task)."""
    from harness.store.pilotlog import run_workflows

    return sorted(run_workflows(run) or ()) or None


def _candidate(run: Any, chosen: str | None) -> str:
    if chosen:
        if chosen not in run.candidate_names():
            raise ProtocolError(
                f"candidate '{chosen}' is not in run {run.run_id}; "
                f"its candidates: {', '.join(run.candidate_names())}"
            )
        return chosen
    models = [c["name"] for c in run.manifest["candidates"] if c.get("kind") == "model"]
    if models:
        return str(models[0])
    s = run.scores[run.scores["metric"] == "saved_minutes"]
    kinds = {c["name"]: c.get("kind") for c in run.manifest["candidates"]}
    means = s[s["candidate"].map(kinds) == "baseline"].groupby("candidate")["value"].mean()
    return str(means.idxmax()) if not means.empty else str(run.candidate_names()[0])


def _measure(run: Any, gate: dict[str, Any], candidate: str, log: Any, log_source: str) -> dict:
    metric = str(gate["metric"])
    row: dict[str, Any] = {
        "gate": gate["name"],
        "metric": metric,
        "title": gate["title"],
        "required": bool(gate.get("required", True)),
        "test": gate["test"],
        "bar": gate.get("threshold", 0.0 if gate["test"] == "superiority" else None),
        "margin": gate.get("margin"),
    }
    if not metric.startswith(PILOT_PREFIX):
        row["direction"] = "higher is better" if higher_is_better(metric) else "lower is better"
        row["sized"] = "no: judged on the questions of the post-pilot run, not on reviewed drafts"
        return row
    name = metric.removeprefix(PILOT_PREFIX)
    row["direction"] = "higher is better (improvement over before the pilot)"
    est = spread.from_log(log, name, log_source) or spread.from_estimates(run, name, candidate)
    if est is None:
        row["sized"] = "no: nothing before the pilot measures its spread"
        return row
    row.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in est.items()})
    row["sized"] = "yes"
    return row


def build(
    run: Any,
    gates: str | Path | None = None,
    candidate: str | None = None,
    staff: int = DEFAULT_STAFF,
    power: float = sample.POWER,
    effects: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A draft protocol from a pre-pilot run and the gates (nothing written)."""
    from harness.store.pilotlog import run_pilot_log
    from harness.store.runs import STATION_SOURCE

    gates_path = Path(gates or GATES_FILE).resolve()
    tasks = run_tasks(run)  # the piloted workflow: only its gates are frozen
    gate_sets = _gate_dicts(gates_path, tasks)
    cand = _candidate(run, candidate)
    log = run_pilot_log(run)  # the piloted workflow's entries only
    source = "minutes measured in the review station"
    if log is None or log.attrs.get("source") != STATION_SOURCE:
        source = f"logged in {run.manifest['dataset']['name']}/pilot_log.csv"
    measures = [_measure(run, g, cand, log, source) for g in gate_sets.get("post_pilot", [])]
    for m in measures:
        if effects and m["gate"] in effects:
            m["effect"] = float(effects[m["gate"]])
    volume, volume_source = spread.volume_per_week(log, run.dataset.items)
    proto = {
        "protocol": 1,
        "workflow": str(run.manifest.get("workflow") or run.manifest["plan_name"]),
        "tasks": tasks,
        "plan": run.manifest["plan_name"],
        "pre_pilot_run": run.run_id,
        "dataset": {k: run.manifest["dataset"][k] for k in ("name", "fingerprint")},
        "candidate": cand,
        "staff": int(staff),
        "level": float(load_gates(gates_path).level),
        "power": float(power),
        "volume_per_week": round(volume, 1),
        "volume_source": volume_source,
        "review_rules": dict(REVIEW_RULES),
        "gates_file": str(gates_path),
        "gates_sha256": hashlib.sha256(gates_path.read_bytes()).hexdigest(),
        "gates": gate_sets,
        "measures": measures,
    }
    proto["sample"] = size(proto)
    return proto


def size(proto: dict[str, Any], sims: int = sample.SIMS, seed: int = 0) -> dict[str, Any]:
    """The drafts and staff the pilot needs: the sized required measures simulated together
    (Holm's family); an advisory measure gets the closed-form size alone."""
    every = [m for m in proto["measures"] if m.get("sized") == "yes"]
    for m in every:
        m["closed_form_n"] = sample.closed_form_n(
            m["effect"], float(m["bar"] or 0.0), m["sd"], proto["level"], proto["power"]
        )
    sized = [m for m in every if m["required"]]
    specs = [
        sample.MeasureSpec(
            m["gate"],
            m["effect"],
            float(m["bar"] or 0.0),
            m["sd"],
            m["sd_between"],
            m["share"],
            m.get("sd_before"),
        )
        for m in sized
    ]
    level, power, staff = proto["level"], proto["power"], int(proto["staff"])
    need = 0
    for i, m in enumerate(sized):
        n, s = None, staff
        while n is None and s <= sample.MAX_STAFF:
            n = sample.needed_n(specs, i, s, level, power, sims, seed)
            s = s if n is not None else s * 2
        m["n"] = n
        m["staff_needed"] = s if n is not None else None
        if n is not None:
            p = sample.simulate_power(specs, n, s, level, sims, seed=seed + 1)[i]
            m["simulated_power"] = round(float(p), 3)
            need = max(need, n, MIN_N)
            staff = max(staff, s)
    weeks = math.ceil(need / proto["volume_per_week"]) if need and proto["volume_per_week"] else 0
    return {
        "drafts": need,
        "staff": staff,
        "weeks": weeks,
        "text": (
            f"about {need} reviewed drafts over {weeks} weeks at your volume "
            f"({proto['volume_per_week']:g} replies a week), with {staff} staff reviewing, "
            f"compared with as many replies written before the pilot"
            if need
            else "no required pilot measure could be sized before the pilot"
        ),
    }


def digest(proto: dict[str, Any]) -> str:
    """SHA-256 of a protocol's content (everything but its ``frozen`` seal)."""
    body = {k: v for k, v in proto.items() if k != "frozen"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def write(proto: dict[str, Any], path: Path) -> Path:
    """Write a protocol as YAML (a draft, or a frozen one with its seal)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "# Pilot protocol (harness pilot plan / harness pilot start). Commit the frozen file.\n"
    path.write_text(head + yaml.safe_dump(proto, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read a protocol file with the safe loader."""
    from harness.data.safeyaml import load_file

    data, _ = load_file(path, "pilot protocol")
    if not isinstance(data, dict) or "measures" not in data or "gates" not in data:
        raise ProtocolError(
            f"{path}: not a pilot protocol (no 'measures' or 'gates'); write one with "
            "harness pilot plan RUN_ID"
        )
    return data


def freeze(draft: str | Path, out: str | Path | None = None, resize: bool = True) -> Path:
    """Freeze a draft protocol into its committed file; refuses to replace a frozen one."""
    proto = load(draft)
    target = (
        Path(out)
        if out
        else Path(draft).with_name(Path(draft).name.replace(".draft.yaml", ".yaml"))
    )
    if target.resolve() == Path(draft).resolve():
        target = target.with_name(target.stem + ".frozen.yaml")
    if target.exists():
        raise ProtocolError(
            f"{target} already holds a frozen pilot protocol; a frozen protocol is never "
            "replaced. Change a gate in rubrics/gates.yaml instead: the reports show the change"
        )
    proto.pop("frozen", None)
    if resize:  # the district may have edited the effect, the staff or the volume
        proto["sample"] = size(proto)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    proto["frozen"] = {"at": now, "sha256": digest(proto)}
    return write(proto, target)


def _mtime(path: Path) -> str:
    t = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).replace(microsecond=0)
    return t.isoformat()


def changes(path: str | Path, gates: str | Path | None = None) -> list[dict[str, Any]]:
    """Everything that no longer matches a frozen protocol, each with when it changed.

    A gate of a frozen phase added, removed or with a changed field (bar, metric, test, margin,
    required, ...) in the gates file now in force (``gates``, default the one the protocol
    froze, else ``rubrics/gates.yaml``); and the protocol file's own content (measures, effect,
    sample) no longer matching its seal. The time is the file's last modification (UTC).
    """
    path = Path(path)
    proto = load(path)
    out: list[dict[str, Any]] = []
    seal = proto.get("frozen") or {}
    if seal.get("sha256") != digest(proto):
        out.append(
            {
                "what": "the protocol file itself (measures, effects or sample)",
                "phase": "",
                "gate": "",
                "field": "content",
                "frozen": f"sha256 {str(seal.get('sha256'))[:12]}",
                "now": f"sha256 {digest(proto)[:12]}",
                "when": _mtime(path),
            }
        )
    frozen_file = Path(str(proto.get("gates_file", "")))
    current = Path(gates) if gates else (frozen_file if frozen_file.is_file() else GATES_FILE)
    now_sets = _gate_dicts(current, proto.get("tasks"))  # the piloted workflow's gates only
    when = _mtime(current)
    for phase, frozen_gates in (proto.get("gates") or {}).items():
        before = {g["name"]: g for g in frozen_gates}
        after = {g["name"]: g for g in now_sets.get(phase, [])}
        for name in sorted(set(before) | set(after)):
            b, a = before.get(name), after.get(name)
            if b == a:
                continue
            fields = sorted(set(b or {}) | set(a or {})) if a and b else ["(whole gate)"]
            for f in fields:
                fb = (b or {}).get(f) if a and b else ("removed" if a is None else "absent")
                fa = (a or {}).get(f) if a and b else ("absent" if a is None else "added")
                if a and b and fb == fa:
                    continue
                out.append(
                    {
                        "what": f"gate in {current.name}",
                        "phase": phase,
                        "gate": name,
                        "field": f,
                        "frozen": fb,
                        "now": fa,
                        "when": when,
                    }
                )
    return out


def find(run: Any, path: str | Path | None = "") -> Path | None:
    """The frozen protocol for a run: ``path`` when given, else its workflow's file if any."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise ProtocolError(
                f"pilot protocol {p} does not exist; freeze one with harness pilot start"
            )
        return p
    p = default_path(run)
    return p if p.is_file() else None


def queue_sample(run: Any, path: str | Path | None = "") -> dict[str, Any] | None:
    """The sample a frozen protocol sets for the review station's queue: the protocol's file
    name, its seal, the drafts to review and when it was frozen (None: no frozen protocol, or
    one without a sample).

    Args:
        run: the pre-pilot run (:class:`harness.store.runs.RunData`).
        path: the protocol file (default: the run's workflow's ``pilots/<workflow>.yaml``).
    """
    found = find(run, path or "")
    if found is None:
        return None
    proto = load(found)
    drafts = int((proto.get("sample") or {}).get("drafts") or 0)
    if not drafts or not proto.get("frozen"):
        return None
    return {
        "protocol": found.name,
        "sha256": proto["frozen"]["sha256"],
        "drafts": drafts,
        "frozen_at": proto["frozen"].get("at"),
    }
