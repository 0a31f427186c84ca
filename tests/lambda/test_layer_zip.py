"""The layer zip: layout, modes, its own Python and C library and awscrt for both arches, bytecode
for the bundled Python, the lock file, byte-identical rebuilds, and clear errors (exit 2)."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import io
import marshal
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Build

import paramsecrets
from paramsecrets.layer import build as layer
from paramsecrets.layer import lock as layer_lock
from paramsecrets.layer.build import LayerBuildError, build_layer, check_extensions
from paramsecrets.layer.lock import LockError, sha256_of
from paramsecrets.testing.debian_mirror import StaticServer, add_index
from paramsecrets.testing.lambda_sandbox import unpack_layer
from paramsecrets.testing.net import free_port

ELF_MACHINE = {"x86_64": 62, "arm64": 183}



def stdlib_archive(zf: zipfile.ZipFile) -> dict[str, bytes]:
    """The members of the layer's runtime/lib/python311.zip (the standard library's bytecode)."""
    with zipfile.ZipFile(io.BytesIO(zf.read(f"{RUNTIME}/lib/python311.zip"))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}

def _pyc_name(source: str, cache_tag: str) -> str:
    folder, _, file = source.rpartition("/")
    return f"{folder}/__pycache__/{file[:-3]}.{cache_tag}.pyc"


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


LOADERS = {"x86_64": "ld-linux-x86-64.so.2", "arm64": "ld-linux-aarch64.so.1"}
SO_TAG = {"x86_64": "cpython-311-x86_64-linux-gnu", "arm64": "cpython-311-aarch64-linux-gnu"}
RUNTIME = "paramsecrets/runtime"
TAG = "cpython-311"


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_layout(build: Build, arch: str) -> None:
    info, lines = build(arch)
    assert info.arch == arch and info.path.is_file()
    with zipfile.ZipFile(info.path) as zf:
        entries = {i.filename: i for i in zf.infolist()}
        names = list(entries)
        assert names == sorted(names), "entries must be sorted"
        assert {i.date_time for i in entries.values()} == {(1980, 1, 1, 0, 0, 0)}

        executables = sorted(n for n, i in entries.items() if (i.external_attr >> 16) & 0o111)
        assert executables == ["bin/paramsecrets", "extensions/paramsecrets", "paramsecrets/exec-wrapper",
                               f"{RUNTIME}/bin/python3.11", f"{RUNTIME}/lib/{LOADERS[arch]}"]
        for name in ("extensions/paramsecrets", "bin/paramsecrets", "paramsecrets/exec-wrapper"):
            script = zf.read(name).decode()
            assert script.startswith("#!/bin/sh\n") and f'"$rt/lib/{LOADERS[arch]}" --inhibit-cache' in script
            code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
            assert "PATH" not in code and "command -v" not in code, "the launchers never search PATH"
        assert [n for n in names if n.startswith("extensions/")] == ["extensions/paramsecrets"]
        assert "from paramsecrets.cli import main" in zf.read("paramsecrets/run.py").decode()

        assert "paramsecrets/lib/paramsecrets/__init__.pyc" in names  # sourceless: see layer_slim.py
        assert not [n for n in names if n.startswith("paramsecrets/lib/paramsecrets/dev/")], "dev/ needs moto"
        assert not [n for n in names if n.startswith("paramsecrets/lib/paramsecrets/testing/")], "test support"
        assert not [n for n in names if n.startswith("paramsecrets/lib/paramsecrets/layer/")], "the builder"

        elves = [n for n in names if zf.read(n)[:4] == b"\x7fELF"]
        for name in elves:
            head = zf.read(name)[:20]
            assert int.from_bytes(head[18:20], "little") == ELF_MACHINE[arch], name
        assert "paramsecrets/lib/_awscrt.abi3.so" in elves
        assert f"{RUNTIME}/lib/libc.so.6" in elves and f"{RUNTIME}/bin/python3.11" in elves
        assert f"{RUNTIME}/lib/libgcc_s.so.1" in elves  # glibc dlopens it when a thread ends (pthread_exit)
        stdlib = f"{RUNTIME}/lib/python3.11/"
        archived = stdlib_archive(zf)  # the standard library's bytecode: see layer_slim.py
        assert stdlib + "os.pyc" in names and f"{stdlib}lib-dynload/_json.{SO_TAG[arch]}.so" in names
        for module in ("asyncio/__init__.pyc", "json/__init__.pyc", "http/client.pyc", "encodings/utf_8.pyc",
                       "tomllib/__init__.pyc"):
            assert module in archived and stdlib + module not in names, module
        for absent in ("ssl", "unittest/__init__", "tkinter/__init__", "sitecustomize", "zipfile"):
            for kept in (names, {stdlib + name for name in archived}):
                assert stdlib + absent + ".py" not in kept and stdlib + absent + ".pyc" not in kept, absent
        assert f"{RUNTIME}/etc/ssl/ca-certificates.crt" in names
        assert zf.read(f"{RUNTIME}/etc/ssl/ca-certificates.crt").count(b"-----BEGIN CERTIFICATE-----") > 100
        licence = r"paramsecrets/lib/awscrt-[\d.]+\.dist-info/licenses/LICENSE"
        assert any(re.fullmatch(licence, n) for n in names)
        uncompressed = sum(i.file_size for i in entries.values())
    assert info.unpacked_size == uncompressed
    assert info.zip_size == info.path.stat().st_size
    assert info.zip_size <= 20 * 1048576 and info.unpacked_size <= 60 * 1048576
    assert info.dependencies and info.dependencies[0].startswith("awscrt==")
    assert lines[-1].startswith("wrote ") and "zipped" in lines[-1] and "unpacked" in lines[-1]
    assert lines[-1].endswith(f"sha256 {info.sha256}") and len(info.sha256) == 64  # the whole hash


def test_bytecode_for_the_bundled_python(build: Build) -> None:
    """Every shipped module (package, awscrt, kept standard library) is a pyc of the bundled
    Python 3.11, in place of its source (sourceless); only run.py, started by path, is a .py."""
    info, lines = build("x86_64")
    assert any("compiling bytecode with the bundled Python 3.11" in line for line in lines)
    with zipfile.ZipFile(info.path) as zf:
        names = set(zf.namelist())
        pycs = [n for n in names if n.endswith(".pyc")]
        archived = stdlib_archive(zf)
        assert len(pycs) + len(archived) > 100 and all(n.endswith(".pyc") for n in archived)
        magic = {zf.read(n)[:4] for n in pycs} | {data[:4] for data in archived.values()}
    assert [n for n in names if n.endswith(".py")] == ["paramsecrets/run.py"]
    assert not [n for n in names if "__pycache__" in n]
    if sys.version_info[:2] == (3, 11):
        assert magic == {importlib.util.MAGIC_NUMBER}
    assert len(magic) == 1


def test_pycs_are_unchecked_hash_with_opt_paths(build: Build) -> None:
    """UNCHECKED_HASH: the loader trusts the pyc without a stat of the source (and without the
    zip's fixed 1980 mtimes mattering); code objects name the /opt paths for tracebacks."""
    info, _ = build("x86_64")
    with zipfile.ZipFile(info.path) as zf:
        archived = stdlib_archive(zf)
        for data, source in (
            (zf.read("paramsecrets/lib/paramsecrets/__init__.pyc"),
             "/opt/paramsecrets/lib/paramsecrets/__init__.py"),
            (archived["asyncio/events.pyc"],
             "/opt/paramsecrets/runtime/lib/python3.11/asyncio/events.py"),
        ):
            assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, check_source off
            if sys.version_info[:2] == (3, 11):
                assert data[:4] == importlib.util.MAGIC_NUMBER
                assert marshal.loads(data[16:]).co_filename == source


def test_cold_start_never_compiles(layer_dir: Path) -> None:
    """The bundled Python imports the server and the AWS client from the read-only layer using
    the shipped pycs only: nothing is compiled at a cold start."""
    script = ("import sys; sys.path.insert(0, '/opt/paramsecrets/lib'.replace('/opt', sys.argv[1])); "
              "import paramsecrets.process.app, paramsecrets.aws.clients, paramsecrets.client.cli")
    runtime = layer_dir / RUNTIME
    proc = subprocess.run(
        [str(runtime / "lib" / LOADERS["x86_64"]), "--inhibit-cache", "--library-path", str(runtime / "lib"),
         str(runtime / "bin" / "python3.11"), "-I", "-S", "-B", "-v", "-c", script, str(layer_dir)],
        capture_output=True, text=True, timeout=60, env={"LC_ALL": "C.UTF-8"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # "# code object from '<x>.py'" means compiled from source; from a pyc it names the .pyc.
    lines = proc.stderr.splitlines()
    compiled = [ln for ln in lines if ln.startswith("# code object from") and ln.endswith(".py'")]
    assert not compiled, f"compiled at import: {compiled[:3]}"
    # The standard library from its archive (bytecode only: zipimport never compiles a source it lacks).
    archive = str(layer_dir / RUNTIME / "lib/python311.zip")
    assert "# zipimport: found " in proc.stderr and f"import 'asyncio' # <zipimporter object \"{archive}/\">" \
        in proc.stderr
    assert "code object from '" + str(layer_dir / "paramsecrets/lib/paramsecrets/process/app.pyc'") in proc.stderr


def test_version_from_the_layer(layer_dir: Path, build: Build) -> None:
    """`paramsecrets version` in the layer: the package, then the layer's arch, Python, glibc and
    awscrt, read from the running interpreter and C library and the layer's layer.json."""
    info, _ = build("x86_64")
    runtime = layer_dir / RUNTIME
    proc = subprocess.run(
        [str(runtime / "lib" / LOADERS["x86_64"]), "--inhibit-cache", "--library-path", str(runtime / "lib"),
         str(runtime / "bin" / "python3.11"), "-I", "-S", str(layer_dir / "paramsecrets" / "run.py"), "version"],
        capture_output=True, text=True, timeout=60, env={"LC_ALL": "C.UTF-8"},
    )
    assert proc.returncode == 0, proc.stderr
    debian = {p.name: p.version for p in info.packages}
    assert proc.stdout.splitlines() == [
        f"paramsecrets {paramsecrets.__version__}",
        "layer: x86_64",
        f"python 3.11.2 (Debian python3.11-minimal {debian['python3.11-minimal']})",
        f"glibc 2.36 (Debian libc6 {debian['libc6']})",
        f"awscrt {info.wheels[0].version}",
    ]
    out = subprocess.run([sys.executable, "-m", "paramsecrets", "version"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out == f"paramsecrets {paramsecrets.__version__}\n", "outside the layer: the package version only"


@pytest.mark.timeout(600)
def test_deterministic(tmp_path: Path) -> None:
    """Two builds of the same sources are byte-identical. Both build from one snapshot of the
    package, so edits made meanwhile in a shared working tree cannot make them differ."""
    snapshot = tmp_path / "src" / "paramsecrets"
    shutil.copytree(Path(paramsecrets.__file__).parent, snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    first = build_layer("x86_64", tmp_path / "a.zip", progress=lambda _line: None, source=snapshot)
    second = build_layer("x86_64", tmp_path / "b.zip", progress=lambda _line: None, source=snapshot)
    assert first.sha256 == second.sha256
    assert sha256_of(tmp_path / "a.zip") == sha256_of(tmp_path / "b.zip")  # digests: no diff of megabytes on failure


def test_lock_pins_every_input() -> None:
    lock = layer_lock.load()
    for arch in ("x86_64", "arm64"):
        assert {item.name for item in lock.packages[arch]} == set(layer_lock.DEBIAN_PACKAGES)
        assert [item.name for item in lock.wheels[arch]] == ["awscrt"]
        for item in (*lock.packages[arch], *lock.wheels[arch]):
            assert re.fullmatch(r"[0-9a-f]{64}", item.sha256) and item.version
    assert lock.debian == "bookworm" and lock.python == "3.11"


def test_a_package_that_does_not_match_the_lock_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A changed SHA-256 in the lock (as if the archive served another file): the build stops."""
    lock = layer_lock.load()
    bad = lock.packages["x86_64"][0]
    bad = dataclasses.replace(bad, sha256="0" * 64)
    tampered = dataclasses.replace(lock, packages={**lock.packages, "x86_64": (bad, *lock.packages["x86_64"][1:])})
    with pytest.raises(LayerBuildError, match=rf"{re.escape(bad.filename)}: SHA-256 [0-9a-f]{{64}} does not "
                                              rf"match the lock \(0{{64}}\); refusing it"):
        build_layer("x86_64", tmp_path / "x.zip", progress=lambda _line: None, lock=tampered)
    assert not (tmp_path / "x.zip").exists()


def test_lock_file_errors(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="no lock file at"):
        layer_lock.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"debian": "bookworm", "python": "3.11", "packages": {}}')
    with pytest.raises(LockError, match="lacks"):
        layer_lock.load(tmp_path / "bad.json")


def test_unpack_keeps_modes(build: Build, tmp_path: Path) -> None:
    info, _ = build("x86_64")
    dest = unpack_layer(info.path, tmp_path)
    assert os.access(dest / "extensions" / "paramsecrets", os.X_OK)
    assert not os.access(dest / "paramsecrets" / "run.py", os.X_OK)


# ---------------------------------------------------------------- errors


def test_bad_arch(capsys: pytest.CaptureFixture[str]) -> None:
    assert layer.main(["--arch", "mips"]) == 2
    assert "invalid choice: 'mips'" in capsys.readouterr().err
    with pytest.raises(LayerBuildError, match="unknown arch 'ppc64le'"):
        build_layer("ppc64le", Path("x.zip"))


@pytest.mark.parametrize("where", ["/nonexistent-folder/x.zip", "/etc/passwd/x.zip"])
def test_unwritable_output(where: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert layer.main(["-o", where]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paramsecrets layer build: error: cannot write ") and where in err


def test_output_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert layer.main(["-o", str(tmp_path)]) == 2
    assert "it is a directory" in capsys.readouterr().err


def test_failing_download(build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    """No cached wheel and an index that refuses connections: a one-line reason, exit 2."""
    build("arm64")  # so the Debian packages are in the cache: only the wheel is missing below
    cache = tmp_path / "cache"
    cache.mkdir()
    for folder in ("debs", "layer-root"):
        (cache / folder).symlink_to(layer.cache_dir() / folder)
    monkeypatch.setenv("PARAMSECRETS_CACHE_DIR", str(cache))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{free_port()}/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    assert layer.main(["--arch", "arm64", "-o", str(tmp_path / "x.zip")]) == 2
    out, err = capsys.readouterr()
    assert "downloading awscrt" in out
    assert "paramsecrets layer build: error: could not download awscrt for arm64: " in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.zip").exists()


def _fake_so(path: Path, machine: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF" + b"\0" * 14 + machine.to_bytes(2, "little") + b"\0" * 40)


def test_extension_check(tmp_path: Path) -> None:
    _fake_so(tmp_path / "ok" / "_a.abi3.so", 62)
    _fake_so(tmp_path / "ok" / "pkg.libs" / "libz-1234.so.1", 62)  # bundled C library
    _fake_so(tmp_path / "ok" / "_b.cpython-311-x86_64-linux-gnu.so", 62)
    assert len(check_extensions(tmp_path / "ok", "x86_64")) == 2

    _fake_so(tmp_path / "other" / "_c.cpython-312-x86_64-linux-gnu.so", 62)
    with pytest.raises(LayerBuildError, match=r"_c.cpython-312-x86_64-linux-gnu.so: compiled for CPython 3\.12"):
        check_extensions(tmp_path / "other", "x86_64")

    _fake_so(tmp_path / "arch" / "_d.abi3.so", 62)
    with pytest.raises(LayerBuildError, match="built for another architecture than arm64"):
        check_extensions(tmp_path / "arch", "arm64")

    _fake_so(tmp_path / "bare" / "_e.so", 62)
    with pytest.raises(LayerBuildError, match="without an abi3 or cpython-3XY tag"):
        check_extensions(tmp_path / "bare", "x86_64")


@pytest.mark.timeout(600)
def test_lock_refresh_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`paramsecrets layer lock` pins the newest version in the mirror's indexes (what apt would
    install: -security beats the release, a ~ version loses) with its pool path and SHA-256, and
    the installed awscrt for both arches, in a file the build can load. No apt involved."""
    root = tmp_path / "mirror"
    for debian_arch in ("amd64", "arm64"):
        suites = (("bookworm", "1"), ("bookworm-security", "1+deb12u3"), ("bookworm-updates", "1+deb12u3~"))
        for suite, revision in suites:
            records = []
            for name in layer_lock.DEBIAN_PACKAGES:
                arch = "all" if name == "ca-certificates" else debian_arch
                filename = f"{name}_9.0-{revision}_{arch}.deb"
                pool = f"pool/{'updates/' if 'security' in suite else ''}main/x/{name}/{filename}"
                records.append({"Package": name, "Version": f"9.0-{revision}", "Architecture": arch,
                                "Filename": pool, "SHA256": hashlib.sha256(pool.encode()).hexdigest()})
            add_index(root, suite, debian_arch, records)
    target = tmp_path / "layer.lock.json"
    with StaticServer(root) as mirror:
        assert layer.lock_main(["--lock-file", str(target), "--debian-mirror", mirror.url]) == 0
    out = capsys.readouterr().out
    assert f"wrote {target}" in out
    lock = layer_lock.load(target)
    for arch, debian_arch in (("x86_64", "amd64"), ("arm64", "arm64")):
        libc = next(i for i in lock.packages[arch] if i.name == "libc6")
        assert libc.version == "9.0-1+deb12u3"
        assert libc.pool == f"pool/updates/main/x/libc6/libc6_9.0-1+deb12u3_{debian_arch}.deb"
        assert libc.sha256 == hashlib.sha256(libc.pool.encode()).hexdigest()
    assert [f"{w.name}=={w.version}" for w in lock.wheels["x86_64"]] == [
        f"awscrt=={importlib.metadata.version('awscrt')}"]
    for arch, items in lock.wheels.items():
        wheel = layer.cache_dir() / "wheels" / items[0].filename
        assert layer_lock.sha256_of(wheel) == items[0].sha256, arch
