"""Grading contracts (COURSE.md §5): for each assignment, the simulated submissions
that its grader must accept (full marks) or reject (lose the named cells).

Each module ``exNN_*.py`` defines ``ASSIGNMENT`` and ``CASES`` (a list of
:class:`deepprob.grading.Case`). ``tests/test_grading_contract.py`` grades all the
cases of an assignment in one ``nbgrader autograde`` run.
"""
