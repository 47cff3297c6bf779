"""Named dataset sizes of the benchmark, each made by `innostat generate` with fixed arguments.

`district` is one district's realistic volume over four years (scale 1.0 of the generator: about 0.9 million
government-service events, 20 000 incidents re-sent as they progress, 2 800 cameras reporting daily and 500
enterprise filings a year); `city` is ten times that (Hengyang's volume); `tiny` is the CI smoke test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    seed: int
    scale: float
    years: tuple[int, int]
    repeat: int  # runs per measurement (median and spread); one is enough for a smoke test
    record: bool  # whether `make bench` writes this size's section of benchmarks/RESULTS.md

    @property
    def generate_args(self) -> list[str]:
        first, last = self.years
        return ["--seed", str(self.seed), "--scale", str(self.scale), "--years", f"{first}-{last}"]

    @property
    def held_back_days(self) -> tuple[tuple[str, str], ...]:
        """The three last days of event data, held back from the full build, as file names spell them.

        They land one after the other on the freshly built warehouse; the third is the measured daily run. The
        first two runs after a build each write a whole copy of the warehouse file once (the spare that later
        runs start from is the third file: published, previous, spare; see pipelines/lib/warehouse.py), which a
        warehouse in daily service has long done.
        """
        last = self.years[1]
        return tuple((f"{last}-12-{day}", f"{last}12{day}") for day in ("29", "30", "31"))


SIZES = {
    size.name: size
    for size in (
        Size("tiny", seed=7, scale=0.002, years=(2020, 2021), repeat=1, record=False),
        Size("district", seed=20200101, scale=1.0, years=(2019, 2022), repeat=3, record=True),
        Size("city", seed=20200101, scale=10.0, years=(2019, 2022), repeat=3, record=True),
    )
}
