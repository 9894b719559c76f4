import os
import sys

import pytest
import torch

# Tests are small: one thread keeps them fast and deterministic on a 2-core machine.
torch.set_num_threads(1)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A project a test makes with `dvc init` has DVC's analytics on (ours is off in .dvc/config):
# each dvc command there would try to post a report, and its daemon left one file in /tmp.
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
# Tests never write runs to the project's own server (flows/__init__.py would find it).
os.environ["ATTNLIB_PREFECT_DISCOVER"] = "0"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real local Prefect server (127.0.0.1, free port, temporary PREFECT_HOME) for the session.

    Yields its API URL (``http://127.0.0.1:PORT/api``); stopped by PID at the end, also when
    a test fails or pytest gets SIGTERM. Starting takes ~10-16 s (a fresh database is
    migrated first).
    """
    from flows.server import temporary_server

    with temporary_server(tmp_path_factory.mktemp("prefect_home")) as server:
        yield server.url


@pytest.fixture
def prefect_api(prefect_server, monkeypatch):
    """Flows called in the test (and worker processes it starts) run against the session's
    server; yields its URL. The runs' logs are sent before the setting ends."""
    import prefect.context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Threads that do not copy this context (the process pool's thread that forwards its
    # task runs' events) read the process-global settings: without this they started
    # Prefect's temporary server and sent it events of runs it did not know. Prefect's own
    # prefect_test_harness sets the global context the same way (its issue 15818).
    as_global = prefect.context._temporary_global_settings_context
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        with as_global(prefect.context.get_settings_context()):
            yield prefect_server
            APILogWorker.drain_all(timeout=5)
            EventsWorker.drain_all(timeout=5)


@pytest.fixture(scope="session")
def one_thread_env():
    """Environment for a subprocess whose float results are compared bit for bit.

    With several threads MKL may split a float sum differently from run to run (CI saw two
    2-thread trainings differ in the 7th digit); one thread makes a seeded run repeatable.
    """
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _temporary_servers() -> list[str]:
    server = sys.modules.get("prefect.server.api.server")
    instances = getattr(getattr(server, "SubprocessASGIServer", None), "_instances", {})
    return sorted(s.address for s in instances.values() if s.server_process is not None)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist, in the controller: a worker's temporary servers (its exit status is
    not the run's)."""
    found = node.config.stash.setdefault(_WORKER_SERVERS, [])
    found += getattr(node, "workeroutput", {}).get("temporary_servers", [])


_WORKER_SERVERS = pytest.StashKey[list]()


def pytest_sessionfinish(session, exitstatus):
    """No test may leave Prefect to start its temporary server: flows run against the
    session's server (``prefect_api``) or a project's, and a temporary one would also get
    events of runs it does not know (FOREIGN KEY errors at exit). Under pytest-xdist each
    worker hands its list to the controller, which fails the run."""
    started = _temporary_servers()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker
        workeroutput["temporary_servers"] = started
        return
    started += session.config.stash.get(_WORKER_SERVERS, [])
    if started:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"error: a test started Prefect's temporary server ({', '.join(started)}): "
            "give it the prefect_api fixture", red=True)  # fmt: skip
