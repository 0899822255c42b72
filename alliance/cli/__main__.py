"""`python -m alliance.cli`: the `alliance` command."""

from alliance.cli import main

if __name__ == "__main__":  # not when multiprocessing's spawn imports this module again
    main()
