"""`make bench`: run every benchmarks/bench_*.py in turn; each prints and saves its own table.

Results land in benchmarks/results/*.md (kept in the repository) and the README sums them up.
Benchmarks measure on this machine: compare ratios between runs, not single absolute times.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
failed = []
for script in sorted(here.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    if subprocess.run([sys.executable, str(script)]).returncode != 0:
        failed.append(script.name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
