"""Write a small LOBSTER message file from a simulated order book, for `oms demo` and tests.

    python -m bench.lobster_sample [OUTPUT] [--events N] [--seed S]

The book is tiny and made up: one instrument around $100, a few price levels a side,
orders of 1 to 5 round lots. Each step is one LOBSTER event, chosen at random: a submit at
or near the best price, a delete or partial cancel of a live order, a visible execution
of the order at the front of the best price, a hidden execution (order id 0), and once a
trading halt and its resume. The book starts with resting orders whose submits are not
written, so the file also has events that name orders submitted before it starts, as a
real file does. Unlike LOBSTER's level-1 files, every event is written, at any depth.

The output is the same for the same seed and event count.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent / "config" / "SAMPLE_2024-01-02_message.csv"
)
_OPEN_SECONDS = 34_200  # 09:30:00
_TICK = 100  # one cent in LOBSTER units (dollars x 10,000)
_START_PRICE = 1_000_000  # $100.00
_LOT = 100
_LEVELS = 5  # how far behind the best price a new order may go


@dataclass
class _Order:
    order_id: int
    direction: int  # 1 buy, -1 sell
    price: int
    size: int


class _Book:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.orders: dict[int, _Order] = {}
        self.next_id = 1_000
        self.time = float(_OPEN_SECONDS)
        self.rows: list[tuple[str, int, int, int, int, int]] = []
        # Resting orders from before the file starts: their submits are not written.
        for level in range(1, 4):
            for direction in (1, -1):
                self._new(direction, _START_PRICE - direction * level * _TICK)

    def _new(self, direction: int, price: int) -> _Order:
        order = _Order(self.next_id, direction, price, self.rng.randint(1, 5) * _LOT)
        self.next_id += self.rng.randint(1, 40)
        self.orders[order.order_id] = order
        return order

    def best(self, direction: int) -> _Order | None:
        """The order at the front of the best price of one side (first come, first)."""
        side = [o for o in self.orders.values() if o.direction == direction]
        if not side:
            return None
        return max(side, key=lambda o: (o.price * direction, -o.order_id))

    def write(self, kind: int, order_id: int, size: int, price: int, direction: int) -> None:
        self.time += self.rng.expovariate(2.0)
        self.rows.append((f"{self.time:.9f}", kind, order_id, size, price, direction))

    # One step per event type.

    def submit(self) -> None:
        direction = self.rng.choice((1, -1))
        best_bid, best_ask = self.best(1), self.best(-1)
        bid = best_bid.price if best_bid else _START_PRICE - _TICK
        ask = best_ask.price if best_ask else _START_PRICE + _TICK
        touch = bid if direction == 1 else ask
        if ask - bid > _TICK and self.rng.random() < 0.3:
            price = touch + direction * _TICK  # improves the best price
        else:
            price = touch - direction * self.rng.randrange(_LEVELS) * _TICK
        order = self._new(direction, price)
        self.write(1, order.order_id, order.size, order.price, direction)

    def delete(self, partial: bool) -> None:
        if not self.orders:
            return self.submit()
        order = self.rng.choice(list(self.orders.values()))
        if partial and order.size > _LOT:
            size = self.rng.randint(1, order.size // _LOT - 1) * _LOT
            order.size -= size
            self.write(2, order.order_id, size, order.price, order.direction)
            return None
        del self.orders[order.order_id]
        self.write(3, order.order_id, order.size, order.price, order.direction)
        return None

    def execute(self) -> None:
        order = self.best(self.rng.choice((1, -1)))
        if order is None:
            return self.submit()
        size = min(order.size, self.rng.randint(1, 3) * _LOT)
        order.size -= size
        if not order.size:
            del self.orders[order.order_id]
        self.write(4, order.order_id, size, order.price, order.direction)
        return None

    def hidden(self) -> None:
        best = self.best(self.rng.choice((1, -1)))
        price = best.price if best else _START_PRICE
        self.write(5, 0, self.rng.randint(1, 3) * _LOT, price, best.direction if best else 1)


def simulate(events: int, seed: int) -> list[tuple[str, int, int, int, int, int]]:
    """`events` rows of a LOBSTER message file from the simulated book."""
    rng = random.Random(seed)
    book = _Book(rng)
    halt_at = events // 2
    while len(book.rows) < events:
        if len(book.rows) == halt_at and events - halt_at >= 2:
            # Trading halt (price -1), then the resume (price 1); order id and size are 0.
            book.write(7, 0, 0, -1, -1)
            book.write(7, 0, 0, 1, -1)
            continue
        draw = rng.random()
        if draw < 0.50:
            book.submit()
        elif draw < 0.72:
            book.delete(partial=False)
        elif draw < 0.77:
            book.delete(partial=True)
        elif draw < 0.95:
            book.execute()
        else:
            book.hidden()
    return book.rows[:events]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default=str(DEFAULT_OUTPUT))
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20240102)
    args = parser.parse_args(argv)
    rows = simulate(args.events, args.seed)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(",".join(map(str, row)) + "\n" for row in rows), "ascii")
    print(f"{len(rows):,} events written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
