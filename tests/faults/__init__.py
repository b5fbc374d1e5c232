"""Fault tests: real processes signalled, killed or restarted on purpose.

Each test starts the processes it hurts, through the same entry points as
production (``revisit worker`` is ``python -m plugin.cli worker``), against
the test database and Redis, and checks what survives:

- ``test_worker_sigterm.py::test_sigterm_finishes_the_job_in_hand_and_exits_0``:
  SIGTERM mid-job; the job finishes, nothing more is taken, exit status 0.
- ``test_worker_sigterm.py::test_sigterm_while_idle_exits_0``: SIGTERM with no
  job in hand; the worker leaves at once, exit status 0.
- ``test_worker_sigterm.py::test_second_signal_stops_the_job_at_once``: a
  second SIGTERM or SIGINT during the drain kills the job in hand (RQ's
  cold shutdown); the exit status, 128 plus the signal, says so.

They take seconds each (a worker starts in a few); ``jobs`` holds the jobs
they run.
"""
