"""`manage.py check --deploy` with a production environment: no warning at all."""

import subprocess

from .procs import PYTHON, ROOT, production_env


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    out = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout
    assert "WARNING" not in out.stdout + out.stderr


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    """The development defaults exist only with DEBUG on."""
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    del env["SECRET_KEY"]
    out = subprocess.run(
        [PYTHON, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr
