"""``harness pilot plan`` and ``harness pilot start``: the protocol, written then frozen.

The arguments are registered in :mod:`harness.cli.data` (building the parser must not import
pandas, which this package does).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_pilot_plan(args: argparse.Namespace) -> int:
    import harness.pilot.protocol as protocol
    from harness.store.runs import load_run

    run = load_run(args.run_id, args.results)
    effects = {}
    for pair in args.effect or []:
        gate, _, value = pair.partition("=")
        try:
            effects[gate.strip()] = float(value)
        except ValueError:
            raise protocol.ProtocolError(
                f"--effect {pair}: give GATE=NUMBER, e.g. pilot-saves-time=2.5 (minutes)"
            ) from None
    proto = protocol.build(run, args.gates, args.candidate, args.staff, effects=effects)
    out = Path(args.out) if args.out else protocol.default_path(run).with_suffix(".draft.yaml")
    protocol.write(proto, out)
    print(f"pilot protocol draft: {out}")
    print(f"sample: {proto['sample']['text']}")
    for m in proto["measures"]:
        if m.get("n"):
            print(
                f"  {m['gate']}: {m['n']} drafts (closed form {m['closed_form_n']}); {m['source']}"
            )
    print("edit the effects, staff or volume if need be, then: harness pilot start " + str(out))
    return 0


def cmd_pilot_start(args: argparse.Namespace) -> int:
    import harness.pilot.protocol as protocol

    path = protocol.freeze(args.draft, args.out)
    proto = protocol.load(path)
    print(f"pilot protocol frozen: {path}")
    print(f"sha256 {proto['frozen']['sha256']} at {proto['frozen']['at']}; commit this file")
    print(f"sample: {proto['sample']['text']}")
    return 0
