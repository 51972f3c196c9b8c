"""`oms demo`: replay a day of real exchange order flow (a LOBSTER file) through the OMS.

`flow` turns the file's events into FIX requests, `configuration` builds the demo's OMS
configuration, `driver` sends the requests and reads the answers, `summary` prints the
figures, and `command` runs it all.
"""

from __future__ import annotations

import argparse


def main(args: argparse.Namespace) -> int:
    from gateways.demo.command import main as run

    return run(args)
