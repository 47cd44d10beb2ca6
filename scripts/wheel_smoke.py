"""Smoke test of lumiboard's wheel as a user without Node or a compiler gets it (issue 17).

Builds the sdist and, from it, the wheel (what ``python -m build`` does), checks that the wheel
carries the built web app and both compiled extensions, installs it into a fresh venv with a
PATH that holds no node, npm or C compiler, writes a logdir with the installed lumiboard, starts
``lumiboard --logdir ... --port ...`` and checks over HTTP: the page is the real app (not the
"not built" page), ``/data/status`` reports the native scanner and the web app, and a scalar
series is served whole.

    python scripts/wheel_smoke.py                       # this interpreter
    python scripts/wheel_smoke.py --python python3.13   # a wheel built and tested for another one
    python scripts/wheel_smoke.py --constraints pins.txt  # dependencies pinned (minimum versions)

Needs the ``build`` package in the running interpreter (the ``test`` extra), and pip's index or
cache for the dependencies. Exit status 1 with the failed check on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a wheel must hold (besides the Python code) for a user with no Node and no compiler.
WHEEL_MUST_HOLD = (
    "lumiboard/static/index.html",
    "lumiboard/static/snapshot/index.html",
    "lumiboard/reader/_native",
    "lumiboard/plugins/profile/_xspace",
)
#: The tools the clean PATH must not offer.
BUILD_TOOLS = ("node", "npm", "npx", "cc", "gcc", "clang", "c++", "g++")
POINTS = 60

WRITE_LOGDIR = """
import sys
from lumiboard import SummaryWriter

for run in ("train", "eval"):
    with SummaryWriter(f"{sys.argv[1]}/{run}") as writer:
        for step in range(int(sys.argv[2])):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
"""

READ_LOGDIR = """
import sys
import lumiboard
from lumiboard.reader import scan

frame = lumiboard.read(sys.argv[1], cache=False).scalars()
print(f"read {len(frame)} rows; native scanner: {scan.NATIVE}")
assert len(frame) == 2 * int(sys.argv[2]), frame
"""


class SmokeError(Exception):
    """A check failed; the message says which and what was seen."""


def log(message: str) -> None:
    print(f"[wheel-smoke] {message}", flush=True)


def run(command: list[str], **kwargs: object) -> str:
    """Run a command; SmokeError with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        raise SmokeError(f"`{' '.join(map(str, command))}` failed ({result.returncode}):\n{output}")
    return str(result.stdout)


def build_dists(work: Path, python: str) -> Path:
    """The sdist built from this tree, then the wheel built from that sdist for ``python``."""
    dist = work / "dist"
    started = time.monotonic()
    if Path(python).resolve() == Path(sys.executable).resolve():
        # python -m build: sdist, then the wheel from the unpacked sdist.
        run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)])
    else:
        run([sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(ROOT)])
        (sdist,) = dist.glob("lumiboard-*.tar.gz")
        builder = work / "builder"
        run([python, "-m", "venv", str(builder)])
        pip = [str(builder / "bin" / "python"), "-m", "pip"]
        run([*pip, "wheel", "--no-deps", "-q", "--wheel-dir", str(dist), str(sdist)])
    (wheel,) = dist.glob("lumiboard-*.whl")
    log(f"built {wheel.name} from the sdist in {time.monotonic() - started:.0f} s")
    return wheel


def check_wheel(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for needed in WHEEL_MUST_HOLD:
        if not any(name.startswith(needed) for name in names):
            raise SmokeError(f"{wheel.name} lacks {needed}")
    sources = [name for name in names if name.endswith(".c")]
    if sources:
        raise SmokeError(f"{wheel.name} carries C sources: {sources}")
    if wheel.name.endswith("-none-any.whl"):
        raise SmokeError(f"{wheel.name} is tagged pure Python")
    size = wheel.stat().st_size
    log(f"wheel size: {size / 1e6:.2f} MB ({size} bytes, {len(names)} files)")


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of a user with the venv on PATH and no Node or compiler."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LUMIBOARD_")}
    env["PATH"] = str(venv / "bin")
    env.pop("CC", None)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    found = [tool for tool in BUILD_TOOLS if shutil.which(tool, path=env["PATH"])]
    if found:
        raise SmokeError(f"the clean PATH still offers {found}")
    return env


def install(work: Path, python: str, wheel: Path, constraints: Path | None) -> Path:
    venv = work / "venv"
    run([python, "-m", "venv", str(venv)])
    env = clean_env(venv)
    started = time.monotonic()
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)]
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    run(command, env=env)
    log(
        f"installed into a clean venv (PATH without {', '.join(BUILD_TOOLS)}) in "
        f"{time.monotonic() - started:.0f} s"
    )
    versions = run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"], env=env)
    pinned = {
        *("numpy", "protobuf", "google-crc32c", "pillow", "pandas", "pyarrow", "starlette"),
        *("uvicorn", "orjson", "python-multipart", "markdown", "nh3", "regex", "setuptools"),
    }
    log(
        "versions: "
        + ", ".join(
            f"{item['name']} {item['version']}"
            for item in json.loads(versions)
            if item["name"].lower() in pinned
        )
    )
    return venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode("utf-8", "replace")
            return response.status, response.headers.get("Content-Type", ""), body
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def wait_for(check: object, what: str, timeout: float = 90.0) -> object:
    """Poll ``check()`` until it returns something truthy; SmokeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()  # type: ignore[operator]
        except (OSError, ValueError) as error:
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise SmokeError(f"timed out waiting for {what} (last: {last!r})")


def check_server(venv: Path, logdir: Path, work: Path) -> None:
    env = clean_env(venv)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    output = (work / "server.log").open("w")
    server = subprocess.Popen(
        [str(venv / "bin" / "lumiboard"), "--logdir", str(logdir), "--port", str(port)],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    try:
        started = time.monotonic()

        def answers() -> bool:
            if server.poll() is not None:
                raise SmokeError(f"lumiboard exited with status {server.returncode}")
            return get(f"{base}/data/status")[0] == 200

        wait_for(answers, "the server to answer")
        log(f"server up on port {port} in {time.monotonic() - started:.1f} s")

        status, kind, page = get(f"{base}/")
        if status != 200 or "not built" in page or 'id="app"' not in page:
            raise SmokeError(f"GET / is not the built app ({status}, {kind}):\n{page[:500]}")
        script = page.split('type="module" crossorigin src="', 1)[1].split('"', 1)[0]
        status, kind, _ = get(f"{base}/{script.removeprefix('./')}")
        if status != 200 or "javascript" not in kind:
            raise SmokeError(f"the app's script {script} is not served ({status}, {kind})")
        log(f"GET / is the built app ({script} served as {kind})")

        info = json.loads(get(f"{base}/data/status")[2])
        if info.get("native_scanner") is not True or info.get("web_app") is not True:
            raise SmokeError(f"/data/status: native_scanner or web_app not true: {info}")
        log("/data/status: native_scanner true, web_app true")

        def loss_points() -> list[object]:
            query = urllib.parse.urlencode({"run": "train", "tag": "loss"})
            status, _, body = get(f"{base}/data/plugin/scalars/scalars?{query}")
            points = json.loads(body) if status == 200 else []
            return points if len(points) == POINTS else []

        points = wait_for(loss_points, f"{POINTS} points of train/loss")
        first, last = points[0], points[-1]  # type: ignore[index]
        if first[1:] != [0, 1.0] or last[1] != POINTS - 1:
            raise SmokeError(f"train/loss served wrong: {first} ... {last}")
        log(f"scalars: train/loss served whole ({POINTS} points)")
    except SmokeError:
        output.flush()
        log("server output:\n" + (work / "server.log").read_text()[-3000:])
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        output.close()


def smoke(python: str, constraints: Path | None, work: Path) -> None:
    version = run([python, "-c", "import sys; print(sys.version.split()[0])"]).strip()
    log(f"Python {version} ({python})")
    wheel = build_dists(work, python)
    check_wheel(wheel)
    venv = install(work, python, wheel, constraints)
    env = clean_env(venv)
    logdir = work / "logs"
    venv_python = str(venv / "bin" / "python")
    run([venv_python, "-c", WRITE_LOGDIR, str(logdir), str(POINTS)], env=env, cwd=work)
    log(
        "read back: "
        + run([venv_python, "-c", READ_LOGDIR, str(logdir), str(POINTS)], env=env, cwd=work).strip()
    )
    check_server(venv, logdir, work)


def other_pythons() -> list[str]:
    """CPython 3.10 to 3.14 interpreters on this machine besides the running one's version:
    on PATH as python3.X, or installed by pyenv."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = []
    for minor in range(10, 15):
        if minor == sys.version_info.minor:
            continue
        candidates = [shutil.which(f"python3.{minor}") or ""]
        candidates += sorted(map(str, pyenv.glob(f"3.{minor}.*/bin/python3.{minor}")), reverse=True)
        for candidate in filter(None, candidates):
            probe = subprocess.run(
                [candidate, "-c", "import sys, venv; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=False,
            )  # a pyenv shim for a version not selected fails here
            if probe.returncode == 0 and probe.stdout.strip() == f"(3, {minor})":
                found.append(candidate)
                break
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to build and test")
    parser.add_argument(
        "--other-pythons",
        action="store_true",
        help="instead of --python: every other CPython 3.10-3.14 this machine has",
    )
    parser.add_argument("--constraints", type=Path, help="pip constraints for the dependencies")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    pythons = other_pythons() if args.other_pythons else [args.python]
    if not pythons:
        log("no other CPython 3.10-3.14 on this machine: nothing to test")
    failed = []
    for python in pythons:
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="lumiboard-wheel-smoke-"))
        try:
            smoke(python, args.constraints, work)
            log(f"passed in {time.monotonic() - started:.0f} s")
        except SmokeError as error:
            print(f"[wheel-smoke] FAILED ({python}): {error}", file=sys.stderr)
            failed.append(python)
        finally:
            if args.keep:
                log(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
