"""nbgrader configuration of the course (COURSE.md §2–3).

The course root is the repository root: nbgrader is run from here (``make
exercises``, ``make grade``). ``solutions/`` holds the source notebooks,
``exercises/`` the generated student versions; ``submitted/``, ``autograded/``,
``feedback/``, ``downloaded/`` and ``gradebook.db`` are git-ignored.
"""
c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "deepprob"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Only notebooks (and a data/ folder, if an assignment has one) go to students:
# nbgrader otherwise copies every file of an assignment folder into the release.
c.CourseDirectory.include = ["*.ipynb", "data", "data/*"]
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.md", "*.py"]

# --- Sandboxed grading kernel (book/instructor_guide.md, "Threat model") ----------
# Student code runs in the `deepprob-sandbox` kernel: bubblewrap with no network,
# no view of gradebook.db, solutions/ or other submissions, write access to its
# own autograded/<student>/<assignment> folder only, memory/process/file limits.
# Without bubblewrap it falls back to an UNSAFE unsandboxed kernel and says so
# (DEEPPROB_SANDBOX=require refuses instead; =off switches the sandbox off).
try:
    from deepprob.grading import sandbox as _sandbox

    _sandbox.register()  # puts the kernelspec on JUPYTER_PATH
    c.Execute.kernel_name = _sandbox.KERNEL_NAME
except ImportError:  # deepprob not installed: nbgrader's default kernel (unsafe)
    pass
# A kernel in its own network namespace cannot reach TCP ports: Unix sockets.
c.KernelManager.transport = "ipc"
# Limits of each sandboxed kernel (MiB of heap, processes+threads, MiB per file).
import os as _os

_os.environ.setdefault("DEEPPROB_SANDBOX_MEMORY_MB", "3072")
_os.environ.setdefault("DEEPPROB_SANDBOX_PIDS", "256")
_os.environ.setdefault("DEEPPROB_SANDBOX_FSIZE_MB", "256")
# The hidden tests run in the grader's process, never in the student's kernel; a
# kernel that dies or hangs fails the remaining cells instead of the whole
# submission (deepprob.grading.checker).
c.Autograde.autograde_preprocessors = [
    "deepprob.grading.checker.CheckerExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# 100 MB of printed output is cut to this many lines per output.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Each cell gets this long before it is interrupted and marked as failed
# (graded cells are designed to run in <= 10 s on 2 cores).
c.Execute.timeout = 60
# The kernel is thrown away after grading: kill it rather than wait for a polite
# shutdown (1.6 s per notebook measured; the sandbox dies with it, --die-with-parent).
c.Execute.shutdown_kernel = "immediate"
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]

# nbgrader scores a graded cell 0 if it wrote *anything* to stderr. Remove the
# C++ log lines that PyTorch, TensorFlow and JAX print through no fault of the student.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(oneDNN|cuInit|cuda_|NNPACK|TF_ENABLE_ONEDNN_OPTS|computation placer|"
    r"Unable to register cu|absl::InitializeLog|XLA service|StreamExecutor|"
    r"An NVIDIA GPU may be present|TensorFlow binary is optimized|"
    r"No GPU/TPU found|Platform 'cuda'|jax\._src\.xla_bridge)"
)

# A student who deletes or empties a test cell gets it back, from the gradebook.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback shows which hidden tests failed and their messages, never their source.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "deepprob.grading.feedback.RedactHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# LMS archives dropped in downloaded/<assignment>/archive/ (make grade runs
# zip_collect): files named "<student_id>_<anything>_<notebook>.ipynb" (as LMSs
# export them), "<student_id>_<notebook>.ipynb" or "<student_id>/<notebook>.ipynb".
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.zipcollect.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = (
    r"(?:.*/)?(?P<student_id>[A-Za-z0-9]+)(?:_[^/]*?)?[_/](?P<file_id>ex\d\d_[A-Za-z0-9_]+\.ipynb)$"
)
