"""Keras fork server: runs *inside* the bubblewrap sandbox, one per Keras major version.

Standalone on purpose (stdlib, TensorFlow, numpy, pyseccomp only): it is bound read-only into
the sandbox as a single file and never imports the project. Protocol: JSON lines.

    worker  -> service   {"ready": true, "keras_version": ..., "tf_version": ...}
    service -> worker    {"id": ..., "code": ..., "timeout": s, "mem_mb": n}
    worker  -> service   {"id": ..., "result": {...}}     (one line per job)

The worker imports TensorFlow once and never runs a TensorFlow op or user code itself (a
process that has run an op forks children that hang). For each job it forks a child that
isolates itself further (own session, no inherited fds, empty environment, own uid when the
worker may switch uids, rlimits, seccomp deny-list, audit hook) and then runs the snippet.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import json
import os
import resource
import select
import shutil
import signal
import sys
import time
import traceback

RESULT_CAP = 64 * 1024
STDOUT_CAP = 4 * 1024
CLONE_THREAD = 0x00010000


def _setup_keras(major: str):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if major == "2":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if major == "2":
        import tf_keras as keras

        _alias_keras_to_tf_keras()
    else:
        import keras
    import keras as _k3_or_alias  # noqa: F401  (warm the import cache)

    return tf, keras, np


def _alias_keras_to_tf_keras() -> None:
    """In the Keras 2 worker, ``import keras`` must mean tf-keras, as it did in Keras 2."""
    import importlib
    import importlib.abc
    import importlib.util

    class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name == "keras" or name.startswith("keras."):
                return importlib.util.spec_from_loader(name, self)
            return None

        def create_module(self, spec):
            return importlib.import_module("tf_keras" + spec.name[len("keras"):])

        def exec_module(self, module):
            return None

    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Alias())


# --------------------------------------------------------------------------- child side


class _CappedText(io.TextIOBase):
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        room = self.cap - self.size
        if room > 0:
            piece = s[:room]
            self.parts.append(piece)
            self.size += len(piece)
        if len(s) > max(room, 0):
            self.truncated = True
        return len(s)

    def text(self) -> str:
        return "".join(self.parts) + ("\n…(output truncated)" if self.truncated else "")


def _isolate(result_fd: int, jobdir: str, uid: int | None, timeout: float, mem_mb: int) -> None:
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, result_fd)
    os.closerange(result_fd + 1, 65536)
    os.chdir(jobdir)
    os.environ.clear()
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    vm_now = _vm_size()
    cpu = int(timeout) + 2
    limits = {
        resource.RLIMIT_AS: vm_now + mem_mb * 1024 * 1024,
        resource.RLIMIT_CPU: cpu,
        resource.RLIMIT_NOFILE: 64,
        resource.RLIMIT_FSIZE: 8 * 1024 * 1024,
        resource.RLIMIT_CORE: 0,
    }
    if uid is not None:
        limits[resource.RLIMIT_NPROC] = 64
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))
    _install_seccomp()


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _install_seccomp() -> None:
    import pyseccomp as sc

    mypid = os.getpid()
    deny = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in (
        "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
        "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_writev",
        "process_vm_readv", "mount", "umount2", "unshare", "setns", "chroot",
        "pivot_root", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
        "personality", "userfaultfd", "kexec_load", "init_module", "finit_module",
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    ):
        f.add_rule(deny, name)
    # Threads yes (CLONE_THREAD), new processes no; clone3 cannot be inspected: make glibc
    # fall back to clone.
    f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    # Signals only to itself.
    f.add_rule(deny, "kill", sc.Arg(0, sc.NE, mypid))
    f.add_rule(deny, "tgkill", sc.Arg(0, sc.NE, mypid))
    f.load()


_BLOCKED_EVENTS = (
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "subprocess.Popen", "socket.", "ctypes.", "os.kill", "os.killpg", "signal.pthread_kill",
    "pty.spawn", "webbrowser.open", "urllib.Request", "http.client.connect",
)


def _install_audit_hook(jobdir: str) -> list[bool]:
    """Friendly refusals only; the real boundary is the OS (bubblewrap, uid, seccomp).

    Returns a switch: set ``switch[0] = False`` once the snippet has finished.
    """
    active = [True]
    blocked = tuple(_BLOCKED_EVENTS)
    allowed_read = (jobdir, sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr/", "/lib")
    allowed_write = (jobdir,)

    def hook(event: str, args: tuple) -> None:
        if not active[0]:
            return
        if event.startswith(blocked):
            raise PermissionError(f"blocked by the sandbox: {event}")
        if event == "open" and args and isinstance(args[0], str):
            path = os.path.abspath(args[0])
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
            writing = any(c in mode for c in "wax+")
            allowed = allowed_write if writing else allowed_read + allowed_write
            if not path.startswith(allowed):
                raise PermissionError(f"blocked by the sandbox: open {path!r}")

    sys.addaudithook(hook)
    return active


def _shape(shape) -> list | None:
    if shape is None:
        return None
    if hasattr(shape, "as_list"):
        try:
            return shape.as_list()
        except ValueError:
            return None
    return [None if d is None else int(d) for d in shape]


def _output_shape(layer, major: str):
    try:
        if major == "2":
            shp = layer.output_shape
            if isinstance(shp, list):
                shapes = [_shape(s) for s in shp]
                return shapes[0] if len(shapes) == 1 else shapes
            return _shape(shp)
        out = layer.output
        if isinstance(out, (list, tuple)):
            return [_shape(o.shape) for o in out]
        return _shape(out.shape)
    except Exception:
        return None


def _params(weights) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def _describe_model(var: str, model, keras, major: str) -> dict:
    note = None
    if not model.built:
        layers = list(model.layers)
        if isinstance(model, keras.Sequential) and layers and type(layers[0]).__name__ == "Embedding":
            model.build((None, None))
            note = (
                "built by coursebot with input shape (None, None) to count parameters; "
                "add an Input layer to state the shape yourself"
            )
        else:
            return {
                "var": var, "class": type(model).__name__, "built": False, "layers": [
                    {"name": la.name, "class": type(la).__name__, "output_shape": None, "params": None}
                    for la in layers
                ],
                "total_params": None, "trainable_params": None,
                "note": "the model is not built yet, so Keras cannot count its parameters: "
                "give it an input shape (keras.Input(shape=...) first, or model.build(...))",
            }
    layers = []
    for layer in model.layers:
        layers.append({
            "name": layer.name,
            "class": type(layer).__name__,
            "output_shape": _output_shape(layer, major),
            "params": _params(layer.weights),
        })
    return {
        "var": var, "class": type(model).__name__, "built": True, "layers": layers,
        "total_params": _params(model.weights),
        "trainable_params": _params(model.trainable_weights),
        "note": note,
    }


def _is_tensor(value, tf, np) -> bool:
    if isinstance(value, (tf.Tensor, tf.Variable, np.ndarray)):
        return True
    name = type(value).__name__
    return name.endswith("KerasTensor") and hasattr(value, "shape")


def _introspect(ns: dict, tf, keras, np, major: str) -> dict:
    models, tensors, layers = [], [], []
    in_models: set[int] = set()
    for var, value in ns.items():
        if isinstance(value, keras.Model):
            models.append(_describe_model(var, value, keras, major))
            in_models.update(id(la) for la in value.layers)
    for var, value in ns.items():
        if isinstance(value, keras.Model):
            continue
        if isinstance(value, keras.layers.Layer) and id(value) not in in_models:
            layers.append({
                "var": var, "class": type(value).__name__, "built": bool(value.built),
                "params": _params(value.weights) if value.built else None,
                "weights": [{"name": w.name, "shape": _shape(w.shape)} for w in value.weights],
            })
        elif _is_tensor(value, tf, np):
            tensors.append({"var": var, "shape": _shape(value.shape)})
        elif isinstance(value, (list, tuple)) and 0 < len(value) <= 16:
            for i, item in enumerate(value):
                if _is_tensor(item, tf, np):
                    tensors.append({"var": f"{var}[{i}]", "shape": _shape(item.shape)})
    return {"models": models, "tensors": tensors, "layers": layers}


def _error(exc: BaseException) -> dict:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<snippet>":
            line = frame.lineno
    message = str(exc)
    if len(message) > 2000:
        message = message[:2000] + "…"
    return {"type": type(exc).__name__, "message": message, "line": line}


def _run_child(req: dict, result_fd: int, jobdir: str, uid: int | None, mods) -> None:
    tf, keras, np = mods
    major = req["major"]
    try:
        _isolate(result_fd, jobdir, uid, float(req["timeout"]), int(req["mem_mb"]))
    except BaseException as exc:
        failure = _failure("SandboxError", f"isolation failed: {type(exc).__name__}: {exc}", 0)
        os.write(result_fd, b"S" + json.dumps(failure).encode())
        return
    os.write(result_fd, b"S")  # isolated and about to run: tells the parent the fork went well
    out = _CappedText(STDOUT_CAP)
    sys.stdout = sys.stderr = out
    result: dict = {"ok": False, "models": [], "tensors": [], "layers": [], "error": None}
    ns: dict = {"__name__": "__snippet__", "__builtins__": builtins}
    hook = [True]
    try:
        code = compile(req["code"], "<snippet>", "exec")
        hook = _install_audit_hook(jobdir)
        exec(code, ns)
        hook[0] = False
        result["ok"] = True
    except BaseException as exc:
        hook[0] = False
        result["error"] = _error(exc)
    try:
        result.update(_introspect(ns, tf, keras, np, major))
    except BaseException as exc:
        result["ok"] = False
        result["error"] = result["error"] or {
            "type": "IntrospectionError", "message": f"{type(exc).__name__}: {exc}"[:500], "line": None,
        }
    result["stdout"] = out.text()
    try:
        data = json.dumps(result, default=str).encode()
    except BaseException:
        data = b"{}"
    if len(data) > RESULT_CAP:
        data = json.dumps({
            "ok": result["ok"], "models": [], "tensors": [], "layers": [],
            "error": {"type": "ResultTooLarge", "message": "the report was larger than 64 KB", "line": None},
            "stdout": "",
        }).encode()
    os.write(result_fd, data)


# -------------------------------------------------------------------------- parent side


def _can_switch_uid() -> bool:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    caps = int(line.split()[1], 16)
                    return bool(caps & (1 << 6)) and bool(caps & (1 << 7))  # SETGID, SETUID
    except OSError:
        pass
    return False


def _run_job(req: dict, scratch: str, uid_base: int | None, seq: int, mods) -> dict:
    jobdir = os.path.join(scratch, f"job-{seq}")
    uid = None if uid_base is None else uid_base + (seq % 1000)
    os.mkdir(jobdir, 0o700)
    if uid is not None:
        os.chown(jobdir, uid, uid)
    r, w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            _run_child(req, w, jobdir, uid, mods)
        finally:
            os._exit(0)
    os.close(w)
    timeout = float(req["timeout"])
    deadline = started + timeout
    chunks: list[bytes] = []
    size = 0
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 65536)
        if not chunk:
            break
        size += len(chunk)
        if size <= RESULT_CAP + 1024:
            chunks.append(chunk)
    os.close(r)
    _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(jobdir, ignore_errors=True)
    took = round((time.monotonic() - started) * 1000)
    raw = b"".join(chunks)
    started = raw.startswith(b"S")
    if timed_out:
        if not started:
            # The child never got going: a fork-time lock was held by a library thread.
            return _failure("ForkHang", "the worker's child did not start", took)
        return _failure("Timeout", f"the snippet ran longer than {timeout:g} s and was stopped", took)
    try:
        result = json.loads(raw[1:]) if started and len(raw) > 1 else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU:
                return _failure("Timeout", "the snippet used more CPU time than allowed and was stopped", took)
            return _failure("Crashed", f"the snippet's process was killed by signal {signal.Signals(sig).name}", took)
        return _failure("NoResult", "the snippet ended without a result (did it exit early?)", took)
    result["took_ms"] = took
    return result


def _kill_group(pid: int) -> None:
    # The child may not have reached setsid() yet: kill it by pid as well as by group.
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


def _failure(kind: str, message: str, took: int) -> dict:
    return {
        "ok": False, "models": [], "tensors": [], "layers": [], "stdout": "",
        "error": {"type": kind, "message": message, "line": None}, "took_ms": took,
    }


def main() -> None:
    import faulthandler

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1` dumps the worker's stacks to its log
    major, scratch = sys.argv[1], sys.argv[2]
    uid_base = int(sys.argv[3]) if len(sys.argv) > 3 and _can_switch_uid() else None
    proto_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library chatter goes to stderr, never into the protocol stream
    mods = _setup_keras(major)
    tf, keras, _ = mods
    import pyseccomp  # noqa: F401  (import before forking: children cannot load libraries)

    proto_out.write(json.dumps({
        "ready": True, "keras_version": keras.__version__, "tf_version": tf.__version__,
        "uid_isolation": uid_base is not None,
    }) + "\n")
    seq = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        req["major"] = major
        seq += 1
        try:
            result = _run_job(req, scratch, uid_base, seq, mods)
        except Exception as exc:
            result = _failure("WorkerError", f"{type(exc).__name__}: {exc}", 0)
        proto_out.write(json.dumps({"id": req.get("id"), "result": result}) + "\n")


if __name__ == "__main__":
    main()
