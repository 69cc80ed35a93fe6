"""Run an rqfast worker for the shop's queues: ``python -m shop.worker``.

It reads the same configuration as the web app (``SHOP_RQ_REDIS_URL`` and the
other ``SHOP_`` variables) and runs RQ's scheduler too, so that retries
scheduled for later are queued again when they are due.
"""

from __future__ import annotations

import argparse
import logging

from flask import Flask

from . import create_app, rq


def run_worker(app: Flask, burst: bool = False) -> bool:
    """Work the app's queues until stopped (or, in a burst, until they are empty)."""
    with app.app_context():
        worker = rq.worker()
        return bool(worker.work(burst=burst, with_scheduler=True))


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="stop when idle")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    run_worker(create_app(), burst=arguments.burst)


if __name__ == "__main__":
    main()
