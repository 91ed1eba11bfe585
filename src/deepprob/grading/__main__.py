"""``python -m deepprob.grading release|grade`` — the Makefile's grading targets."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .course import assignments, grade, print_summary, release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepprob.grading", description=__doc__)
    parser.add_argument("--root", default=".", help="course root (folder with nbgrader_config.py)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="regenerate exercises/ from solutions/")
    p_rel.add_argument("assignment", nargs="?")
    p_rel.add_argument("--all", action="store_true", help="every assignment")
    p_grade = sub.add_parser("grade", help="collect, autograde, feedback, grades.csv")
    p_grade.add_argument("assignment")
    p_grade.add_argument("--jobs", type=int, default=1, help="students graded in parallel")
    p_grade.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    p_grade.add_argument("--db-url", default=None, help="gradebook URL (default $DEEPPROB_DB_URL or gradebook.db)")
    p_grade.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    p_grade.add_argument("--scheduler", default=None,
                         help="grade on a Dask distributed cluster, e.g. tcp://host:8786 (instead of --jobs)")
    p_sbx = sub.add_parser("sandbox", help="say whether the grading sandbox works on this machine")
    p_colab = sub.add_parser("colab", help="write the Colab install cell (repository from _config.yml) into solutions/")
    p_colab.add_argument("--check", action="store_true", help="only list notebooks whose cell is missing or stale")
    p_nb = sub.add_parser("notebook", help="write an nbgrader .ipynb from a jupytext percent script")
    p_nb.add_argument("source", help="percent-format .py with nbgrader={...} cell metadata")
    p_nb.add_argument("target", help="the .ipynb to write, e.g. solutions/<name>/<name>.ipynb")
    args = parser.parse_args(argv)
    if args.command == "notebook":
        from .authoring import percent_to_notebook

        print(f"wrote {percent_to_notebook(args.source, args.target)}")
        return 0
    if args.command == "sandbox":
        from .sandbox import main as sandbox_main

        return sandbox_main(["--check"])
    root = Path(args.root).resolve()
    if not (root / "nbgrader_config.py").exists():
        parser.error(f"{root} is not a course root (no nbgrader_config.py); pass --root")
    if args.command == "colab":
        from .colab import sync

        stale = sync(root, write=not args.check)
        for path in stale:
            print(f"{'stale' if args.check else 'updated'}: {path.relative_to(root)}")
        if args.check and stale:
            print("run: python -m deepprob.grading colab && make exercises", file=sys.stderr)
            return 1
        return 0

    if args.command == "release":
        names = assignments(root) if args.all else [args.assignment]
        if names == [None]:
            parser.error("name an assignment or pass --all")
        for name in names:
            print(f"released {release(root, name, quiet=True)}")
        return 0

    try:
        result = grade(root, args.assignment, jobs=args.jobs, timeout=args.timeout, db_url=args.db_url, force=args.force,
                       scheduler=args.scheduler)
    except ValueError as err:
        parser.error(str(err))
    print_summary(result, args.assignment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
