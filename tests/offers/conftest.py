import pytest


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    """Run after-commit callbacks (PDF render and e-mail tasks; Celery is eager in tests)."""
    def run():
        return django_capture_on_commit_callbacks(execute=True)
    return run

