"""Regenerate the example micrographs bundled for ``nanosizer demo`` (run once, commit result).

python scripts/make_examples.py
"""

from pathlib import Path

import numpy as np

from nanosizer.synth import generate, preset_params, write_synth

EXAMPLES = (("overlap-low", 11), ("pt-cubes", 12), ("ultrasmall-au", 13))
TARGET = Path(__file__).resolve().parents[1] / "src" / "nanosizer" / "data" / "examples"


def main() -> None:
    for preset, seed in EXAMPLES:
        rng = np.random.default_rng(seed)
        params = preset_params(preset, rng, 512)
        params.dtype = "uint8"
        sample = generate(params, rng)
        path = write_synth(sample, TARGET, f"example_{preset}")
        print(f"{path.name}: {len(sample.table)} particles, {sample.pixel_size_nm:.4f} nm/px")


if __name__ == "__main__":
    main()
