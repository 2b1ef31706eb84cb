"""course_lib.resp: the incremental RESP parser and the encoder.

The exact error texts here were read from redis-server 7.0 by sending it the same
bytes; tests/test_kvserver.py compares against a live redis-server where one is installed.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib.resp import MAX_BULK, Error, Parser, ProtocolError, encode, parse_int, split_inline


def multibulk(args) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def feed_in_pieces(data: bytes, cuts, **limits):
    parser, out = Parser(**limits), []
    points = sorted({c % (len(data) + 1) for c in cuts})
    for start, end in zip([0] + points, points + [len(data)]):
        out += parser.feed(data[start:end])
    return out, parser


# -- the happy path ---------------------------------------------------------------------
def test_one_command():
    assert Parser().feed(b"*1\r\n$4\r\nPING\r\n") == [[b"PING"]]


def test_pipelined_commands_in_one_read():
    data = multibulk([b"SET", b"k", b"v"]) + b"PING\r\n" + multibulk([b"GET", b"k"])
    assert Parser().feed(data) == [[b"SET", b"k", b"v"], [b"PING"], [b"GET", b"k"]]


def test_one_byte_at_a_time_with_binary_values():
    args = [b"SET", b"k\r\n", b"\x00\xff\r\n$3\r\n", b""]
    data = multibulk(args) * 3
    parser, out = Parser(), []
    for i in range(len(data)):
        out += parser.feed(data[i:i + 1])
    assert out == [args] * 3
    assert parser.buffered == 0


def test_incomplete_command_waits():
    parser = Parser()
    assert parser.feed(b"*2\r\n$3\r\nGET\r\n$5\r\nhel") == []
    assert parser.feed(b"lo\r") == []
    assert parser.feed(b"\n") == [[b"GET", b"hello"]]


def test_empty_multibulk_and_blank_lines_are_skipped():
    assert Parser().feed(b"*0\r\n*-1\r\n\r\n\n  \r\nPING\r\n") == [[b"PING"]]


def test_two_bytes_after_a_bulk_string_are_skipped_not_checked():  # as redis-server does
    assert Parser().feed(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n") == [[b"PING"], [b"PING"]]


def test_a_big_value_in_many_pieces_is_joined_once():
    value = bytes(range(256)) * 4000  # about 1 MB
    data = multibulk([b"SET", b"k", value])
    out, parser = feed_in_pieces(data, range(0, len(data), 1000))
    assert out == [[b"SET", b"k", value]]


command_args = st.lists(st.binary(max_size=12) | st.sampled_from([b"SET", b"GET", b"\r\n", b"$3", b"*1"]),
                        min_size=1, max_size=5)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(command_args, min_size=1, max_size=8), st.lists(st.integers(0, 10**6), max_size=12))
def test_any_split_gives_the_same_commands(commands, cuts):
    data = b"".join(map(multibulk, commands))
    out, parser = feed_in_pieces(data, cuts)
    assert out == commands
    assert parser.buffered == 0


inline_words = st.lists(st.text("abcXYZ019-_:", min_size=1, max_size=6).map(str.encode), min_size=1, max_size=4)


@settings(max_examples=100)
@given(st.lists(inline_words | command_args, min_size=1, max_size=6), st.lists(st.integers(0, 10**6), max_size=8))
def test_inline_and_multibulk_mixed_in_any_split(commands, cuts):
    data = b"".join(b" ".join(c) + b"\r\n" if all(w.isalnum() for w in c) else multibulk(c) for c in commands)
    assert feed_in_pieces(data, cuts)[0] == commands


@settings(max_examples=300)
@given(st.binary(max_size=200), st.lists(st.integers(0, 1000), max_size=6))
def test_fast_path_agrees_with_the_plain_path_on_any_bytes(data, cuts):
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0] + points, points + [len(data)])]

    def run(fast):
        parser, out = Parser(max_inline=64), []
        parser.use_fast_path = fast
        try:
            for piece in pieces:
                out += parser.feed(piece)
        except ProtocolError as error:
            return out + error.commands, error.reply
        return out, parser.buffered
    assert run(True) == run(False)


@settings(max_examples=200)
@given(st.lists(command_args, min_size=1, max_size=6), st.data())
def test_fast_path_agrees_on_valid_streams_cut_anywhere(commands, data):
    stream = b"".join(map(multibulk, commands))
    stream = stream[:data.draw(st.integers(0, len(stream)))]
    slow = Parser()
    slow.use_fast_path = False
    assert Parser().feed(stream) == slow.feed(stream)


@settings(max_examples=100)
@given(st.lists(st.lists(st.sampled_from([b"GET", b"x" * 4095, b"y" * 4096, b"z\r\n" * 2000, b"a\r\nb", b""]),
                         min_size=1, max_size=3), min_size=1, max_size=6), st.data())
def test_fast_path_leaves_long_values_and_crlf_inside_values_to_the_plain_path(commands, data):
    stream = b"".join(map(multibulk, commands))
    stream = stream[:data.draw(st.integers(0, len(stream)))]
    slow = Parser()
    slow.use_fast_path = False
    assert Parser().feed(stream) == slow.feed(stream)


# -- limits and errors: redis-server's texts ----------------------------------------------
@pytest.mark.parametrize("data, reply", [
    (b"*1\r\n$-1\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$05\r\nhello\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$+5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*2147483648\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n+PING\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
    (b"*1\r\n\r\n", b"-ERR Protocol error: expected '$', got ' '\r\n"),
    (b'echo "a b\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b'echo "a"b\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"x" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
    (b"*" + b"1" * 70000, b"-ERR Protocol error: too big mbulk count string\r\n"),
    (b"*1\r\n$" + b"1" * 70000, b"-ERR Protocol error: too big bulk count string\r\n"),
])
def test_protocol_errors_have_redis_texts(data, reply):
    with pytest.raises(ProtocolError) as caught:
        Parser().feed(data)
    assert caught.value.reply == reply


def test_limits_redis_accepts():
    assert Parser().feed(b"*1\r\n$536870912\r\n") == []  # 512 MB exactly: allowed, waits for it
    assert Parser().feed(b"*1048577\r\n") == []  # Redis 7 allows up to INT_MAX arguments
    assert Parser().feed(b"x" * 65536) == []  # 64 KB of a line: still waiting


def test_commands_before_an_error_are_kept_and_the_stream_is_finished():
    parser = Parser()
    with pytest.raises(ProtocolError) as caught:
        parser.feed(b"PING\r\n" + multibulk([b"GET", b"k"]) + b"*1\r\n:4\r\n")
    assert caught.value.commands == [[b"PING"], [b"GET", b"k"]]
    with pytest.raises(ProtocolError) as again:
        parser.feed(b"PING\r\n")
    assert again.value.commands == []


def test_a_zero_byte_hides_the_end_of_a_line_as_in_redis():  # C's strchr stops at it
    parser = Parser(max_inline=100)
    assert parser.feed(b"PI\x00NG\r\n") == []
    with pytest.raises(ProtocolError, match="too big inline request"):
        for _ in range(20):
            parser.feed(b"\r\n\r\n\r\n")


def test_a_long_line_is_refused_however_it_is_split():
    line = b"x" * 70000 + b"\r\n"
    for cuts in ([], [10], list(range(0, len(line), 997))):
        with pytest.raises(ProtocolError, match="too big inline request"):
            feed_in_pieces(line, cuts)


def test_nothing_is_buffered_past_max_query():
    parser = Parser(max_query=10_000)
    parser.feed(b"*1000000\r\n")
    with pytest.raises(ProtocolError) as caught:
        for _ in range(10_000):
            parser.feed(b"$3\r\nabc\r\n")
            assert parser.buffered <= 10_000
    assert caught.value.reply == b""  # redis-server closes such a client without a word


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=50), max_size=20))
def test_garbage_only_ever_raises_protocol_error_and_stays_bounded(pieces):
    parser = Parser(max_inline=200, max_query=2000, max_bulk=1000)
    try:
        for piece in pieces:
            parser.feed(piece)
            assert parser.buffered <= 2000
    except ProtocolError as error:
        assert error.reply.startswith(b"-ERR Protocol error: ") or error.reply == b""


# -- inline commands -----------------------------------------------------------------------
@pytest.mark.parametrize("line, args", [
    (b"PING", [b"PING"]),
    (b"  set  k   v ", [b"set", b"k", b"v"]),
    (b'echo "a b"', [b"echo", b"a b"]),
    (b'echo "a\\x41b\\n"', [b"echo", b"aAb\n"]),
    (b'echo "\\x4"', [b"echo", b"x4"]),
    (b"echo 'a\\'b'", [b"echo", b"a'b"]),
    (b"echo 'a\\nb'", [b"echo", b"a\\nb"]),
    (b'ping ""', [b"ping", b""]),
    (b'echo a"b c" d', [b"echo", b"ab c", b"d"]),
    (b"PI\x0bNG", [b"PI\x0bNG"]),  # \v separates words only at their start, as in Redis
    (b'echo "a b', None),
    (b"echo 'it''s'", None),
])
def test_split_inline(line, args):
    assert split_inline(line) == args


# -- integers and the encoder --------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    (b"0", 0), (b"-1", -1), (b"9223372036854775807", 2**63 - 1), (b"-9223372036854775808", -2**63),
    (b"9223372036854775808", None), (b"-0", None), (b"01", None), (b"+1", None), (b" 1", None),
    (b"1 ", None), (b"", None), (b"-", None), (b"1.0", None), (b"\xd9\xa1", None),
])
def test_parse_int_is_redis_string2ll(text, value):
    assert parse_int(text) == value


@given(st.integers(-2**63, 2**63 - 1))
def test_parse_int_reads_what_str_writes(n):
    assert parse_int(str(n).encode()) == n


def test_encode_resp2_and_resp3():
    assert encode("OK") == b"+OK\r\n"
    assert encode(b"hi") == b"$2\r\nhi\r\n"
    assert encode(-7) == b":-7\r\n"
    assert encode(None) == b"$-1\r\n" and encode(None, 3) == b"_\r\n"
    assert encode([b"a", None, 1]) == b"*3\r\n$1\r\na\r\n$-1\r\n:1\r\n"
    assert encode({b"k": 1}) == b"*2\r\n$1\r\nk\r\n:1\r\n" and encode({b"k": 1}, 3) == b"%1\r\n$1\r\nk\r\n:1\r\n"
    assert encode(Error("ERR syntax error")) == b"-ERR syntax error\r\n"
    assert encode([b"SET", b"k", b"v"]) == multibulk([b"SET", b"k", b"v"])
    with pytest.raises(TypeError, match="cannot send float"):
        encode(1.5)


@given(st.lists(st.binary(max_size=20), min_size=1, max_size=6))
def test_a_command_encoded_is_parsed_back(args):
    assert Parser().feed(encode(args)) == [args]


def test_bulk_limit_default_is_redis_512_mb():
    assert MAX_BULK == 512 * 1024 * 1024
