"""The layer zip: layout, modes, bundled awscrt for both arches, bytecode for every Python found,
byte-identical rebuilds, and clear errors (exit 2) for bad input."""

from __future__ import annotations

import importlib.util
import marshal
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import unpack_layer
from harness import free_port

import paramsecrets
from paramsecrets import layer
from paramsecrets.layer import LayerBuildError, build_layer, check_extensions

ELF_MACHINE = {"x86_64": 62, "arm64": 183}


def _pyc_name(source: str, cache_tag: str) -> str:
    folder, _, file = source.rpartition("/")
    return f"{folder}/__pycache__/{file[:-3]}.{cache_tag}.pyc"


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_layout(build, arch: str) -> None:
    info, lines = build(arch)
    assert info.arch == arch and info.path.is_file()
    with zipfile.ZipFile(info.path) as zf:
        entries = {i.filename: i for i in zf.infolist()}
        names = list(entries)
        assert names == sorted(names), "entries must be sorted"
        assert {i.date_time for i in entries.values()} == {(1980, 1, 1, 0, 0, 0)}

        launcher = entries["extensions/paramsecrets"]
        assert launcher.create_system == 3
        assert (launcher.external_attr >> 16) & 0o777 == 0o755
        assert zf.read(launcher).startswith(b"#!/bin/sh\n")
        assert [n for n in names if n.startswith("extensions/")] == ["extensions/paramsecrets"]

        run_py = zf.read("paramsecrets/run.py").decode()
        assert "from paramsecrets.boot import main" in run_py and '"lib"' in run_py

        assert "paramsecrets/lib/paramsecrets/__init__.py" in names
        assert not [n for n in names if n.startswith("paramsecrets/lib/paramsecrets/dev/")], "dev/ needs moto"
        assert not [n for n in names if "layer_files" in n]
        assert not [n for n in names if n.endswith(".pyc") and "__pycache__" not in n]

        sos = [n for n in names if n.endswith(".so")]
        assert sos == ["paramsecrets/lib/_awscrt.abi3.so"], sos
        head = zf.read(sos[0])[:20]
        assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == ELF_MACHINE[arch]
        assert "paramsecrets/lib/awscrt/__init__.py" in names
        licence = r"paramsecrets/lib/awscrt-[\d.]+\.dist-info/licenses/LICENSE"
        assert any(re.fullmatch(licence, n) for n in names)
        uncompressed = sum(i.file_size for i in entries.values())
    assert info.unpacked_size == uncompressed
    assert info.zip_size == info.path.stat().st_size
    assert info.dependencies and info.dependencies[0].startswith("awscrt==")
    assert lines[-1].startswith("wrote ") and "zipped" in lines[-1] and "unpacked" in lines[-1]


def test_bytecode_for_every_python_found(build, interpreters) -> None:
    info, lines = build("x86_64")
    labels = [i.label for i in interpreters]
    assert info.compiled_for == tuple(labels)
    assert any(f"compiling bytecode for Python {', '.join(labels)}" in line for line in lines)
    names = set(_names(info.path))
    sources = [n for n in names if n.startswith("paramsecrets/lib/") and n.endswith(".py")]
    assert len(sources) > 10
    for interp in interpreters:
        tag = interp.cache_tag
        missing = [s for s in sources if _pyc_name(s, tag) not in names]
        assert not missing, f"no {tag} pyc for {missing[:5]}"


def test_pycs_are_unchecked_hash_with_opt_paths(build) -> None:
    """UNCHECKED_HASH: the loader trusts the pyc without a stat of the source (and without the
    zip's fixed 1980 mtimes mattering); code objects name the /opt paths for tracebacks."""
    info, _ = build("x86_64")
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(info.path) as zf:
        name = f"paramsecrets/lib/paramsecrets/__pycache__/__init__.{tag}.pyc"
        data = zf.read(name)
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, check_source off
    code = marshal.loads(data[16:])
    assert code.co_filename == "/opt/paramsecrets/lib/paramsecrets/__init__.py"


def test_cold_start_never_compiles(layer_dir: Path, interpreters) -> None:
    """Each Python imports the shipped modules from the (read-only) layer using the pycs only."""
    lib = layer_dir / "paramsecrets" / "lib"
    script = f"import sys; sys.path.insert(0, {str(lib)!r}); import paramsecrets, awscrt.auth, awscrt.http"
    for interp in interpreters:
        proc = subprocess.run(
            [interp.path, "-I", "-S", "-B", "-v", "-c", script], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        # "# code object from '<x>.py'" means compiled from source; from a pyc it names the .pyc.
        lines = proc.stderr.splitlines()
        compiled = [ln for ln in lines if ln.startswith("# code object from") and ln.endswith(".py'")]
        assert not compiled, f"Python {interp.label} compiled at import: {compiled[:3]}"
        assert f"__pycache__/__init__.{interp.cache_tag}.pyc matches" in proc.stderr


def test_deterministic(tmp_path: Path) -> None:
    """Two builds of the same sources are byte-identical. Both build from one snapshot of the
    package, so edits made meanwhile in a shared working tree cannot make them differ."""
    snapshot = tmp_path / "src" / "paramsecrets"
    shutil.copytree(Path(paramsecrets.__file__).parent, snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    first = build_layer("x86_64", tmp_path / "a.zip", progress=lambda _line: None, source=snapshot)
    second = build_layer("x86_64", tmp_path / "b.zip", progress=lambda _line: None, source=snapshot)
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_unpack_keeps_modes(build, tmp_path: Path) -> None:
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


def test_failing_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """No cached wheel and an index that refuses connections: a one-line reason, exit 2."""
    monkeypatch.setenv("PARAMSECRETS_CACHE_DIR", str(tmp_path / "empty-cache"))
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
    for minor in (11, 12, 13, 14):
        _fake_so(tmp_path / "ok" / f"_b.cpython-3{minor}-x86_64-linux-gnu.so", 62)
    assert len(check_extensions(tmp_path / "ok", "x86_64")) == 2

    _fake_so(tmp_path / "one" / "_c.cpython-311-x86_64-linux-gnu.so", 62)
    expected = r"_c: compiled for CPython 3\.11 only; missing 3\.12, 3\.13, 3\.14"
    with pytest.raises(LayerBuildError, match=expected):
        check_extensions(tmp_path / "one", "x86_64")

    _fake_so(tmp_path / "arch" / "_d.abi3.so", 62)
    with pytest.raises(LayerBuildError, match="built for another architecture than arm64"):
        check_extensions(tmp_path / "arch", "arm64")

    _fake_so(tmp_path / "bare" / "_e.so", 62)
    with pytest.raises(LayerBuildError, match="without an abi3 or cpython-3XY tag"):
        check_extensions(tmp_path / "bare", "x86_64")
