"""Member formats checked against their documented byte layout, not only against our own encoder.

The xbcrypt vectors below are assembled by hand from the layout in
upstream xbcrypt_write.cc / xbcrypt_common.cc (read with the search tool):
header fields at fixed positions, AES-CTR from the chunk IV over
plaintext‖SHA-256 (v3), an all-zero counter and no hash (v1/v2). Percona's
binary v1/v2 vectors (test/inc/decrypt_v*_test_file.xbcrypt) could not be
fetched here, so they are not used. Real `.qp` files are covered in
test_archive_extract.py.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import lz4.frame
import pytest
import zstandard
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from xtrarestore.core.archive import _quicklz
from xtrarestore.core.archive.keys import load_key
from xtrarestore.core.archive.members import decode_member, final_name
from xtrarestore.core.archive.xbcrypt import encrypt
from xtrarestore.core.errors import BackupFormatError, ChecksumError, KeyFileError, WrongKeyError

KEY = b"percona_xtrabackup_is_awesome___"  # the key of Percona's xbcrypt.sh test
IV = bytes(range(16))
TEXT = b"The quick brown fox jumps over the lazy dog.\n" * 50


def aes_ctr(key: bytes, counter: bytes, data: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor().update(data)


def v3_chunk(plain: bytes, key: bytes = KEY, iv: bytes = IV) -> bytes:
    sealed = aes_ctr(key, iv, plain + hashlib.sha256(plain).digest())
    header = b"XBCRYP03" + struct.pack("<QQQI", 0, len(sealed), len(sealed), zlib.crc32(sealed))
    return header + struct.pack("<Q", 16) + iv + sealed


def old_chunk(plain: bytes, version: int, key: bytes = KEY) -> bytes:
    sealed = aes_ctr(key, bytes(16), plain)
    header = f"XBCRYP0{version}".encode() + struct.pack("<QQQI", 0, len(sealed), len(sealed), zlib.crc32(sealed))
    if version == 2:
        header += struct.pack("<Q", 16) + b"\xaa" * 16  # v2 stores an IV that readers must ignore
    return header + sealed


def test_v3_vector_built_from_layout_decrypts():
    data = v3_chunk(TEXT[:700]) + v3_chunk(TEXT[700:])
    assert decode_member("t.xbcrypt", data, KEY) == ("t", TEXT)


@pytest.mark.parametrize("version", [1, 2])
def test_v1_v2_vectors_use_zero_counter(version):
    data = old_chunk(TEXT[:1000], version) + old_chunk(TEXT[1000:], version)
    assert decode_member("t.xbcrypt", data, KEY)[1] == TEXT


@pytest.mark.parametrize("length", [16, 24, 32])
def test_aes_key_sizes(length):
    key = bytes(range(length))
    assert decode_member("t.xbcrypt", v3_chunk(TEXT, key), key)[1] == TEXT


def test_our_encryptor_writes_the_documented_layout():
    data = encrypt(TEXT, KEY, chunk_size=1024)
    first = data[: 44 + 16 + 1024 + 32]
    assert first[:8] == b"XBCRYP03"
    reserved, original, encrypted, crc = struct.unpack_from("<QQQI", first, 8)
    (iv_len,) = struct.unpack_from("<Q", first, 36)
    assert (reserved, original, encrypted, iv_len) == (0, 1056, 1056, 16)
    iv, sealed = first[44:60], first[60:]
    assert crc == zlib.crc32(sealed)
    opened = aes_ctr(KEY, iv, sealed)
    assert opened[:1024] == TEXT[:1024] and opened[1024:] == hashlib.sha256(TEXT[:1024]).digest()
    assert decode_member("t.xbcrypt", data, KEY)[1] == TEXT


def test_wrong_key_is_reported_as_wrong_key_not_corruption():
    with pytest.raises(WrongKeyError, match="wrong key"):
        decode_member("t.qp.xbcrypt", v3_chunk(TEXT), b"x" * 32)


def test_ciphertext_corruption_is_a_checksum_error():
    data = bytearray(v3_chunk(TEXT))
    data[100] ^= 1
    with pytest.raises(ChecksumError, match=r"t.xbcrypt: .*checksum mismatch at offset 0x0"):
        decode_member("t.xbcrypt", bytes(data), KEY)


def test_truncated_xbcrypt_chunk():
    data = v3_chunk(TEXT) + v3_chunk(TEXT)
    with pytest.raises(BackupFormatError, match=r"truncated xbcrypt chunk at offset 0x"):
        decode_member("t.xbcrypt", data[:-10], KEY)


def test_absurd_xbcrypt_length():
    data = b"XBCRYP03" + struct.pack("<QQQI", 0, 1 << 40, 1 << 40, 0) + bytes(30)
    with pytest.raises(BackupFormatError, match="absurd xbcrypt chunk length"):
        decode_member("t.xbcrypt", data, KEY)


def test_encrypted_member_without_key():
    with pytest.raises(KeyFileError, match="give the key file"):
        decode_member("t.xbcrypt", v3_chunk(TEXT), None)


def test_key_file_with_trailing_newline(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(KEY + b"\n")
    with pytest.raises(KeyFileError) as caught:
        load_key(path)
    assert str(caught.value) == (
        f"key file {path} is 33 bytes and ends with a newline; a 32-byte AES-256 key was expected"
        " — write it with printf '%s' or echo -n"
    )
    assert KEY.decode() not in str(caught.value)


def test_key_file_lengths(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"short")
    with pytest.raises(KeyFileError, match="is 5 bytes; an AES key must be 16, 24 or 32 bytes"):
        load_key(path)
    path.write_bytes(KEY)
    assert load_key(path) == KEY
    with pytest.raises(KeyFileError, match="missing"):
        load_key(tmp_path / "missing")


def test_lz4_and_zstd_members_are_frame_concatenations():
    data = bytes(range(256)) * 400
    pieces = [data[i : i + 10000] for i in range(0, len(data), 10000)]
    lz4_member = b"".join(lz4.frame.compress(p, content_checksum=True) for p in pieces)
    zst_member = b"".join(zstandard.ZstdCompressor(write_checksum=True).compress(p) for p in pieces)
    assert decode_member("a.ibd.lz4", lz4_member, None) == ("a.ibd", data)
    assert decode_member("a.ibd.zst", zst_member, None) == ("a.ibd", data)
    assert decode_member("a.ibd.zst.xbcrypt", encrypt(zst_member, KEY), KEY) == ("a.ibd", data)
    with pytest.raises(BackupFormatError, match="truncated zstd frame"):
        decode_member("a.ibd.zst", zst_member[:-5], None)
    with pytest.raises(BackupFormatError, match="corrupt lz4 frame"):
        decode_member("a.ibd.lz4", lz4_member[:-5] + b"\0" * 5, None)


def test_suffixes_peel_in_reverse_order():
    assert final_name("db/t.ibd.qp.xbcrypt") == "db/t.ibd"
    assert final_name("xtrabackup_checkpoints") == "xtrabackup_checkpoints"
    assert final_name("a.xbcrypt") == "a"


def qlz_stored_block(payload: bytes) -> bytes:
    """A QuickLZ level-1 block stored uncompressed: flags 01 00 01 1 0, 9-byte header."""
    return bytes([0x46]) + struct.pack("<II", 9 + len(payload), len(payload)) + payload


def test_quicklz_stored_block_and_header_checks():
    assert _quicklz.decompress(qlz_stored_block(b"hello world"), 64) == b"hello world"
    with pytest.raises(ValueError, match="more than the chunk size"):
        _quicklz.decompress(qlz_stored_block(b"x" * 100), 64)
    block = bytearray(qlz_stored_block(b"abc"))
    block[1] += 1
    with pytest.raises(ValueError, match="length does not match"):
        _quicklz.decompress(bytes(block), 64)
    block = bytearray(qlz_stored_block(b"abc"))
    block[0] = 0x4E  # level 3
    with pytest.raises(ValueError, match="not a QuickLZ level-1 block"):
        _quicklz.decompress(bytes(block), 64)


def test_quicklz_hand_built_compressed_block():
    """'abcabcabcabcabcabcXYZWVUTSRQ': 3 literals, one 15-byte match found by the hash of 'abc', 10 literals.

    Control word bits (LSB first): 0,0,0 literals, 1 match, then 10 literals; bit 31 is the sentinel.
    The match item is (hash('abc') << 4) | (15 - 2) in two bytes.
    """
    fetch = int.from_bytes(b"abc", "little")
    hash_abc = ((fetch >> 12) ^ fetch) & 0xFFF
    control = (1 << 3) | (1 << 31)
    body = struct.pack("<I", control) + b"abc" + struct.pack("<H", (hash_abc << 4) | 13) + b"XYZWVUTSRQ"
    expected = b"abc" * 6 + b"XYZWVUTSRQ"
    block = bytes([0x47]) + struct.pack("<II", 9 + len(body), len(expected)) + body
    assert _quicklz.decompress(block, 1024) == expected
    wrong_hash = body[:7] + struct.pack("<H", (((hash_abc + 1) & 0xFFF) << 4) | 13) + body[9:]
    corrupt = bytes([0x47]) + struct.pack("<II", 9 + len(body), len(expected)) + wrong_hash
    with pytest.raises(ValueError, match="match refers to data not yet decoded"):
        _quicklz.decompress(corrupt, 1024)


def qpress_archive(blocks: list[bytes], chunk: int = 65536) -> bytes:
    out = b"qpress10" + struct.pack("<Q", chunk) + b"F" + struct.pack("<I", 1) + b"t\0"
    offset = 0
    for block in blocks:
        out += b"NEWBNEWB" + struct.pack("<QI", offset, zlib.adler32(block)) + block
        offset += 1
    return out + b"ENDSENDS" + bytes(8)


def test_qpress_container_checks():
    archive = qpress_archive([qlz_stored_block(b"one "), qlz_stored_block(b"two")])
    assert decode_member("t.qp", archive, None) == ("t", b"one two")
    with pytest.raises(BackupFormatError, match="truncated qpress data"):
        decode_member("t.qp", archive[:-16], None)
    bad = bytearray(archive)
    bad[archive.index(b"one") + 1] ^= 0xFF
    with pytest.raises(ChecksumError, match="qpress block checksum mismatch at offset 0x"):
        decode_member("t.qp", bytes(bad), None)
    with pytest.raises(BackupFormatError, match="not a qpress archive"):
        decode_member("t.qp", b"qpress11" + archive[8:], None)
    with pytest.raises(BackupFormatError, match="data after the qpress trailer"):
        decode_member("t.qp", archive + b"x", None)


def test_qpress_runs_of_blocks_check_every_adler32_and_stop_at_the_output_limit():
    """The C run decoder's Adler-32 (16 lanes) agrees with zlib's at every length; output comes in bounded runs."""
    import random

    from xtrarestore.core.archive.qpress import OUTPUT_PIECE

    rng = random.Random(5)
    payloads = [rng.randbytes(size) for size in [*range(1, 70), 4095, 4096, 4097, 65535, 65536]]
    payloads += [bytes([255]) * 65536] * (2 * OUTPUT_PIECE // 65536 + 3)  # worst case for the lane sums
    archive = qpress_archive([qlz_stored_block(payload) for payload in payloads])
    first = archive.index(b"NEWBNEWB")
    runs, position = [], first
    while True:
        plain, position, state, problem = _quicklz.decode_blocks(archive, position, 65536, OUTPUT_PIECE)
        assert problem is None and len(plain) <= OUTPUT_PIECE
        runs.append(plain)
        if state == _quicklz.AT_TRAILER:
            break
        assert state == _quicklz.DECODED
    assert len(runs) > 2 and b"".join(runs) == b"".join(payloads)
    assert archive[position:] == b"ENDSENDS" + bytes(8)
    for victim in (0, 33, len(payloads) - 1):
        bad = bytearray(archive)
        block = first
        for _ in range(victim):
            block = archive.index(b"NEWBNEWB", block + 20)
        bad[block + 20 + 9 + rng.randrange(len(payloads[victim]))] ^= 0x01
        _plain, at, state, problem = _quicklz.decode_blocks(bytes(bad), first, 65536, 4 * OUTPUT_PIECE)
        assert (state, at, problem) == (_quicklz.BAD_CHECKSUM, block, "qpress block checksum mismatch")
    plain, at, state, _problem = _quicklz.decode_blocks(archive[: first + 100], first, 65536, OUTPUT_PIECE)
    assert (plain, at, state) == (payloads[0] + payloads[1] + payloads[2], first + 3 * 20 + 9 * 3 + 6, _quicklz.NEED_MORE)


def test_tiny_chunks_fed_in_odd_pieces():
    """Percona encrypts every write separately (8-byte tags, 1-byte 'F', …): chunks of any size, split anywhere."""
    import random

    from xtrarestore.core.archive.members import member_decoder

    rng = random.Random(3)
    archive = qpress_archive([qlz_stored_block(TEXT[:900]), qlz_stored_block(TEXT[900:])])
    sealed, position = b"", 0
    while position < len(archive):
        size = rng.choice([1, 4, 8, 20, 300, 5000])
        sealed += v3_chunk(archive[position : position + size], iv=rng.randbytes(16))
        position += size
    _name, decoder = member_decoder("t.qp.xbcrypt", KEY)
    plain, position = [], 0
    while position < len(sealed):
        size = rng.randint(1, 200)
        plain += decoder.feed(sealed[position : position + size])
        position += size
    plain += decoder.finish()
    assert b"".join(plain) == TEXT
