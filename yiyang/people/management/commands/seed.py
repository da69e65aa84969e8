import time

from django.core.management.base import BaseCommand, CommandError

from yiyang.people.seed import FULL_SCALE, seed_population


class Command(BaseCommand):
    help = "Generate a synthetic Lishui elder population: --scale 1.0 is 550,000 elders (demo: about 0.0036, i.e. 2,000)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, required=True)
        parser.add_argument("--seed", type=int, default=20260101, help="random seed (same seed, same population)")
        parser.add_argument("--chunk-size", type=int, default=5_000)

    def handle(self, *args, scale: float, seed: int, chunk_size: int, **options):
        if not 0 < scale <= 5:
            raise CommandError("--scale must be between 0 and 5")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            self.stdout.write(f"  {done:>9,} / {total:,} elders ({rate:,.0f}/s)")

        done = seed_population(
            scale=scale, random_seed=seed, chunk_size=chunk_size, progress=progress if options["verbosity"] > 0 else None
        )
        if options["verbosity"] > 0:
            self.stdout.write(f"Seeded {done:,} elders (scale {scale} of {FULL_SCALE:,}) in {time.monotonic() - started:.1f}s.")
