import os

# One BLAS thread per process before numpy loads (see checks.runner.pin_threads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from checks.cli import main  # noqa: E402

raise SystemExit(main())
