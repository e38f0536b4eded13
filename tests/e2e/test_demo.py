"""The main job end to end: the example project on the embedded PhantomDB Lite.

Runs the same steps as scripts/demo (migrate, sample data, admin user,
runserver) in a temporary data directory, then uses the app and the admin
over HTTP like a user: log in, list, search, add, change, delete.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def manage(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def runserver(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """The example project's runserver on a free port, once it answers; the process and its URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        cwd=EXAMPLES,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url + "/admin/login/", server, "runserver")
    return server, url


def wait_until_serving(url: str, process: subprocess.Popen, what: str) -> None:
    """Wait until ``url`` answers, for at most a minute; fail if ``process`` dies first."""
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.2)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        **os.environ,
        "PHANTOMDB_DATA_DIR": str(tmp_path_factory.mktemp("demo-data")),
        "DJANGO_SUPERUSER_PASSWORD": "admin-pass",
        "DJANGO_DEBUG": "0",
    }
    manage(env, "migrate", "--noinput")
    assert "4 users created" in manage(env, "load_sample_data")
    assert "0 users created" in manage(env, "load_sample_data")
    manage(env, "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com")
    server, url = runserver(env)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def admin(site: str) -> requests.Session:
    session = requests.Session()
    page = session.get(site + "/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        site + "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": "admin", "password": "admin-pass", "next": "/admin/"},
        headers={"Referer": site + "/admin/login/"},
    )
    assert response.url.rstrip("/").endswith("/admin"), response.url
    return session


def csrf(session: requests.Session, url: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(url).text).group(1)


def test_home_page_lists_the_active_sample_users(site: str) -> None:
    page = requests.get(site + "/")
    assert page.status_code == 200
    assert "Active users (3 of 4)" in page.text
    assert "Zoë Ångström" in page.text and "Physicist" in page.text
    assert "Minnie" not in page.text  # under 18: deactivated by the sample data


def test_admin_login_refuses_a_wrong_password(site: str) -> None:
    session = requests.Session()
    token = csrf(session, site + "/admin/login/")
    response = session.post(
        site + "/admin/login/",
        data={"csrfmiddlewaretoken": token, "username": "admin", "password": "wrong"},
        headers={"Referer": site + "/admin/login/"},
    )
    assert "Please enter the correct username and password" in response.text


def test_admin_search_is_case_insensitive_for_non_ascii_text(admin: requests.Session, site: str) -> None:
    page = admin.get(site + "/admin/people/user/", params={"q": "ZOË"})
    assert page.status_code == 200
    assert "zoe@example.com" in page.text
    assert "john.doe@example.com" not in page.text


def test_admin_adds_changes_and_deletes_a_user(admin: requests.Session, site: str) -> None:
    add_url = site + "/admin/people/user/add/"
    form = {
        "csrfmiddlewaretoken": csrf(admin, add_url),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "age": "36",
        "is_active": "on",
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "0",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-bio": "Mathematician",
        "profile-0-website": "",
        "_save": "Save",
    }
    response = admin.post(add_url, data=form, headers={"Referer": add_url})
    assert response.status_code == 200 and "was added successfully" in response.text, response.text[-2000:]
    listing = admin.get(site + "/admin/people/user/", params={"q": "lovelace"})
    change_path = re.search(r'href="(/admin/people/user/(\d+)/change/)[^"]*"', listing.text).group(1)

    change_url = site + change_path
    page = admin.get(change_url)
    assert ">\nMathematician</textarea>" in page.text
    form.update(csrfmiddlewaretoken=csrf(admin, change_url), age="37")
    form["profile-INITIAL_FORMS"] = "1"
    form["profile-0-id"] = re.search(r'name="profile-0-id" value="(\d+)"', page.text).group(1)
    form["profile-0-user"] = re.search(r"/user/(\d+)/", change_path).group(1)
    response = admin.post(change_url, data=form, headers={"Referer": change_url})
    assert "was changed successfully" in response.text, response.text[-2000:]
    assert "37" in admin.get(site + "/admin/people/user/", params={"q": "lovelace"}).text

    delete_url = change_url.replace("/change/", "/delete/")
    response = admin.post(
        delete_url,
        data={"csrfmiddlewaretoken": csrf(admin, delete_url), "post": "yes"},
        headers={"Referer": delete_url},
    )
    assert "was deleted successfully" in response.text
    assert "Lovelace" not in requests.get(site + "/").text
