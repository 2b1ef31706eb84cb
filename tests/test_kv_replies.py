"""course_lib.kv.replies reads back what course_lib.resp.encode writes, in any pieces."""

from hypothesis import given
from hypothesis import strategies as st

from course_lib.kv.replies import Replies, read_reply
from course_lib.resp import Error, encode

leaves = st.one_of(st.binary(max_size=40), st.integers(-2**63, 2**63 - 1), st.none(),
                   st.text(alphabet="abcXYZ OK", min_size=1, max_size=10),
                   st.builds(Error, st.text(alphabet="ERR abc", min_size=1, max_size=20)))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4), max_leaves=12)


def same(a, b):
    if isinstance(a, Error):
        return isinstance(b, Error) and a.message == b.message
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return a == b


@given(st.lists(values, min_size=1, max_size=5), st.data())
def test_replies_come_back_whole_from_any_split(replies, data):
    stream = b"".join(encode(r) for r in replies)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader, got = Replies(), []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        got += reader.feed(stream[a:b])
    assert len(got) == len(replies) and all(map(same, got, replies))
    assert reader.buffer == b""


def test_incomplete_replies_wait():
    assert read_reply(b"$5\r\nhel") is None
    assert read_reply(b"*2\r\n:1\r\n") is None
    assert read_reply(b"+OK") is None
    assert read_reply(b"$-1\r\n") == (None, 5)
    assert read_reply(b"$5\r\nhello\r\n:3\r\n") == (b"hello", 11)
    assert read_reply(b"xx:3\r\n", 2) == (3, 6)
