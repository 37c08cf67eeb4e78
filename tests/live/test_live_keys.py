import pytest

from blastpay.live.errors import LiveProbeError
from blastpay.live.keys import accepted_key_kind as key_kind


@pytest.mark.parametrize("key, kind", [
    ("sk_test_51Habcdefghijklmnop", "sk_test"),
    ("rk_test_51Habcdefghijklmnop", "rk_test"),
])
def test_test_mode_keys_are_accepted(key, kind):
    assert key_kind(key) == kind


@pytest.mark.parametrize("key, words", [
    ("sk_live_51Habcdefghijklmnop", "test-mode only"),
    ("rk_live_51Habcdefghijklmnop", "test-mode only"),
    ("pk_test_51Habcdefghijklmnop", "publishable"),
    ("sk_test_short", "malformed"),
    ("sk_test_abc def ghi jkl", "malformed"),
    ("whsec_51Habcdefghijklmnop", "malformed"),
    ("", "not set"),
    (None, "not set"),
])
def test_other_keys_are_refused_with_one_line_that_does_not_echo_the_key(key, words):
    with pytest.raises(LiveProbeError) as caught:
        key_kind(key)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    if key:
        assert key not in message
