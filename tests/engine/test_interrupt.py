"""Ctrl-C deferred to the next model step."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from abm.engine import interrupt


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_a_ctrl_c_waits_for_the_next_checkpoint():
    reached = []
    with pytest.raises(KeyboardInterrupt), interrupt.deferred():
        ctrl_c()
        reached.append("after the signal")  # not interrupted here
        interrupt.checkpoint()
        reached.append("after the checkpoint")
    assert reached == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    interrupt.checkpoint()  # the flag was spent


def test_a_ctrl_c_after_the_last_checkpoint_raises_at_the_end_of_the_block():
    with pytest.raises(KeyboardInterrupt), interrupt.deferred():
        ctrl_c()
    with interrupt.deferred():  # a fresh block starts clean
        interrupt.checkpoint()


def test_a_second_ctrl_c_raises_at_once():
    with pytest.raises(KeyboardInterrupt), interrupt.deferred():
        ctrl_c()
        ctrl_c()
        pytest.fail("the second Ctrl-C should have raised")
    interrupt.checkpoint()


def test_nested_blocks_and_other_threads_leave_the_handler_alone():
    with interrupt.deferred():
        handler = signal.getsignal(signal.SIGINT)
        with interrupt.deferred():
            assert signal.getsignal(signal.SIGINT) is handler
        assert signal.getsignal(signal.SIGINT) is handler
    seen = []

    def worker():
        with interrupt.deferred():
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [signal.default_int_handler]
