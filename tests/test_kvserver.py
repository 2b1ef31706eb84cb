"""course_lib.kvserver on every model: real clients (redis-py sync and asyncio, redis-cli,
redis-benchmark), hostile clients (garbage, vanishing, never reading, a thousand at once),
clean shutdown with nothing leaked, and the command line with Ctrl-C."""

import asyncio
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis
import redis.asyncio
from kv_reference import exchange, need, redis_server

from course_lib.kv.protocol import HIGH_WATER
from course_lib.kvserver import MODELS, serve
from course_lib.resp import encode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(params=MODELS)
def server(request):
    with serve(model=request.param) as running:
        yield running


@pytest.fixture(scope="module")
def reference():
    with redis_server() as port:
        yield port


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_models_and_arguments():
    assert MODELS == ("threads", "reactor", "asyncio", "coroutines")
    with pytest.raises(ValueError, match="model must be one of"):
        serve(model="fibers")
    with pytest.raises(ValueError, match="backend must be one of"):
        serve(model="reactor", backend="iocp")


# -- real clients -----------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [None, 2])
def test_redis_py(server, protocol):
    kwargs = {} if protocol is None else {"protocol": protocol}  # redis-py's default: HELLO 3
    with redis.Redis(host=server.address[0], port=server.address[1], client_name="course", **kwargs) as r:
        assert r.ping() is True
        assert r.set("greeting", "hello") is True and r.get("greeting") == b"hello"
        assert r.client_getname() in ("course", b"course")
        assert r.incr("counter", 5) == 5 and r.mget("greeting", "nope") == [b"hello", None]
        assert r.set("t", "v", ex=100) and 99 <= r.ttl("t") <= 100
        with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
            r.incr("greeting")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            r.rpush("list", "a") and r.get("list")
        with r.pipeline(transaction=False) as pipe:
            for i in range(200):
                pipe.set(f"k{i}", i)
            pipe.dbsize()
            assert pipe.execute()[-1] == 200 + 4


def test_redis_py_asyncio(server):
    async def main():
        client = redis.asyncio.Redis(host=server.address[0], port=server.address[1])
        try:
            assert await client.ping() is True
            await asyncio.gather(*(client.set(f"key{i}", i) for i in range(50)))
            values = await asyncio.gather(*(client.get(f"key{i}") for i in range(50)))
            assert values == [str(i).encode() for i in range(50)]
        finally:
            await client.aclose()
    asyncio.run(main())


CLI_SCRIPT = """\
set a 1
get a
incr a
incr
mset x 1 y 2
mget x y z
del x y
set s "hello world"
get s
append s !
strlen s
nosuch a b
rpush l a b
get l
lrange l 0 -1
exists a l s nope
expire a 100000
set a 2 nx
set a 3 xx get
type l
dbsize
"""


def test_redis_cli_prints_what_it_prints_for_redis_server(server, reference):
    cli = need("redis-cli")

    def session(port, *options):
        subprocess.run([cli, "-p", str(port), "flushall"], capture_output=True, timeout=30)
        done = subprocess.run([cli, "-p", str(port), *options], input=CLI_SCRIPT, capture_output=True,
                              text=True, timeout=30)
        return done.stdout, done.returncode

    for options in ((), ("-3",)):
        assert session(server.address[1], *options) == session(reference, *options)


def test_redis_benchmark_gets_no_error(server):
    tool = need("redis-benchmark")
    done = subprocess.run([tool, "-p", str(server.address[1]), "-t", "set,get,ping_inline,ping_mbulk,incr,mset",
                           "-n", "2000", "-q"], capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Error" not in output and "ERR" not in output, output[-1000:]
    for test in ("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET"):
        assert f"{test}" in output and "requests per second" in output


# -- hostile clients ----------------------------------------------------------------------------
def ping(address) -> bytes:
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(b"PING\r\n")
        return s.recv(100)


def test_garbage_closes_that_connection_and_others_go_on(server):
    with socket.create_connection(server.address, timeout=10) as bystander:
        assert exchange(server.address, b"SET a 1\r\n*1\r\n$-7\r\nPING\r\n") == \
            b"+OK\r\n-ERR Protocol error: invalid bulk length\r\n"
        noise = os.urandom(3000).replace(b"*", b"x").replace(b"\n", b"x")  # an inline line that never ends
        assert exchange(server.address, noise) == b""
        assert exchange(server.address, noise * 30) == b"-ERR Protocol error: too big inline request\r\n"
        bystander.sendall(encode([b"GET", b"a"]))
        assert bystander.recv(100) == b"$1\r\n1\r\n"
    assert wait_until(lambda: server.connections() == 0)


def test_clients_vanishing_mid_command(server):
    for i in range(50):
        s = socket.create_connection(server.address, timeout=10)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nhalf a value"[: 10 + i % 30])
        if i % 2:  # a reset instead of a polite close
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    assert ping(server.address) == b"+PONG\r\n"
    assert wait_until(lambda: server.connections() == 0)


def test_a_client_that_never_reads_is_paused_not_buffered(server):
    with socket.create_connection(server.address, timeout=10) as s:
        s.sendall(encode([b"SET", b"big", b"x" * 1000]))
        assert s.recv(100) == b"+OK\r\n"
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        s.setblocking(False)
        request, sent, cap = encode([b"GET", b"big"]) * 100, 0, 8 * 1024 * 1024
        with selectors.DefaultSelector() as sel:
            sel.register(s, selectors.EVENT_WRITE)
            while sent < cap and sel.select(0.5):  # until the kernel takes no more for half a second
                try:
                    sent += s.send(request)
                except BlockingIOError:
                    pass
        assert sent < cap, "the server kept reading from a client that never reads its replies"
        assert ping(server.address) == b"+PONG\r\n"  # the others are still served
        if server.name in ("reactor", "asyncio"):
            buffered = [t.get_write_buffer_size() for t in _transports(server)]
            assert max(buffered) <= HIGH_WATER + 2 * 1010, buffered
        s.setblocking(True)
        expected, got = (sent // len(encode([b"GET", b"big"]))) * len(b"$1000\r\n" + b"x" * 1000 + b"\r\n"), 0
        while got < expected:  # now it reads: every reply arrives, in full
            got += len(s.recv(1 << 20))
        assert got == expected


def _transports(server):
    return list(server.server.connections) if server.name == "reactor" else list(server.transports)


def test_a_thousand_clients_at_once(server):
    socks = [socket.create_connection(server.address, timeout=30) for _ in range(1000)]
    try:
        for s in socks:
            s.sendall(encode([b"INCR", b"visits"]))
        replies = set()
        for s in socks:
            replies.add(s.recv(100))
        assert len(replies) == 1000 and b":1000\r\n" in replies
        assert wait_until(lambda: server.connections() == 1000)
    finally:
        for s in socks:
            s.close()
    assert wait_until(lambda: server.connections() == 0)


def test_coroutines_model_runs_a_task_per_connection():
    with serve(model="coroutines") as running:
        socks = [socket.create_connection(running.address, timeout=10) for _ in range(5)]
        try:
            assert wait_until(lambda: running.connections() == 5)
            assert len(running.tasks) == 1 + 5  # the acceptor, and one task per client
        finally:
            for s in socks:
                s.close()
        assert wait_until(lambda: len(running.tasks) == 1 and running.connections() == 0)
        assert running.errors == []


@pytest.mark.parametrize("model", MODELS)
def test_stopping_leaks_no_thread_and_no_socket(model):
    def open_fds():
        return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    threads, fds = threading.active_count(), open_fds()
    for _ in range(2):
        with serve(model=model) as running:
            idle = [socket.create_connection(running.address) for _ in range(20)]
            assert ping(running.address) == b"+PONG\r\n"
        for s in idle:
            assert s.recv(10) == b""  # the server closed them
            s.close()
    assert wait_until(lambda: threading.active_count() == threads), threading.enumerate()
    assert open_fds() == fds


@pytest.mark.parametrize("backend", ["select", "poll", "epoll", "kqueue"])
@pytest.mark.parametrize("model", ["reactor", "asyncio", "coroutines"])
def test_every_backend(model, backend):
    import select
    if not hasattr(select, backend):
        pytest.skip(f"no {backend} on this system")
    with serve(model=model, backend=backend) as running:
        assert exchange(running.address, b"SET k v\r\nGET k\r\n") == b"+OK\r\n$1\r\nv\r\n"


# -- the command line ------------------------------------------------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_command_line_serves_and_stops_on_ctrl_c(model):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-m", "course_lib.kvserver", "--model", model, "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        port = int(line.split("listening on 127.0.0.1:")[1].split(";")[0])
        assert exchange(("127.0.0.1", port), b"PING\r\n") == b"+PONG\r\n"
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_command_line_says_when_the_port_is_taken():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        done = subprocess.run([sys.executable, "-m", "course_lib.kvserver", "--port", str(port)],
                              capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
