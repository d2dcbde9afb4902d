"""C{python -m ofx.bench}: see L{ofx.bench.main}."""

from ofx.bench.main import main

if __name__ == "__main__":
    main()
