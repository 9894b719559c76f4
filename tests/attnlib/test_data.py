import pytest
import torch

from attnlib.data import Batches, SequenceData
from attnlib.errors import DataError
from attnlib.vocab import PAD_ID


def seqs(n=37):
    g = torch.Generator().manual_seed(0)
    return [list(range(2, 2 + int(torch.randint(2, 20, (1,), generator=g)))) for _ in range(n)]


def test_next_state_shifts_targets_and_pads():
    d = SequenceData.next_state([[5, 6, 7], [8, 9], [4]])  # [4] has nothing to predict
    assert len(d) == 2 and d.lengths.tolist() == [2, 1]
    assert d.x.tolist() == [[5, 6], [8, PAD_ID]] and d.y.tolist() == [[6, 7], [9, PAD_ID]]


def test_batches_cover_every_sequence_once_and_are_cut_to_longest():
    d = SequenceData.next_state(seqs())
    for bucket in (False, True):
        it = Batches(d, 8, shuffle=True, bucket=bucket, seed=3)
        idx = torch.cat(it.indices())
        assert sorted(idx.tolist()) == list(range(len(d)))
        for b in it:
            assert b.x.shape[1] == int(b.lengths.max())


def test_shuffle_depends_only_on_seed_and_epoch():
    d = SequenceData.next_state(seqs())
    a, b = Batches(d, 8, shuffle=True, bucket=True, seed=1), Batches(d, 8, shuffle=True, seed=1)
    b.bucket = True
    a.set_epoch(2), b.set_epoch(2)
    assert all(torch.equal(x, y) for x, y in zip(a.indices(), b.indices(), strict=True))
    b.set_epoch(3)
    assert not all(torch.equal(x, y) for x, y in zip(a.indices(), b.indices(), strict=True))


def test_bucketing_reduces_padding():
    d = SequenceData.next_state(seqs(400))

    def padded(bucket):
        return sum(b.x.numel() for b in Batches(d, 16, shuffle=True, bucket=bucket, seed=0))

    assert padded(True) < 0.8 * padded(False)


def test_empty_data_is_an_error():
    with pytest.raises(DataError, match="2 or more tokens"):
        SequenceData.next_state([[3]])
