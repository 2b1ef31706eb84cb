"""Chapter 07's bench: servers in child processes, the Python load generator, idle crowds, rude clients,
one reactor per core, and the asyncio model started where a loop already runs (a Jupyter kernel)."""

import asyncio
import random
import socket
import sys
import threading

import pytest

from course_lib.kv import faults
from course_lib.kv.lab import ServerProcess, connected_clients, load, measure, open_fds, open_idle
from course_lib.kv.loadgen import main as loadgen_main
from course_lib.kv.loadgen import run as loadgen_run
from course_lib.kv.multicore import Workers, reuse_port_supported
from course_lib.kvserver import serve

LINUX = sys.platform.startswith("linux")


def test_a_server_process_reports_cpu_memory_threads_and_stops():
    with ServerProcess("reactor") as server:
        assert faults.ping(server.address)
        if LINUX:
            assert server.cpu_seconds() >= 0 and server.rss_bytes() > 1_000_000 and server.threads() >= 2
        result = measure(server, requests=500, clients=5, pipeline=4, tool="loadgen")
        assert result["rps"] > 0 and result["p50"] <= result["p99"]
        assert result["cpu_us"] is None or result["cpu_us"] >= 0
    assert server.process.poll() is not None


def test_a_server_that_does_not_start_says_so():
    with pytest.raises(RuntimeError, match="did not start"):
        ServerProcess("x", command=[sys.executable, "-c", "print('nothing here')"])


def test_the_python_load_generator_answers_like_redis_benchmark(capsys):
    with serve(model="reactor") as server:
        results = loadgen_run(server.address, requests=300, clients=7, pipeline=5, tests=("set", "get", "ping"))
        assert set(results) == {"SET", "GET", "PING_MBULK"}
        assert all(r["rps"] > 0 and r["min_latency_ms"] <= r["p50_latency_ms"] <= r["max_latency_ms"]
                   for r in results.values())
        assert loadgen_main(["-p", str(server.address[1]), "-n", "50", "-c", "3", "-P", "2", "--csv"]) == 0
        assert capsys.readouterr().out.startswith('"test","rps"')
        parsed = load(server.address, requests=200, clients=4, pipeline=3, tool="loadgen")
        assert set(parsed) == {"SET", "GET"}
    with pytest.raises(ValueError, match="requests"):
        loadgen_run(("127.0.0.1", 1), requests=0)


def test_idle_connections_are_opened_counted_and_closed():
    before = open_fds()
    with serve(model="reactor") as server:
        seen = []
        socks = open_idle(server.address, 300, progress=lambda done, n: seen.append(done), batch=100,
                          accepted=lambda: connected_clients(server.address))
        try:
            assert len(socks) == 300 and seen == [100, 200, 300]
            assert connected_clients(server.address) == 300
        finally:
            for s in socks:
                s.close()
    assert before is None or open_fds() == before


@pytest.mark.parametrize("model", ["threads", "reactor", "asyncio"])
def test_rude_clients_leave_the_server_serving_and_nothing_behind(model):
    threads = threading.active_count()
    with serve(model=model) as server:
        assert faults.vanish_mid_command(server.address, 6) == 6 and faults.ping(server.address)
        answers = faults.garbage(server.address, random.Random(3), 6)
        assert len(answers) == 6 and faults.ping(server.address)
        rude = faults.never_reads(server.address, value_size=50_000, count=400)
        assert rude["ping_answered"] and rude["ran"] < rude["asked"] // 2
        assert faults.crowd(server.address, 200) == 200
    assert threading.active_count() == threads


@pytest.mark.skipif(not reuse_port_supported() or not LINUX, reason="SO_REUSEPORT spreads connections on Linux")
def test_workers_share_one_port_and_the_kernel_spreads_the_connections():
    with Workers(2) as workers:
        pids = set()
        for _ in range(40):
            with socket.create_connection(workers.address, timeout=5) as s:
                s.sendall(b"INFO server\r\n")
                data = b""
                while b"process_id:" not in data or not data.endswith(b"\r\n\r\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                pids.add(data.split(b"process_id:")[1].split(b"\r\n")[0])
        assert len(pids) == 2
        assert len(workers.cpu_shares()) == 2
    assert all(p.process.poll() is not None for p in workers.processes)


def test_the_asyncio_model_starts_and_stops_inside_a_running_loop():
    async def inside():
        with serve(model="asyncio") as server:
            return faults.ping(server.address)

    assert asyncio.run(inside())
