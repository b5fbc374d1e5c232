"""Fault tests: real processes signalled, killed or cut off on purpose.

Each test starts the processes it hurts through the same entry points as
production (``revisit worker`` is ``python -m plugin.cli worker``; the web is
gunicorn with ``plugin.gunicorn_conf``), against the test database and Redis
(``processes``), and then checks the books: what a merchant trusts Revisit
with (``books``). Every wait is bounded, and a test's processes are killed in
its teardown whatever happened.

- ``test_worker_sigterm.py``: SIGTERM mid-job finishes the job and exits 0;
  SIGTERM while idle exits at once; a second signal kills the job in hand
  and the exit status says so.
- ``test_reminders_under_faults.py``: the worker SIGKILLed mid-batch (each
  reminder still reaches its shopper once, LINE's retry key turning a repeat
  into a 409); the test's Redis database flushed (the worker puts its
  periodic jobs back and the sweep finds every due reminder in the
  database); LINE and Messenger answering 429 with ``Retry-After``, 500 and
  too late for a while (each reminder once, none before its ``Retry-After``).
- ``test_redis_outage.py``: Redis unreachable for the web and the worker
  for 6 s (through a TCP link the test cuts); webhooks, storefront events
  and reminders due meanwhile all land.
- ``test_redis_restart.py``: a private ``redis-server`` (its own port, so
  other runs are untouched) stopped and started again under the web and a
  busy worker: SIGTERM with an append-only file (nothing lost or repeated),
  and SIGKILL without persistence (only the events Redis held undrained are
  lost; the sweep sends each due reminder once).
- ``test_postgres_restart.py``: PostgreSQL restarted under a web process and
  a worker while webhooks, events and chat messages keep coming and
  reminders fall due; only with ``REVISIT_FAULTS_RESTART_POSTGRES=1`` (CI),
  since it breaks other runs.
- ``test_store_webhooks.py``: webhooks twice, late and out of order, applied
  by two workers; the newest state wins and no ordered cart is reminded.
- ``test_chat_web_kill.py``: a web process SIGKILLed in a burst of chat
  messages; every answered message is stored, seqs without gaps.
- ``test_bonus_budget.py``: a web process SIGKILLed in a burst of bonus
  collects; the budget holds and the ledger explains every balance.

``jobs`` holds the jobs the SIGTERM tests run.
"""
